//! virtio-drivers glue: a [`Hal`] over one static, page-aligned DMA region
//! (bump-allocated, never freed: the devices live for the whole boot) and
//! the scan of the virt machine's eight virtio-mmio slots.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

const DMA_PAGES: usize = 16;

#[repr(C, align(4096))]
struct DmaRegion([u8; DMA_PAGES * PAGE_SIZE]);

/// The virtqueues' memory. Physical = virtual on this machine (no MMU in
/// M-mode), so sharing a buffer is handing out its address.
static mut DMA: DmaRegion = DmaRegion([0; DMA_PAGES * PAGE_SIZE]);
static DMA_NEXT: AtomicUsize = AtomicUsize::new(0);

/// The [`Hal`] of this firmware.
pub struct VirtHal;

// SAFETY: dma_alloc hands out disjoint, zeroed (never reused .bss) pages
// of a page-aligned static; addresses are identity-mapped.
unsafe impl Hal for VirtHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let first = DMA_NEXT.fetch_add(pages, Ordering::Relaxed);
        assert!(first + pages <= DMA_PAGES, "DMA region exhausted");
        // SAFETY: in bounds (checked above); only this allocator hands out
        // pointers into DMA.
        let ptr = unsafe { (&raw mut DMA).cast::<u8>().add(first * PAGE_SIZE) };
        (
            ptr as usize as PhysAddr,
            NonNull::new(ptr).expect("non-null"),
        )
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).expect("non-null MMIO")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _dir: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _dir: BufferDirection) {}
}

/// The devices found.
pub struct Devices {
    /// The network card.
    pub net: Option<MmioTransport<'static>>,
    /// The entropy source.
    pub rng: Option<MmioTransport<'static>>,
}

/// Scans the virt machine's virtio-mmio slots (0x1000_1000..0x1000_8fff).
/// Call once.
pub fn scan() -> Devices {
    let mut found = Devices {
        net: None,
        rng: None,
    };
    for slot in 0..8usize {
        let addr = 0x1000_1000 + slot * 0x1000;
        let header = NonNull::new(addr as *mut VirtIOHeader).expect("non-null");
        // SAFETY: each slot is a 4 KiB virtio-mmio window, used by at most
        // one transport (this scan runs once).
        let Ok(t) = (unsafe { MmioTransport::new(header, 0x1000) }) else {
            continue;
        };
        match t.device_type() {
            DeviceType::Network if found.net.is_none() => found.net = Some(t),
            DeviceType::EntropySource if found.rng.is_none() => found.rng = Some(t),
            _ => {}
        }
    }
    found
}
