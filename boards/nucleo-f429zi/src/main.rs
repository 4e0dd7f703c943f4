//! embedded-mail on a NUCLEO-F429ZI: the on-board LAN8742A Ethernet PHY
//! (RMII) through embassy-stm32 0.6 and embassy-net 0.9, DHCP, DNS, TLS 1.3
//! with a pinned CA (randomness from the chip's TRNG), and a POP3 or IMAP
//! poll of the mailbox given at build time (see README.md and
//! boards/demo-common). Logs over RTT with defmt.

#![no_std]
#![no_main]

use defmt::{info, unwrap};
use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_stm32::eth::{Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::Rng;
use embassy_stm32::time::Hertz;
use embassy_stm32::{bind_interrupts, eth, flash, rng, Config};
use embassy_stm32::flash::{Async, Flash};
use embedded_mail::store::flash::FlashStore;
use mail_demo_common::Buffers;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    HASH_RNG => rng::InterruptHandler<RNG>;
    FLASH => flash::InterruptHandler;
});

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

// ---------------------------------------------------------------------
// STORE: the crate's flash store (embedded_mail::store::flash, on
// sequential-storage) in the internal flash, through embassy-stm32's async
// flash driver. Sectors 17..23 of the 2 MiB flash are uniform 128 KiB
// erase pages: 5 for messages (640 KiB), 2 for the sync state. memory.x
// ends the firmware image below them (0x0812_0000). Offsets are from the
// start of flash (0x0800_0000).
const MESSAGES: core::ops::Range<u32> = 0x12_0000..0x1C_0000;
const STATE: core::ops::Range<u32> = 0x1C_0000..0x20_0000;
/// Largest message stored whole; bigger ones have only their header stored
/// (and stay on the server).
const MAX_MESSAGE: u64 = 256 * 1024;
type Store = FlashStore<'static, Flash<'static, Async>>;
// ---------------------------------------------------------------------

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn mail_task(stack: embassy_net::Stack<'static>, rng: Rng<'static, RNG>, flash: Flash<'static, Async>) -> ! {
    static FLASH_BUF: StaticCell<[u8; mail_demo_common::FLASH_BUF]> = StaticCell::new();
    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    let buf = FLASH_BUF.init([0; mail_demo_common::FLASH_BUF]);
    let mut store: Store = mail_demo_common::open_flash_store(flash, MESSAGES, STATE, buf).await;
    let buffers = BUFFERS.init_with(Buffers::new);
    mail_demo_common::run(stack, rng, &mut store, buffers, MAX_MESSAGE).await
}

#[embassy_executor::main]
async fn main(spawner: Spawner) -> ! {
    // 8 MHz HSE from the ST-LINK's MCO (bypass) → 168 MHz SYSCLK, and the
    // 48 MHz PLL Q output the RNG needs.
    let mut config = Config::default();
    {
        use embassy_stm32::rcc::*;
        config.rcc.hse = Some(Hse {
            freq: Hertz(8_000_000),
            mode: HseMode::Bypass,
        });
        config.rcc.pll_src = PllSource::HSE;
        config.rcc.pll = Some(Pll {
            prediv: PllPreDiv::DIV4,
            mul: PllMul::MUL168,
            divp: Some(PllPDiv::DIV2), // 336 / 2 = 168 MHz
            divq: Some(PllQDiv::DIV7), // 336 / 7 = 48 MHz
            divr: None,
        });
        config.rcc.ahb_pre = AHBPrescaler::DIV1;
        config.rcc.apb1_pre = APBPrescaler::DIV4;
        config.rcc.apb2_pre = APBPrescaler::DIV2;
        config.rcc.sys = Sysclk::PLL1_P;
    }
    let p = embassy_stm32::init(config);
    info!("nucleo-f429zi: embedded-mail demo");

    let mut rng = Rng::new(p.RNG, Irqs);
    let mut seed = [0u8; 8];
    rng.async_fill_bytes(&mut seed).await.ok();
    let seed = u64::from_le_bytes(seed);

    // A locally administered MAC derived from the chip's unique ID.
    let uid = embassy_stm32::uid::uid();
    let mac = [0x02, uid[0] ^ uid[6], uid[1] ^ uid[7], uid[2] ^ uid[8], uid[3] ^ uid[9], uid[4] ^ uid[10] ^ uid[11]];

    static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    // NUCLEO-144 RMII pins (UM1974): REF_CLK PA1, CRS_DV PA7, RXD0 PC4,
    // RXD1 PC5, TXD0 PG13, TXD1 PB13, TX_EN PG11, MDIO PA2, MDC PC1.
    let device = Ethernet::new(
        PACKETS.init(PacketQueue::<4, 4>::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        mac,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );

    let net_config = embassy_net::Config::dhcpv4(Default::default());
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, net_config, RESOURCES.init(StackResources::new()), seed);

    spawner.spawn(unwrap!(net_task(runner)));
    let flash = Flash::new(p.FLASH, Irqs);
    spawner.spawn(unwrap!(mail_task(stack, rng, flash)));
    loop {
        embassy_time::Timer::after_secs(3600).await;
    }
}
