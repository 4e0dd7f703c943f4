//! The network: smoltcp over virtio-net, and a blocking TCP stream that
//! implements `embedded_io::{Read, Write}` by polling the interface.
//!
//! QEMU's user network: the guest is 10.0.2.15/24, the gateway 10.0.2.2;
//! with `restrict=on` only `guestfwd` addresses (10.0.2.100:PORT here)
//! lead anywhere.

use crate::board;
use crate::virtio::VirtHal;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::MmioTransport;

/// Virtqueue size of the NIC.
const QUEUE: usize = 16;
/// Receive buffers kept posted to the device.
const NRX: usize = 8;
/// One buffer: virtio-net header + an Ethernet frame.
const BUF: usize = 1536 + 64;
/// TCP socket buffers.
const TCP_RX: usize = 32 * 1024;
const TCP_TX: usize = 8 * 1024;

/// No progress for this long fails a read, write or connect.
const IO_TIMEOUT_MS: u64 = 20_000;

type Raw = VirtIONetRaw<VirtHal, MmioTransport<'static>, QUEUE>;

/// The buffers the NIC and the TCP socket live in.
struct Buffers {
    rx: [[u8; BUF]; NRX],
    tcp_rx: [u8; TCP_RX],
    tcp_tx: [u8; TCP_TX],
    sockets: [SocketStorage<'static>; 1],
}

static mut BUFFERS: Buffers = Buffers {
    rx: [[0; BUF]; NRX],
    tcp_rx: [0; TCP_RX],
    tcp_tx: [0; TCP_TX],
    sockets: [SocketStorage::EMPTY],
};

/// smoltcp's view of the virtio-net card.
pub struct Nic {
    raw: Raw,
    rx: &'static mut [[u8; BUF]; NRX],
    tokens: [u16; NRX],
    frame: [u8; BUF],
    frame_len: usize,
    tx: [u8; BUF],
}

impl Nic {
    fn new(raw: Raw, rx: &'static mut [[u8; BUF]; NRX]) -> Self {
        let mut nic = Nic {
            raw,
            rx,
            tokens: [0; NRX],
            frame: [0; BUF],
            frame_len: 0,
            tx: [0; BUF],
        };
        for i in 0..NRX {
            // SAFETY: the buffer is 'static and only touched again after
            // the device hands it back (receive_complete).
            nic.tokens[i] =
                unsafe { nic.raw.receive_begin(&mut nic.rx[i]) }.expect("post rx buffer");
        }
        nic
    }
}

/// A received frame (copied out of its virtio buffer, which is re-posted).
pub struct RxToken<'a>(&'a [u8]);

/// A frame to send, through the blocking `send` of the driver.
pub struct TxToken<'a> {
    raw: &'a mut Raw,
    buf: &'a mut [u8; BUF],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(self.buf.len());
        let r = f(&mut self.buf[..len]);
        // A failed send is a lost frame: TCP retransmits.
        let _ = self.raw.send(&self.buf[..len]);
        r
    }
}

impl phy::Device for Nic {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let token = self.raw.poll_receive()?;
        let i = self.tokens.iter().position(|&t| t == token)?;
        // SAFETY: the same buffer that was posted with this token.
        let (hdr, len) = unsafe { self.raw.receive_complete(token, &mut self.rx[i]) }.ok()?;
        let len = len.min(BUF).min(BUF - hdr);
        self.frame[..len].copy_from_slice(&self.rx[i][hdr..hdr + len]);
        self.frame_len = len;
        // SAFETY: as in `new`.
        self.tokens[i] = unsafe { self.raw.receive_begin(&mut self.rx[i]) }.expect("re-post rx");
        Some((
            RxToken(&self.frame[..self.frame_len]),
            TxToken {
                raw: &mut self.raw,
                buf: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            raw: &mut self.raw,
            buf: &mut self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

/// smoltcp's clock: `mtime`.
pub fn now() -> Instant {
    Instant::from_micros((board::ticks() / (board::TICKS_PER_SEC / 1_000_000)) as i64)
}

/// Why a TCP operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// `connect` was refused by smoltcp (bad address or port).
    Connect,
    /// The peer reset or never accepted the connection.
    Reset,
    /// No progress for [`IO_TIMEOUT_MS`].
    Timeout,
    /// Writing after the peer closed.
    Closed,
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for NetError {}

impl embedded_io::Error for NetError {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind;
        match self {
            NetError::Connect => ErrorKind::InvalidInput,
            NetError::Reset => ErrorKind::ConnectionReset,
            NetError::Timeout => ErrorKind::TimedOut,
            NetError::Closed => ErrorKind::BrokenPipe,
        }
    }
}

/// The interface, the NIC and one TCP socket (one connection at a time).
pub struct Net {
    iface: Interface,
    nic: Nic,
    sockets: SocketSet<'static>,
    tcp: SocketHandle,
    next_port: u16,
}

impl Net {
    /// Brings the interface up as 10.0.2.15/24 via 10.0.2.2. Call once.
    pub fn new(
        transport: MmioTransport<'static>,
        seed: u64,
    ) -> Result<Self, virtio_drivers::Error> {
        let raw = Raw::new(transport)?;
        let mac = raw.mac_address();
        // SAFETY: `Net::new` runs once; these are the only references.
        let b = unsafe { (&raw mut BUFFERS).as_mut() }.expect("buffers");
        let mut nic = Nic::new(raw, &mut b.rx);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut nic, now());
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(10, 0, 2, 15), 24));
        });
        iface
            .routes_mut()
            .add_default_ipv4_route(Ipv4Address::new(10, 0, 2, 2))
            .expect("route");
        let mut sockets = SocketSet::new(&mut b.sockets[..]);
        let mut sock = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut b.tcp_rx[..]),
            tcp::SocketBuffer::new(&mut b.tcp_tx[..]),
        );
        sock.set_nagle_enabled(false);
        sock.set_ack_delay(None);
        let tcp = sockets.add(sock);
        Ok(Net {
            iface,
            nic,
            sockets,
            tcp,
            next_port: 49152 + (seed % 8192) as u16,
        })
    }

    /// The card's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.nic.raw.mac_address()
    }

    fn poll(&mut self) {
        self.iface.poll(now(), &mut self.nic, &mut self.sockets);
    }

    fn sock(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }

    /// Opens a TCP connection and waits until it is established.
    pub fn connect(&mut self, ip: [u8; 4], port: u16) -> Result<TcpStream<'_>, NetError> {
        let local = self.next_port;
        self.next_port = if local >= 65000 { 49152 } else { local + 1 };
        let h = self.tcp;
        {
            let cx = self.iface.context();
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            s.abort();
            s.connect(cx, (IpAddress::v4(ip[0], ip[1], ip[2], ip[3]), port), local)
                .map_err(|_| NetError::Connect)?;
        }
        let start = board::millis();
        loop {
            self.poll();
            match self.sock().state() {
                tcp::State::Established => break,
                tcp::State::Closed => return Err(NetError::Reset),
                _ => {}
            }
            if board::millis() - start > IO_TIMEOUT_MS {
                self.sock().abort();
                return Err(NetError::Timeout);
            }
        }
        Ok(TcpStream { net: self })
    }
}

/// A connected TCP stream; blocking reads and writes poll the interface.
pub struct TcpStream<'n> {
    net: &'n mut Net,
}

impl TcpStream<'_> {
    /// Closes gracefully (FIN, up to 1 s for the peer's), then frees the
    /// socket for the next connection.
    pub fn close(self) {
        self.net.sock().close();
        let start = board::millis();
        while board::millis() - start < 1000 {
            self.net.poll();
            if matches!(
                self.net.sock().state(),
                tcp::State::Closed | tcp::State::TimeWait
            ) {
                break;
            }
        }
        self.net.sock().abort();
        self.net.poll();
    }
}

impl embedded_io::ErrorType for TcpStream<'_> {
    type Error = NetError;
}

impl embedded_io::Read for TcpStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let start = board::millis();
        loop {
            self.net.poll();
            let s = self.net.sock();
            if s.can_recv() {
                let n = s.recv_slice(buf).map_err(|_| NetError::Reset)?;
                if n > 0 {
                    // Let the window update go out soon.
                    self.net.poll();
                    return Ok(n);
                }
            } else if !s.may_recv() {
                // FIN from the peer (EOF), or the connection is gone.
                return match s.state() {
                    tcp::State::Closed => Err(NetError::Reset),
                    _ => Ok(0),
                };
            }
            if board::millis() - start > IO_TIMEOUT_MS {
                return Err(NetError::Timeout);
            }
        }
    }
}

impl embedded_io::Write for TcpStream<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, NetError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let start = board::millis();
        loop {
            let s = self.net.sock();
            if !s.may_send() {
                return Err(NetError::Closed);
            }
            if s.can_send() {
                let n = s.send_slice(buf).map_err(|_| NetError::Closed)?;
                self.net.poll();
                return Ok(n);
            }
            self.net.poll();
            if board::millis() - start > IO_TIMEOUT_MS {
                return Err(NetError::Timeout);
            }
        }
    }

    fn flush(&mut self) -> Result<(), NetError> {
        self.net.poll();
        Ok(())
    }
}

/// The async side of the stream (the watch's): a read with nothing to
/// read, or a write with no room, is `Pending` (the interface is polled on
/// every poll of the future, so a spinning executor such as
/// `embedded_mail::store::block_on` moves it on). No timeout of its own:
/// the caller bounds each operation (`poll::timeout::WithTimeout`), and
/// dropping an unfinished read or write loses nothing.
impl embedded_io_async::Read for TcpStream<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if buf.is_empty() {
            return Ok(0);
        }
        core::future::poll_fn(|cx| {
            self.net.poll();
            let s = self.net.sock();
            if s.can_recv() {
                let n = s.recv_slice(buf).map_err(|_| NetError::Reset)?;
                if n > 0 {
                    self.net.poll();
                    return core::task::Poll::Ready(Ok(n));
                }
            } else if !s.may_recv() {
                return core::task::Poll::Ready(match s.state() {
                    tcp::State::Closed => Err(NetError::Reset),
                    _ => Ok(0),
                });
            }
            cx.waker().wake_by_ref();
            core::task::Poll::Pending
        })
        .await
    }
}

impl embedded_io_async::Write for TcpStream<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, NetError> {
        if buf.is_empty() {
            return Ok(0);
        }
        core::future::poll_fn(|cx| {
            let s = self.net.sock();
            if !s.may_send() {
                return core::task::Poll::Ready(Err(NetError::Closed));
            }
            if s.can_send() {
                let n = s.send_slice(buf).map_err(|_| NetError::Closed)?;
                self.net.poll();
                return core::task::Poll::Ready(Ok(n));
            }
            self.net.poll();
            cx.waker().wake_by_ref();
            core::task::Poll::Pending
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), NetError> {
        self.net.poll();
        Ok(())
    }
}
