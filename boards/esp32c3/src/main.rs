//! embedded-mail on an ESP32-C3: Wi-Fi station through esp-hal 1.2 and
//! esp-radio, esp-rtos (the scheduler esp-radio needs, with its embassy
//! executor), embassy-net 0.9, DHCP, DNS, TLS 1.3 with a pinned CA
//! (randomness from the TRNG, live while the radio runs), and a POP3 or
//! IMAP poll of the mailbox given at build time (see README.md and
//! boards/demo-common). Logs with defmt through esp-println (espflash
//! decodes it).
//!
//! The Wi-Fi driver allocates: the heap (esp-alloc) is set up here, in the
//! demo. embedded-mail itself allocates nothing.

#![no_std]
#![no_main]

use defmt::{error, info, warn};
use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_time::{Duration, Timer};
use embassy_embedded_hal::adapter::BlockingAsync;
use embedded_mail::store::flash::FlashStore;
use esp_storage::FlashStorage;
use esp_hal::clock::CpuClock;
use esp_hal::rng::{Trng, TrngSource};
use esp_hal::timer::timg::TimerGroup;
use esp_println as _;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{AuthenticationMethodConfig, Config, Interface, WifiController};
use mail_demo_common::Buffers;
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

/// `WIFI_SSID` at build time.
const WIFI_SSID: &str = match option_env!("WIFI_SSID") {
    Some(s) => s,
    None => "embedded-mail-demo",
};
/// `WIFI_PASSWORD` at build time (empty: an open network).
const WIFI_PASSWORD: &str = match option_env!("WIFI_PASSWORD") {
    Some(s) => s,
    None => "",
};

// ---------------------------------------------------------------------
// STORE: the crate's flash store (embedded_mail::store::flash, on
// sequential-storage) in the `mail` data partition of partitions.csv
// (0x30_0000..0x40_0000 of a 4 MiB flash; espflash writes that table, see
// .cargo/config.toml), through esp-storage (blocking NorFlash, 4 KiB
// erase pages) made async by embassy-embedded-hal's BlockingAsync.
// Offsets are flash addresses.
const MESSAGES: core::ops::Range<u32> = 0x30_0000..0x3F_8000;
const STATE: core::ops::Range<u32> = 0x3F_8000..0x40_0000;
/// Largest message stored whole; bigger ones have only their header stored
/// (and stay on the server).
const MAX_MESSAGE: u64 = 128 * 1024;
type BoardFlash = BlockingAsync<FlashStorage<'static>>;
type Store = FlashStore<'static, BoardFlash>;
// ---------------------------------------------------------------------

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    error!("panic: {}", defmt::Display2Format(info));
    loop {
        core::hint::spin_loop();
    }
}

#[embassy_executor::task]
async fn wifi_task(mut controller: WifiController<'static>) -> ! {
    loop {
        info!("wifi: connecting to {}", WIFI_SSID);
        match controller.connect_async().await {
            Ok(_) => {
                info!("wifi: connected");
                if let Err(e) = controller.wait_for_disconnect_async().await {
                    warn!("wifi: {}", e);
                }
                warn!("wifi: disconnected");
            }
            Err(e) => warn!("wifi: connect failed: {}", e),
        }
        Timer::after(Duration::from_secs(5)).await;
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Interface>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn mail_task(stack: embassy_net::Stack<'static>, rng: Trng, flash: BoardFlash) -> ! {
    static FLASH_BUF: StaticCell<[u8; mail_demo_common::FLASH_BUF]> = StaticCell::new();
    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    let buf = FLASH_BUF.init([0; mail_demo_common::FLASH_BUF]);
    let mut store: Store = mail_demo_common::open_flash_store(flash, MESSAGES, STATE, buf).await;
    let buffers = BUFFERS.init_with(Buffers::new);
    mail_demo_common::run(stack, rng, &mut store, buffers, MAX_MESSAGE).await
}

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    // The Wi-Fi driver's heap: the RAM the second-stage bootloader used,
    // plus some more.
    esp_alloc::heap_allocator!(#[esp_hal::ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 32 * 1024);
    info!("esp32c3: embedded-mail demo");

    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);

    // The TRNG: the RNG peripheral fed by the ADC's noise (and the radio's,
    // once it runs). Kept alive for the program's life.
    static TRNG_SOURCE: StaticCell<TrngSource<'static>> = StaticCell::new();
    TRNG_SOURCE.init(TrngSource::new(peripherals.RNG, peripherals.ADC1));
    let mut trng = Trng::try_new().expect("TRNG source is live");

    let mut controller = WifiController::new(peripherals.WIFI, Default::default()).expect("wifi init");
    let auth = if WIFI_PASSWORD.is_empty() {
        AuthenticationMethodConfig::Open
    } else {
        AuthenticationMethodConfig::Wpa2Personal(WIFI_PASSWORD.try_into().expect("WIFI_PASSWORD too long"))
    };
    let station = StationConfig::default()
        .with_ssid(WIFI_SSID.try_into().expect("WIFI_SSID too long"))
        .with_authentication(auth);
    controller.set_config(&Config::Station(station)).expect("wifi config");
    let device = Interface::station();

    let seed = {
        use rand_core::RngCore as _;
        trng.next_u64()
    };
    let net_config = embassy_net::Config::dhcpv4(Default::default());
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, net_config, RESOURCES.init(StackResources::new()), seed);

    spawner.spawn(wifi_task(controller).expect("spawn wifi"));
    spawner.spawn(net_task(runner).expect("spawn net"));
    let flash = BlockingAsync::new(FlashStorage::new(peripherals.FLASH));
    spawner.spawn(mail_task(stack, trng, flash).expect("spawn mail"));
    loop {
        Timer::after(Duration::from_secs(3600)).await;
    }
}
