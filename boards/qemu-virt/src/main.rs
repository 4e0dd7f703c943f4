//! embedded-mail on QEMU's riscv32 `virt` machine: virtio-net + smoltcp,
//! a POP3 session against the host's Dovecot (reached through a QEMU
//! `guestfwd` rule at 10.0.2.100), a summary on the UART and the result
//! as QEMU's exit status (SiFive test device). See README.md.

#![no_std]
#![no_main]

#[macro_use]
mod board;
mod net;
mod virtio;

use core::panic::PanicInfo;
use embedded_mail::pop3;
use net::Net;
use virtio_drivers::device::rng::VirtIORng;

/// The host, as QEMU's guestfwd rules present it.
const SERVER: [u8; 4] = [10, 0, 2, 100];
/// Guest port of the plain POP3 rule.
const POP3_PORT: u16 = 110;

const USER: &str = match option_env!("EM_USER") {
    Some(u) => u,
    None => "demo",
};
const PASSWORD: &str = match option_env!("EM_PASSWORD") {
    Some(p) => p,
    None => "emtest-pass",
};

/// A sink that counts bytes (and hashes them, so the summary shows that
/// the bytes themselves arrived).
struct Counter {
    bytes: u64,
    hash: embedded_mail::store::Fnv,
}

impl embedded_io::ErrorType for Counter {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.bytes += buf.len() as u64;
        self.hash.write(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[riscv_rt::entry]
fn main() -> ! {
    println!("qemu-virt: embedded-mail firmware");
    let devices = virtio::scan();
    let seed = match devices.rng {
        Some(t) => match VirtIORng::<virtio::VirtHal, _>::new(t) {
            Ok(mut rng) => {
                let mut b = [0u8; 8];
                match rng.request_entropy(&mut b) {
                    Ok(8) => u64::from_le_bytes(b),
                    _ => fail("virtio-rng returned too few bytes"),
                }
            }
            Err(_) => fail("virtio-rng init failed"),
        },
        None => fail("no virtio-rng device (-device virtio-rng-device)"),
    };
    let Some(nic) = devices.net else {
        fail("no virtio-net device (-device virtio-net-device,netdev=...)")
    };
    let mut net = match Net::new(nic, seed) {
        Ok(n) => n,
        Err(_) => fail("virtio-net init failed"),
    };
    let m = net.mac();
    println!(
        "net: virtio-net {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, 10.0.2.15/24 via 10.0.2.2",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );

    let t0 = board::millis();
    match pop3_plain(&mut net) {
        Ok(()) => {
            println!("RESULT: PASS ({} ms)", board::millis() - t0);
            board::exit(0)
        }
        Err(e) => {
            println!("RESULT: FAIL: {}", e);
            board::exit(1)
        }
    }
}

/// POP3 over plain TCP: login, STAT, UIDL, RETR of every message.
fn pop3_plain(net: &mut Net) -> Result<(), Failure> {
    let stream = net
        .connect(SERVER, POP3_PORT)
        .map_err(|e| Failure::Net("connect POP3", e))?;
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 256]);
    let mut c = pop3::Client::connect(stream, &mut rx, &mut tx).map_err(Failure::pop3("greeting"))?;
    c.capabilities().map_err(Failure::pop3("CAPA"))?;
    c.login(USER, PASSWORD).map_err(Failure::pop3("login"))?;
    let stat = c.stat().map_err(Failure::pop3("STAT"))?;
    println!("pop3: {} logged in, {} messages, {} bytes", USER, stat.count, stat.size);
    c.uidl(|n, uid| {
        println!("pop3:   {} uidl {}", n, core::str::from_utf8(uid).unwrap_or("?"));
    })
    .map_err(Failure::pop3("UIDL"))?;
    let mut total = 0u64;
    for n in 1..=stat.count {
        let t = board::millis();
        let mut sink = Counter {
            bytes: 0,
            hash: embedded_mail::store::Fnv::new(),
        };
        let got = c.retr(n, &mut sink).map_err(Failure::pop3("RETR"))?;
        println!(
            "pop3:   RETR {} -> {} bytes, fnv {:016x}, {} ms",
            n,
            got,
            sink.hash.finish(),
            board::millis() - t
        );
        total += got;
    }
    let stream = c.quit().map_err(Failure::pop3("QUIT"))?;
    stream.close();
    println!("pop3: fetched {} messages, {} bytes", stat.count, total);
    if total < stat.size.saturating_sub(u64::from(stat.count) * 2) {
        return Err(Failure::Check("fewer bytes than STAT announced"));
    }
    Ok(())
}

/// Why the run failed.
enum Failure {
    Net(&'static str, net::NetError),
    Pop3(&'static str, embedded_mail::Error<net::NetError>),
    Check(&'static str),
}

impl Failure {
    fn pop3(what: &'static str) -> impl Fn(embedded_mail::Error<net::NetError>) -> Failure {
        move |e| Failure::Pop3(what, e)
    }
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Net(w, e) => write!(f, "{w}: {e:?}"),
            Failure::Pop3(w, e) => write!(f, "POP3 {w}: {e}"),
            Failure::Check(w) => f.write_str(w),
        }
    }
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
