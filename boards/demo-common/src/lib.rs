//! The board-independent half of the board demos (boards/<board>/): the
//! mail settings given at build time, the pinned CA, and one poll of the
//! mailbox over embassy-net: DNS (or a fixed address), TCP, TLS 1.3 with the
//! pinned CA, login, then `embedded_mail::poll` into the board's store.
//!
//! A board demo brings the network up (its own Ethernet or Wi-Fi driver),
//! picks its store and its random number generator, and calls [`run`].
//!
//! Build-time settings (environment variables read with `option_env!`, so a
//! build without them works and produces a firmware that cannot log in):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MAIL_HOST` | `mail.example.com` | server name: checked against the certificate, sent as SNI, resolved by DNS |
//! | `MAIL_HOST_IP` | (none) | IPv4 address to connect to instead of resolving `MAIL_HOST` |
//! | `MAIL_PORT` | 995 (pop3) / 993 (imap) | TCP port |
//! | `MAIL_PROTOCOL` | `pop3` | `pop3` or `imap` |
//! | `MAIL_TLS` | `implicit` | `implicit` (POP3S/IMAPS) or `starttls` (STLS/STARTTLS on 110/143) |
//! | `MAIL_USER`, `MAIL_PASSWORD` | `demo` / `demo` | login |
//! | `MAIL_MAILBOX` | `INBOX` | IMAP mailbox to poll |
//! | `MAIL_DELETE` | `0` | `1`: delete each message on the server once it is stored |
//! | `MAIL_POLL_SECS` | `300` | seconds between polls |
//! | `MAIL_CA_DER` | bundled placeholder | path of the CA certificate (DER) to pin; read by build.rs |

#![no_std]

use defmt::{info, warn};
use embassy_net::dns::DnsQueryType;
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, Ipv4Address, Stack};
use embassy_time::{Duration, Timer};
use embedded_mail::poll::{self, AfterStore, Policy, Progress, Summary, SyncState};
use embedded_mail::store::asynch::MessageStore;
use embedded_mail::store::flash::FlashStore;
use embedded_mail::tls::{self, TlsBuffers, TlsMode, TlsSettings};
use embedded_storage_async::nor_flash::NorFlash;
use rand_core::CryptoRngCore;

/// Which protocol the demo polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Protocol {
    /// POP3 (RFC 1939).
    Pop3,
    /// IMAP4rev1/rev2.
    Imap,
}

const fn env_or(value: Option<&'static str>, default: &'static str) -> &'static str {
    match value {
        Some(v) if !v.is_empty() => v,
        _ => default,
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i].to_ascii_lowercase() != b[i].to_ascii_lowercase() {
            return false;
        }
        i += 1;
    }
    true
}

/// Parses a decimal number at compile time; a bad value fails the build.
const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "empty number in a MAIL_* variable");
    let mut i = 0;
    let mut n: u32 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "a MAIL_* number is not decimal");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// Parses a dotted IPv4 address at compile time; a bad one fails the build.
const fn parse_ipv4(s: &str) -> Ipv4Address {
    let b = s.as_bytes();
    let mut octets = [0u8; 4];
    let (mut i, mut k, mut n, mut digits) = (0, 0, 0u32, 0);
    while i <= b.len() {
        if i == b.len() || b[i] == b'.' {
            assert!(
                digits > 0 && n <= 255 && k < 4,
                "MAIL_HOST_IP is not an IPv4 address"
            );
            octets[k] = n as u8;
            k += 1;
            n = 0;
            digits = 0;
        } else {
            assert!(b[i].is_ascii_digit(), "MAIL_HOST_IP is not an IPv4 address");
            n = n * 10 + (b[i] - b'0') as u32;
            digits += 1;
        }
        i += 1;
    }
    assert!(k == 4, "MAIL_HOST_IP is not an IPv4 address");
    Ipv4Address::new(octets[0], octets[1], octets[2], octets[3])
}

/// `MAIL_PROTOCOL`.
pub const PROTOCOL: Protocol = {
    let p = env_or(option_env!("MAIL_PROTOCOL"), "pop3");
    if str_eq(p, "pop3") {
        Protocol::Pop3
    } else if str_eq(p, "imap") {
        Protocol::Imap
    } else {
        panic!("MAIL_PROTOCOL must be pop3 or imap")
    }
};
/// `MAIL_TLS`.
pub const TLS_MODE: TlsMode = {
    let m = env_or(option_env!("MAIL_TLS"), "implicit");
    if str_eq(m, "implicit") {
        TlsMode::Implicit
    } else if str_eq(m, "starttls") {
        TlsMode::StartTls
    } else {
        panic!("MAIL_TLS must be implicit or starttls")
    }
};
/// `MAIL_HOST`.
pub const HOST: &str = env_or(option_env!("MAIL_HOST"), "mail.example.com");
/// `MAIL_HOST_IP`, if given.
pub const HOST_IP: Option<Ipv4Address> = match option_env!("MAIL_HOST_IP") {
    Some(ip) if !ip.is_empty() => Some(parse_ipv4(ip)),
    _ => None,
};
/// `MAIL_PORT`.
pub const PORT: u16 = {
    let default = match (PROTOCOL, TLS_MODE) {
        (Protocol::Pop3, TlsMode::Implicit) => "995",
        (Protocol::Pop3, TlsMode::StartTls) => "110",
        (Protocol::Imap, TlsMode::Implicit) => "993",
        (Protocol::Imap, TlsMode::StartTls) => "143",
    };
    let p = parse_u32(env_or(option_env!("MAIL_PORT"), default));
    assert!(p > 0 && p <= 65535, "MAIL_PORT out of range");
    p as u16
};
/// `MAIL_USER`.
pub const USER: &str = env_or(option_env!("MAIL_USER"), "demo");
/// `MAIL_PASSWORD`.
pub const PASSWORD: &str = env_or(option_env!("MAIL_PASSWORD"), "demo");
/// `MAIL_MAILBOX`.
pub const MAILBOX: &str = env_or(option_env!("MAIL_MAILBOX"), "INBOX");
/// `MAIL_DELETE`.
pub const DELETE: bool = str_eq(env_or(option_env!("MAIL_DELETE"), "0"), "1");
/// `MAIL_POLL_SECS`.
pub const POLL_SECS: u64 = parse_u32(env_or(option_env!("MAIL_POLL_SECS"), "300")) as u64;

/// The CA certificate pinned for the server (DER), from `MAIL_CA_DER`.
pub static CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ca.der"));
/// True when no `MAIL_CA_DER` was given at build time: the bundled
/// placeholder CA is pinned, and every handshake fails verification.
pub const CA_IS_PLACEHOLDER: bool = str_eq(env!("MAIL_CA_IS_PLACEHOLDER"), "1");

/// Messages the sync state remembers (see `embedded_mail::poll::state`).
pub const SEEN: usize = 64;

/// Bytes of the flash store's chunk buffer: its half must hold the encoded
/// sync state (`SyncState::<SEEN>::ENCODED_MAX`), and it must fit in an
/// erase page with sequential-storage's item header.
pub const FLASH_BUF: usize = 2048;
const _: () = assert!(FLASH_BUF / 2 >= SyncState::<SEEN>::ENCODED_MAX);

/// Opens the message store on the board's flash (`messages` and `state`:
/// disjoint ranges of whole erase pages, as offsets the flash driver
/// understands) and logs what it holds. Ranges that do not suit the flash
/// stop the firmware here; a store whose listing fails (corruption
/// sequential-storage cannot repair) is erased.
pub async fn open_flash_store<F>(
    flash: F,
    messages: core::ops::Range<u32>,
    state: core::ops::Range<u32>,
    buf: &mut [u8],
) -> FlashStore<'_, F>
where
    F: NorFlash,
    F::Error: defmt::Format,
{
    let mut store = match FlashStore::open(flash, messages.clone(), state.clone(), buf).await {
        Ok(store) => store,
        Err(e) => defmt::panic!("store: cannot open the flash store: {}", e),
    };
    let mut n = 0u32;
    match store.messages(|_| n += 1).await {
        Ok(()) => info!(
            "store: flash {:#x}..{:#x} (state {:#x}..{:#x}), {} messages",
            messages.start, messages.end, state.start, state.end, n
        ),
        Err(e) => {
            warn!("store: unreadable ({}), erasing it", e);
            if let Err(e) = store.erase_all().await {
                defmt::panic!("store: erase failed: {}", e);
            }
        }
    }
    store
}

/// Every buffer one poll needs, to be placed in a `static` by the board
/// (about 30 KiB, mostly the TLS record buffers).
pub struct Buffers {
    tcp_rx: [u8; 4096],
    tcp_tx: [u8; 2048],
    tls_read: [u8; tls::READ_BUFFER_LEN],
    tls_write: [u8; 2048],
    /// The mail client's receive buffer: decrypted bytes; bodies stream
    /// through it into the store.
    rx: [u8; 1024],
    tx: [u8; 256],
    state: SyncState<SEEN>,
}

impl Buffers {
    /// Zeroed buffers and an empty sync state (loaded from the store at
    /// each poll).
    pub const fn new() -> Self {
        Buffers {
            tcp_rx: [0; 4096],
            tcp_tx: [0; 2048],
            tls_read: [0; tls::READ_BUFFER_LEN],
            tls_write: [0; 2048],
            rx: [0; 1024],
            tx: [0; 256],
            state: SyncState::new(),
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// What the poll does on the server: leave mail there (default) or delete
/// what was stored (`MAIL_DELETE=1`). `max_size` keeps messages the store
/// cannot hold on the server, storing only their header.
pub fn policy(max_size: u64) -> Policy<'static> {
    Policy {
        after_store: if DELETE {
            AfterStore::Delete
        } else {
            AfterStore::Keep
        },
        max_size: Some(max_size),
        oversize: poll::Oversize::HeadersOnly,
        ..Policy::default()
    }
}

/// Waits for the network (DHCP), then polls the mailbox every
/// [`POLL_SECS`] seconds, forever. `max_size`: see [`policy`].
pub async fn run<S, R>(
    stack: Stack<'static>,
    mut rng: R,
    store: &mut S,
    bufs: &mut Buffers,
    max_size: u64,
) -> !
where
    S: MessageStore,
    S::Error: defmt::Format,
    R: CryptoRngCore,
{
    info!(
        "mail: {} {}:{} ({}) as {}, poll every {} s",
        PROTOCOL, HOST, PORT, TLS_MODE, USER, POLL_SECS
    );
    if CA_IS_PLACEHOLDER {
        warn!("mail: built without MAIL_CA_DER: the placeholder CA is pinned, every TLS handshake will fail");
    }
    info!("net: waiting for the link and DHCP");
    stack.wait_config_up().await;
    if let Some(cfg) = stack.config_v4() {
        info!("net: address {}, gateway {}", cfg.address, cfg.gateway);
    }
    let policy = policy(max_size);
    loop {
        match poll_once(stack, &mut rng, store, bufs, &policy).await {
            Ok(s) => info!(
                "poll: {} new, {} stored ({} bytes), {} skipped, {} deleted",
                s.new, s.stored, s.bytes, s.skipped, s.deleted
            ),
            Err(()) => warn!("poll: failed, retrying in {} s", POLL_SECS),
        }
        Timer::after(Duration::from_secs(POLL_SECS)).await;
    }
}

fn progress(p: Progress) {
    match p {
        Progress::Stored {
            id,
            bytes,
            headers_only,
        } => {
            info!(
                "stored message {}: {} bytes{}",
                id,
                bytes,
                if headers_only { " (header only)" } else { "" }
            )
        }
        Progress::Skipped { id, size } => info!("skipped message {} ({} bytes)", id, size),
        Progress::Deleted { id } => info!("deleted message {} on the server", id),
        Progress::Receiving { .. } => {}
    }
}

/// One poll: resolve, connect, TLS, login, poll into `store`, log out.
pub async fn poll_once<S, R>(
    stack: Stack<'static>,
    rng: &mut R,
    store: &mut S,
    bufs: &mut Buffers,
    policy: &Policy<'_>,
) -> Result<Summary, ()>
where
    S: MessageStore,
    S::Error: defmt::Format,
    R: CryptoRngCore,
{
    let addr: IpAddress = match HOST_IP {
        Some(ip) => ip.into(),
        None => match stack.dns_query(HOST, DnsQueryType::A).await {
            Ok(addrs) if !addrs.is_empty() => addrs[0],
            Ok(_) => {
                warn!("dns: no address for {}", HOST);
                return Err(());
            }
            Err(e) => {
                warn!("dns: {} failed: {}", HOST, e);
                return Err(());
            }
        },
    };
    let Buffers {
        tcp_rx,
        tcp_tx,
        tls_read,
        tls_write,
        rx,
        tx,
        state,
    } = bufs;
    let mut socket = TcpSocket::new(stack, tcp_rx, tcp_tx);
    socket.set_timeout(Some(Duration::from_secs(60)));
    info!("tcp: connecting to {}:{}", addr, PORT);
    if let Err(e) = socket.connect((addr, PORT)).await {
        warn!("tcp: connect failed: {}", e);
        return Err(());
    }
    let settings = TlsSettings::pinned_ca(HOST, CA_DER);
    let tls_buffers = TlsBuffers::new(tls_read, tls_write);
    let result = match PROTOCOL {
        Protocol::Pop3 => {
            let mut client = match tls::asynch::pop3_connect(
                &mut socket,
                tls::Connect {
                    mode: TLS_MODE,
                    settings: &settings,
                    tls: tls_buffers,
                    rx,
                    tx,
                },
                &mut *rng,
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    warn!("pop3: connect/TLS failed: {}", e);
                    return close(socket, Err(())).await;
                }
            };
            if let Err(e) = client.login(USER, PASSWORD).await {
                warn!("pop3: login failed: {}", e);
                return close(socket, Err(())).await;
            }
            // The poll ends with QUIT (which performs any deletions).
            match poll::asynch::pop3(&mut client, store, state, policy, progress).await {
                Ok(summary) => {
                    let _ = client.into_parts().transport.close().await;
                    Ok(summary)
                }
                Err(e) => {
                    warn!("pop3: poll failed: {}", e);
                    Err(())
                }
            }
        }
        Protocol::Imap => {
            let mut client = match tls::asynch::imap_connect(
                &mut socket,
                tls::Connect {
                    mode: TLS_MODE,
                    settings: &settings,
                    tls: tls_buffers,
                    rx,
                    tx,
                },
                &mut *rng,
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    warn!("imap: connect/TLS failed: {}", e);
                    return close(socket, Err(())).await;
                }
            };
            if let Err(e) = client.login(USER, PASSWORD).await {
                warn!("imap: login failed: {}", e);
                return close(socket, Err(())).await;
            }
            let r = poll::asynch::imap(&mut client, MAILBOX, store, state, policy, progress).await;
            if let Err(e) = &r {
                warn!("imap: poll failed: {}", e);
            }
            if let Ok(stream) = client.logout().await {
                let _ = stream.close().await;
            }
            r.map_err(|_| ())
        }
    };
    close(socket, result).await
}

/// Sends FIN and waits (within the socket's timeout) until it is out.
async fn close<T>(mut socket: TcpSocket<'_>, result: T) -> T {
    socket.close();
    let _ = socket.flush().await;
    result
}
