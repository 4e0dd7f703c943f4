//! embedded-mail on QEMU's riscv32 `virt` machine (no allocator):
//! virtio-net + smoltcp, virtio-rng for TLS, a POP3 poll (STLS) and an
//! IMAP poll (IMAPS) over TLS 1.3 with a pinned ECDSA P-256 CA, and an
//! IMAP poll (IMAPS) over the server's RSA chain (name `rsa.localhost`,
//! pinned RSA-4096 root), against the host's Dovecot (reached through QEMU
//! `guestfwd` rules at 10.0.2.100), each into its own flash store on the
//! CFI parallel flash (bank 0); then timed bare handshakes with each chain;
//! then every stored message read back from flash and its SHA-256 printed
//! (`scripts/qemu-demo` compares them with the server's). A summary on the
//! UART and the result as QEMU's exit status. See README.md.

#![no_std]
#![no_main]

#[macro_use]
mod board;
mod flash;
mod net;
mod virtio;
mod watch;

use core::fmt::Display;
use core::panic::PanicInfo;
use embedded_mail::poll::{self, Policy, Progress, Summary, SyncState};
use embedded_mail::store::flash::{FlashStore, ReadEvent};
use embedded_mail::store::{block_on, Blocking};
use embedded_mail::tls::{self, TlsBuffers, TlsMode, TlsSettings};
use flash::{CfiFlash, BLOCK};
use net::Net;
use sha2::{Digest, Sha256};
use virtio_drivers::device::rng::VirtIORng;
use virtio_drivers::transport::mmio::MmioTransport;

/// The host, as QEMU's guestfwd rules present it (one rule per guest
/// port, each serving one connection per boot).
const SERVER: [u8; 4] = [10, 0, 2, 100];
/// POP3 with STLS.
const POP3_PORT: u16 = 110;
/// IMAP over implicit TLS.
const IMAPS_PORT: u16 = 993;
/// IMAP over implicit TLS again, for the poll over the RSA chain.
const IMAPS_RSA_PORT: u16 = 994;
/// Bare handshakes, timed: EC on `HS_PORT + 2 i`, RSA on `HS_PORT + 2 i + 1`
/// (each guest port is one guestfwd rule to the host's IMAPS port).
const HS_PORT: u16 = 1001;
/// Timed handshakes per chain.
const HS_RUNS: usize = 3;
/// The name in the server's EC certificate (ECDSA P-256 chain).
const SERVER_NAME: &str = "localhost";
/// The name for which the server presents its RSA chain (SNI).
const RSA_SERVER_NAME: &str = "rsa.localhost";
/// The pinned CA (DER), from `EM_CA_DER` at build time.
static CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ca.der"));
/// The pinned RSA-4096 root (DER), from `EM_RSA_CA_DER` at build time.
static RSA_CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rsa-ca.der"));

const USER: &str = match option_env!("EM_USER") {
    Some(u) => u,
    None => "demo",
};
const PASSWORD: &str = match option_env!("EM_PASSWORD") {
    Some(p) => p,
    None => "emtest-pass",
};
const MAILBOX: &str = match option_env!("EM_MAILBOX") {
    Some(m) => m,
    None => "INBOX",
};

/// Seen-set capacity of each sync state.
const SEEN: usize = 64;
/// The stores' windows of pflash bank 0: block 0 is the boot stub (see
/// flash.rs), then the POP3 store up to 12 MiB, the IMAP store up to 24
/// MiB, the store of the poll over the RSA chain after it. Each window
/// ends with 2 blocks of sync state.
const POP3_WINDOW: (u32, u32) = (BLOCK, flash::BANK_SIZE / 8 * 3 - BLOCK);
const IMAP_WINDOW: (u32, u32) = (flash::BANK_SIZE / 8 * 3, flash::BANK_SIZE / 8 * 3);
const RSA_WINDOW: (u32, u32) = (flash::BANK_SIZE / 4 * 3, flash::BANK_SIZE / 8);
/// The watch's store (push over IMAP IDLE, see watch.rs): the last 4 MiB.
const WATCH_WINDOW: (u32, u32) = (flash::BANK_SIZE / 8 * 7, flash::BANK_SIZE / 8);
/// Plain IMAP for the watch.
const WATCH_PORT: u16 = 143;
/// The watched account (its own, so the other stores' checks hold).
const WATCH_USER: &str = match option_env!("EM_WATCH_USER") {
    Some(u) => u,
    None => "w01",
};
/// The poll over the RSA chain skips messages above this size (it is there
/// to prove the chain, not to store the 5 MiB message a third time).
const RSA_MAX_SIZE: u64 = 1 << 20;

type Store<'b> = Blocking<FlashStore<'b, CfiFlash>>;

/// TLS randomness straight from virtio-rng.
struct Rng(VirtIORng<virtio::VirtHal, MmioTransport<'static>>);

impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.try_fill_bytes(dest).is_err() {
            panic!("virtio-rng failed");
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        let mut done = 0;
        while done < dest.len() {
            match self.0.request_entropy(&mut dest[done..]) {
                Ok(n) if n > 0 => done += n,
                _ => {
                    return Err(rand_core::Error::from(
                        core::num::NonZeroU32::new(rand_core::Error::CUSTOM_START).expect("nz"),
                    ))
                }
            }
        }
        Ok(())
    }
}

impl rand_core::CryptoRng for Rng {}

#[riscv_rt::entry]
fn main() -> ! {
    println!("qemu-virt: embedded-mail firmware");
    let devices = virtio::scan();
    let Some(rng) = devices.rng else {
        fail("no virtio-rng device (-device virtio-rng-device)")
    };
    let mut rng = match VirtIORng::<virtio::VirtHal, _>::new(rng) {
        Ok(r) => Rng(r),
        Err(_) => fail("virtio-rng init failed"),
    };
    let Some(nic) = devices.net else {
        fail("no virtio-net device (-device virtio-net-device,netdev=...)")
    };
    let seed = rand_core::RngCore::next_u64(&mut rng);
    let mut net = match Net::new(nic, seed) {
        Ok(n) => n,
        Err(_) => fail("virtio-net init failed"),
    };
    let m = net.mac();
    println!(
        "net: virtio-net {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, 10.0.2.15/24 via 10.0.2.2",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
    if CA_DER.is_empty() {
        fail("no CA certificate built in: build with EM_CA_DER=path/to/ca.der");
    }
    if RSA_CA_DER.is_empty() {
        fail("no RSA root built in: build with EM_RSA_CA_DER=path/to/rsa-ca.der");
    }

    let t0 = board::millis();
    let result = run(&mut net, &mut rng);
    let ms = board::millis() - t0;
    match result {
        Ok((p, i, r)) => {
            println!(
                "SUMMARY: pop3 stored {} ({} bytes) of {} new; imap stored {} ({} bytes) of {} new; rsa stored {} ({} bytes) of {} new; {} ms",
                p.stored, p.bytes, p.new, i.stored, i.bytes, i.new, r.stored, r.bytes, r.new, ms
            );
            println!("RESULT: PASS");
            board::exit(0)
        }
        Err(what) => {
            println!("RESULT: FAIL: {} ({} ms)", what, ms);
            board::exit(1)
        }
    }
}

/// Prints an error and turns it into the step that failed.
fn at<E: Display>(what: &'static str) -> impl FnOnce(E) -> &'static str {
    move |e| {
        println!("error: {}: {}", what, e);
        what
    }
}

fn progress(proto: &'static str) -> impl FnMut(Progress) {
    move |p| match p {
        Progress::Stored { id, bytes, .. } => {
            println!("{}:   stored #{} ({} bytes)", proto, id, bytes)
        }
        Progress::Skipped { id, size } => println!("{}:   skipped #{} ({} bytes)", proto, id, size),
        Progress::Deleted { id } => println!("{}:   deleted #{}", proto, id),
        Progress::Receiving { .. } => {}
    }
}

fn open_store((offset, len): (u32, u32), buf: &mut [u8]) -> Result<Store<'_>, &'static str> {
    // SAFETY: the two windows are disjoint and the stores never run at
    // the same time.
    let flash = unsafe { CfiFlash::bank0(offset, len) };
    let messages = 0..len - 2 * BLOCK;
    let state = len - 2 * BLOCK..len;
    let store =
        block_on(FlashStore::open(flash, messages, state, buf)).map_err(at("open flash store"))?;
    Ok(Blocking(store))
}

fn count(store: &mut Store<'_>) -> Result<(u32, u64), &'static str> {
    let (mut n, mut bytes) = (0, 0);
    block_on(store.0.messages(|m| {
        n += 1;
        bytes += m.len;
    }))
    .map_err(at("list flash store"))?;
    Ok((n, bytes))
}

/// Reads every message of the store in `window` back from flash (one pass,
/// `FlashStore::read_all`) and prints one line per message:
/// `DIGEST <tag> <key> <len> <sha256>` (the key as 16 hex digits, the
/// SHA-256 of the stored bytes in hex), or `DAMAGED <tag> <key> <len>` for
/// a message whose bytes on flash do not add up (a chunk failed its CRC).
/// Then `DIGESTS <tag>: <n> messages (<bytes> bytes), <d> damaged`.
/// Returns the number of damaged messages.
fn digests(tag: &'static str, window: (u32, u32), buf: &mut [u8]) -> Result<u32, &'static str> {
    let mut store = open_store(window, buf)?;
    let t = board::millis();
    let (mut n, mut bytes, mut damaged) = (0u32, 0u64, 0u32);
    let mut hash = Sha256::new();
    block_on(store.0.read_all(|ev| match ev {
        ReadEvent::Begin(_) => hash = Sha256::new(),
        ReadEvent::Data(d) => hash.update(d),
        ReadEvent::End(m) => {
            let sum = core::mem::take(&mut hash).finalize();
            print!("DIGEST {} {:016x} {} ", tag, m.key, m.len);
            for b in sum {
                print!("{:02x}", b);
            }
            println!();
            n += 1;
            bytes += m.len;
        }
        ReadEvent::Damaged(m) => {
            println!("DAMAGED {} {:016x} {}", tag, m.key, m.len);
            damaged += 1;
        }
    }))
    .map_err(at("read flash store back"))?;
    println!(
        "DIGESTS {}: {} messages ({} bytes), {} damaged; read back and hashed in {} ms",
        tag,
        n,
        bytes,
        damaged,
        board::millis() - t
    );
    Ok(damaged)
}

/// mtime ticks (10 MHz) as microseconds.
fn micros(ticks: u64) -> u64 {
    ticks / (board::TICKS_PER_SEC / 1_000_000)
}

/// Prints `us` microseconds as milliseconds with 3 decimals.
struct Ms(u64);

impl Display for Ms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// One IMAP poll over implicit TLS into `store`, its handshake timed
/// alone (`tls::handshake`, from ClientHello to the client's Finished).
#[allow(clippy::too_many_arguments)]
fn imaps_poll(
    tag: &'static str,
    net: &mut Net,
    port: u16,
    settings: &TlsSettings<'_>,
    rng: &mut Rng,
    store: &mut Store<'_>,
    policy: &Policy<'_>,
    bufs: (&mut [u8], &mut [u8], &mut [u8], &mut [u8]),
) -> Result<Summary, &'static str> {
    let (tls_read, tls_write, rx, tx) = bufs;
    let mut state = SyncState::<SEEN>::new();
    let t = board::millis();
    let stream = net.connect(SERVER, port).map_err(at("connect IMAPS"))?;
    let h0 = board::ticks();
    let stream = tls::handshake(
        stream,
        TlsBuffers::new(tls_read, tls_write),
        settings,
        &mut *rng,
    )
    .map_err(at("IMAPS handshake"))?;
    let hs = micros(board::ticks() - h0);
    let mut c =
        embedded_mail::imap::Client::connect(stream, rx, tx).map_err(at("IMAP greeting"))?;
    c.ensure_capabilities().map_err(at("IMAP CAPABILITY"))?;
    println!(
        "{}: TLS 1.3 handshake ok ({} ms), CA pinned, name {}",
        tag,
        Ms(hs),
        settings.server_name()
    );
    c.login(USER, PASSWORD).map_err(at("IMAP login"))?;
    let sum = poll::imap(&mut c, MAILBOX, store, &mut state, policy, progress(tag))
        .map_err(at("IMAP poll"))?;
    let tls_stream = c.logout().map_err(at("IMAP LOGOUT"))?;
    match tls_stream.close() {
        Ok(tcp) => tcp.close(),
        Err((tcp, _)) => tcp.close(),
    }
    let (n, bytes) = count(store)?;
    println!(
        "{}: poll {}: {} new, {} stored ({} bytes), {} skipped; store now {} messages ({} bytes); {} ms",
        tag, MAILBOX, sum.new, sum.stored, sum.bytes, sum.skipped, n, bytes, board::millis() - t
    );
    Ok(sum)
}

/// One bare handshake on a fresh connection, in microseconds of mtime.
fn timed_handshake(
    net: &mut Net,
    port: u16,
    settings: &TlsSettings<'_>,
    rng: &mut Rng,
    tls_read: &mut [u8],
    tls_write: &mut [u8],
) -> Result<u64, &'static str> {
    let stream = net
        .connect(SERVER, port)
        .map_err(at("connect (timed handshake)"))?;
    let h0 = board::ticks();
    let stream = tls::handshake(
        stream,
        TlsBuffers::new(tls_read, tls_write),
        settings,
        &mut *rng,
    )
    .map_err(at("timed handshake"))?;
    let us = micros(board::ticks() - h0);
    match stream.close() {
        Ok(tcp) => tcp.close(),
        Err((tcp, _)) => tcp.close(),
    }
    Ok(us)
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn run(net: &mut Net, rng: &mut Rng) -> Result<(Summary, Summary, Summary), &'static str> {
    let settings = TlsSettings::pinned_ca(SERVER_NAME, CA_DER);
    let rsa_settings = TlsSettings::pinned_ca(RSA_SERVER_NAME, RSA_CA_DER);
    let policy = Policy::default(); // leave the mail on the server
    let (mut tls_read, mut tls_write) = ([0u8; tls::READ_BUFFER_LEN], [0u8; tls::WRITE_BUFFER_LEN]);
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 512]);
    let mut chunk = [0u8; 2048];

    // POP3, upgraded with STLS, into its window of the flash.
    let mut store = open_store(POP3_WINDOW, &mut chunk)?;
    let (n, bytes) = count(&mut store)?;
    println!("pop3: flash store holds {} messages ({} bytes)", n, bytes);
    let mut state = SyncState::<SEEN>::new();
    let t = board::millis();
    let stream = net.connect(SERVER, POP3_PORT).map_err(at("connect POP3"))?;
    let mut c = tls::pop3_connect(
        stream,
        tls::Connect {
            mode: TlsMode::StartTls,
            settings: &settings,
            tls: TlsBuffers::new(&mut tls_read, &mut tls_write),
            rx: &mut rx,
            tx: &mut tx,
        },
        &mut *rng,
    )
    .map_err(at("POP3 STLS"))?;
    println!(
        "pop3: STLS + TLS 1.3 handshake ok ({} ms), CA pinned, name {}",
        board::millis() - t,
        SERVER_NAME
    );
    c.login(USER, PASSWORD).map_err(at("POP3 login"))?;
    let pop3 = poll::pop3(&mut c, &mut store, &mut state, &policy, progress("pop3"))
        .map_err(at("POP3 poll"))?;
    let tls_stream = c.into_parts().transport;
    match tls_stream.close() {
        Ok(tcp) => tcp.close(),
        Err((tcp, _)) => tcp.close(),
    }
    let (n, bytes) = count(&mut store)?;
    println!(
        "pop3: poll: {} new, {} stored ({} bytes), {} skipped; store now {} messages ({} bytes); {} ms",
        pop3.new, pop3.stored, pop3.bytes, pop3.skipped, n, bytes, board::millis() - t
    );

    // IMAP over implicit TLS, into its own window of the flash.
    let mut store = open_store(IMAP_WINDOW, &mut chunk)?;
    let (n, bytes) = count(&mut store)?;
    println!("imap: flash store holds {} messages ({} bytes)", n, bytes);
    let imap = imaps_poll(
        "imap",
        net,
        IMAPS_PORT,
        &settings,
        rng,
        &mut store,
        &policy,
        (&mut tls_read, &mut tls_write, &mut rx, &mut tx),
    )?;

    // IMAP over implicit TLS with the server's RSA chain (SNI
    // rsa.localhost, the RSA-4096 root pinned), into a third window.
    let mut store = open_store(RSA_WINDOW, &mut chunk)?;
    let (n, bytes) = count(&mut store)?;
    println!("rsa: flash store holds {} messages ({} bytes)", n, bytes);
    let rsa_policy = Policy {
        max_size: Some(RSA_MAX_SIZE),
        oversize: poll::Oversize::Skip,
        ..Policy::default()
    };
    let rsa = imaps_poll(
        "rsa",
        net,
        IMAPS_RSA_PORT,
        &rsa_settings,
        rng,
        &mut store,
        &rsa_policy,
        (&mut tls_read, &mut tls_write, &mut rx, &mut tx),
    )?;

    // Bare handshakes, alternating the chains, timed by mtime.
    let (mut ec_us, mut rsa_us) = ([0u64; HS_RUNS], [0u64; HS_RUNS]);
    for i in 0..HS_RUNS {
        let port = HS_PORT + 2 * i as u16;
        ec_us[i] = timed_handshake(net, port, &settings, rng, &mut tls_read, &mut tls_write)?;
        rsa_us[i] = timed_handshake(
            net,
            port + 1,
            &rsa_settings,
            rng,
            &mut tls_read,
            &mut tls_write,
        )?;
        println!(
            "handshake {}: ec {} ms, rsa {} ms",
            i + 1,
            Ms(ec_us[i]),
            Ms(rsa_us[i])
        );
    }
    let (ec_min, rsa_min) = (
        ec_us.iter().copied().min().unwrap_or(0),
        rsa_us.iter().copied().min().unwrap_or(0),
    );
    println!(
        "HANDSHAKE: ec median {} ms min {} ms; rsa median {} ms min {} ms; {} runs each, mtime (QEMU virtual clock)",
        Ms(median(&mut ec_us)),
        Ms(ec_min),
        Ms(median(&mut rsa_us)),
        Ms(rsa_min),
        HS_RUNS
    );

    // Push: watch a mailbox in IDLE until a delivered message is stored.
    let mut store = open_store(WATCH_WINDOW, &mut chunk)?;
    let (n, bytes) = count(&mut store)?;
    println!("watch: flash store holds {} messages ({} bytes)", n, bytes);
    let ms = watch::watch(
        net,
        WATCH_PORT,
        WATCH_USER,
        PASSWORD,
        &mut store,
        (&mut rx, &mut tx),
    )?;
    let (n, bytes) = count(&mut store)?;
    println!(
        "WATCH: PASS: pushed message stored {} ms after IDLE began; store now {} messages ({} bytes)",
        ms, n, bytes
    );

    // Every stored message read back from flash, hashed (SHA-256).
    let mut damaged = 0;
    for (tag, window) in [
        ("pop3", POP3_WINDOW),
        ("imap", IMAP_WINDOW),
        ("rsa", RSA_WINDOW),
    ] {
        damaged += digests(tag, window, &mut chunk)?;
    }
    if damaged > 0 {
        println!(
            "error: {} stored message(s) failed their flash CRC",
            damaged
        );
        return Err("flash read-back: damaged message");
    }
    Ok((pop3, imap, rsa))
}

fn fail(msg: &str) -> ! {
    println!("RESULT: FAIL: {}", msg);
    board::exit(2)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    println!("RESULT: FAIL: panic: {}", info);
    board::exit(3)
}
