//! embedded-mail on a WIZnet W5500-EVB-Pico: RP2040 (embassy-rp 0.10) and
//! the on-board W5500 Ethernet controller on SPI0 (embassy-net-wiznet, used
//! as a MAC-raw Ethernet device under embassy-net 0.9: the TCP/IP stack and
//! TLS run on the RP2040, not in the W5500's own sockets), DHCP, DNS, TLS
//! 1.3 with a pinned CA, and a POP3 or IMAP poll of the mailbox given at
//! build time (see README.md and boards/demo-common). Logs over RTT with
//! defmt. No firmware blobs.

#![no_std]
#![no_main]

use defmt::{info, unwrap};
use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_net_wiznet::chip::W5500;
use embassy_net_wiznet::State;
use embassy_rp::clocks::RoscRng;
use embassy_rp::flash::{Async as FlashAsync, Blocking, Flash};
use embassy_rp::gpio::{Input, Level, Output, Pull};
use embassy_rp::peripherals::{DMA_CH0, DMA_CH1, DMA_CH2, FLASH, SPI0};
use embassy_rp::spi::{self, Async, Spi};
use embassy_rp::{bind_interrupts, dma};
use embassy_time::Delay;
use embedded_hal_bus::spi::ExclusiveDevice;
use embedded_mail::store::flash::FlashStore;
use mail_demo_common::Buffers;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

bind_interrupts!(struct Irqs {
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>, dma::InterruptHandler<DMA_CH1>, dma::InterruptHandler<DMA_CH2>;
});

/// The W5500-EVB-Pico's QSPI flash.
const FLASH_SIZE: usize = 2 * 1024 * 1024;

type SpiDev = ExclusiveDevice<Spi<'static, SPI0, Async>, Output<'static>, Delay>;
type WiznetRunner = embassy_net_wiznet::Runner<'static, W5500, SpiDev, Input<'static>, Output<'static>>;

// ---------------------------------------------------------------------
// STORE: the crate's flash store (embedded_mail::store::flash, on
// sequential-storage) in the last 256 KiB of the board's 2 MiB QSPI flash,
// which memory.x keeps out of the firmware image, through embassy-rp's
// flash driver in async mode (4 KiB erase pages). Offsets are from the
// start of flash (0x1000_0000).
const MESSAGES: core::ops::Range<u32> = 0x1C_0000..0x1F_C000;
const STATE: core::ops::Range<u32> = 0x1F_C000..0x20_0000;
/// Largest message stored whole; bigger ones have only their header stored
/// (and stay on the server).
const MAX_MESSAGE: u64 = 64 * 1024;
type BoardFlash = Flash<'static, FLASH, FlashAsync, FLASH_SIZE>;
type Store = FlashStore<'static, BoardFlash>;
// ---------------------------------------------------------------------

#[embassy_executor::task]
async fn wiznet_task(runner: WiznetRunner) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, embassy_net_wiznet::Device<'static>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn mail_task(stack: embassy_net::Stack<'static>, flash: BoardFlash) -> ! {
    static FLASH_BUF: StaticCell<[u8; mail_demo_common::FLASH_BUF]> = StaticCell::new();
    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    let buf = FLASH_BUF.init([0; mail_demo_common::FLASH_BUF]);
    let mut store: Store = mail_demo_common::open_flash_store(flash, MESSAGES, STATE, buf).await;
    let buffers = BUFFERS.init_with(Buffers::new);
    // The RP2040 has no TRNG: RoscRng samples the ring oscillator's random
    // bit, the entropy source embassy-rp offers (see README.md).
    mail_demo_common::run(stack, RoscRng, &mut store, buffers, MAX_MESSAGE).await
}

#[embassy_executor::main]
async fn main(spawner: Spawner) -> ! {
    let mut p = embassy_rp::init(Default::default());
    info!("w5500-evb-pico: embedded-mail demo");

    // A locally administered MAC derived from the flash chip's unique ID.
    let mut uid = [0u8; 8];
    {
        let mut flash = Flash::<_, Blocking, FLASH_SIZE>::new_blocking(p.FLASH.reborrow());
        unwrap!(flash.blocking_unique_id(&mut uid));
    }
    let mac = [0x02, uid[2], uid[3], uid[4] ^ uid[0], uid[5] ^ uid[1], uid[6] ^ uid[7]];

    // W5500-EVB-Pico: SPI0 with SCK GP18, MOSI GP19, MISO GP16, CSn GP17;
    // RSTn GP20, INTn GP21.
    let mut spi_cfg = spi::Config::default();
    spi_cfg.frequency = 50_000_000;
    let spi = Spi::new(p.SPI0, p.PIN_18, p.PIN_19, p.PIN_16, p.DMA_CH0, p.DMA_CH1, Irqs, spi_cfg);
    let cs = Output::new(p.PIN_17, Level::High);
    let int = Input::new(p.PIN_21, Pull::Up);
    let reset = Output::new(p.PIN_20, Level::High);
    let spi_dev = unwrap!(ExclusiveDevice::new(spi, cs, Delay));

    static STATE: StaticCell<State<4, 4>> = StaticCell::new();
    let (device, runner) = match embassy_net_wiznet::new(mac, STATE.init(State::new()), spi_dev, int, reset).await {
        Ok(r) => r,
        // embedded-hal-bus's DeviceError has no defmt::Format.
        Err(_) => defmt::panic!("w5500: no answer on SPI0 (not a W5500-EVB-Pico?)"),
    };
    spawner.spawn(unwrap!(wiznet_task(runner)));

    let seed = {
        use embassy_rp::clocks::RoscRng as R;
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = R::next_u8();
        }
        u64::from_le_bytes(b)
    };
    let net_config = embassy_net::Config::dhcpv4(Default::default());
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, net_config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(unwrap!(net_task(runner)));
    let flash = BoardFlash::new(p.FLASH, p.DMA_CH2, Irqs);
    spawner.spawn(unwrap!(mail_task(stack, flash)));
    loop {
        embassy_time::Timer::after_secs(3600).await;
    }
}
