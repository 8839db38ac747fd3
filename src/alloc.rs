//! The global allocator: mimalloc, with per-thread byte counters so INFO memory and
//! maxmemory see real figures without a shared hot counter.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

use mimalloc::MiMalloc;

const SLOTS: usize = 257;

#[repr(align(64))]
struct Padded(AtomicIsize);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Padded = Padded(AtomicIsize::new(0));
static COUNTERS: [Padded; SLOTS] = [ZERO; SLOTS];

thread_local! {
    /// Counter slot of this thread: shard i uses slot i, every other thread the last.
    static SLOT: Cell<usize> = const { Cell::new(SLOTS - 1) };
}

pub struct CountingAlloc;

#[inline]
fn add(n: isize) {
    let slot = SLOT.try_with(|s| s.get()).unwrap_or(SLOTS - 1);
    COUNTERS[slot].0.fetch_add(n, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        MiMalloc.alloc(layout)
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        MiMalloc.dealloc(ptr, layout)
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        MiMalloc.alloc_zeroed(layout)
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        MiMalloc.realloc(ptr, layout, new_size)
    }
}

/// Attribute this thread's allocations to shard `id`.
pub fn set_thread_slot(id: usize) {
    SLOT.with(|s| s.set(id.min(SLOTS - 2)));
}

/// Total bytes allocated, reading only the counters of `shards` shard threads and the
/// shared slot of all other threads (cheap enough for every write under maxmemory).
pub fn used_memory_of(shards: usize) -> usize {
    let n = shards.min(SLOTS - 1);
    let sum: isize = COUNTERS[..n]
        .iter()
        .map(|c| c.0.load(Ordering::Relaxed))
        .sum::<isize>()
        + COUNTERS[SLOTS - 1].0.load(Ordering::Relaxed);
    sum.max(0) as usize
}

/// Total bytes allocated by the process through the global allocator.
pub fn used_memory() -> usize {
    COUNTERS
        .iter()
        .map(|c| c.0.load(Ordering::Relaxed))
        .sum::<isize>()
        .max(0) as usize
}

/// Resident set size from /proc (bytes).
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

extern "C" {
    // mimalloc's own API (linked in by the mimalloc crate).
    fn mi_collect(force: bool);
}

/// Let mimalloc return this thread's freed pages to the OS now. mimalloc purges lazily,
/// from inside later allocations, so a shard that went quiet after a burst of writes
/// would otherwise keep that memory resident.
pub fn collect() {
    // SAFETY: mi_collect only walks this thread's heap.
    unsafe { mi_collect(false) };
}
