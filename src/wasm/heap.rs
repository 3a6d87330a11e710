//! The page's memory allocator: Rust's usual wasm allocator (dlmalloc), with memory requested in
//! growing steps.
//!
//! The default allocator asks the engine for just the pages it needs each time its heap runs out,
//! so a node filling up with a million keys grows the wasm memory thousands of times, 64 KB at a
//! time. Each `memory.grow` costs V8 about 0.2 ms (it re-accounts the memory and detaches the
//! JavaScript views of it), which made `DEBUG POPULATE 1000000` take seconds and dominated RDB
//! loading. Here every request takes at least an eighth of the memory already in use (and at
//! least 1 MB), so memory grows in about fifty steps on the way to half a gigabyte; the pages a
//! step adds but nobody touches cost nothing until used. dlmalloc itself is unchanged.
//!
//! The heap also counts the bytes its callers hold ([`in_use`]), as the native benchmark's
//! allocator does, so the memory benchmark can give bytes per key in the page: the wasm memory's
//! size only says how far the heap ever grew, in steps of an eighth.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::{Cell, UnsafeCell};
use std::ptr;

use dlmalloc::{Allocator, Dlmalloc};

/// WebAssembly's page size.
const PAGE: usize = 64 * 1024;
/// The smallest step, in pages (1 MB).
const MIN_STEP_PAGES: usize = 16;
/// Each step is at least this fraction (1/n) of the memory already there.
const STEP_FRACTION: usize = 8;

/// Pages from `memory.grow`, in steps proportional to the memory's size. Memory is never given
/// back (wasm memory cannot shrink), as with the default allocator.
struct SteppedPages;

// SAFETY: every region returned is fresh memory just added by `memory.grow`, owned by nobody
// else, page-aligned and of the size reported; nothing is ever released or moved.
unsafe impl Allocator for SteppedPages {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let needed = size.div_ceil(PAGE);
        let step = (core::arch::wasm32::memory_size(0) / STEP_FRACTION).max(MIN_STEP_PAGES).max(needed);
        // If the generous step does not fit under the engine's limit, try what is needed.
        for pages in [step, needed] {
            let previous = core::arch::wasm32::memory_grow(0, pages);
            if previous != usize::MAX {
                return ((previous * PAGE) as *mut u8, pages * PAGE, 0);
            }
        }
        (ptr::null_mut(), 0, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

/// The global allocator: one dlmalloc heap over [`SteppedPages`], and the bytes it has handed
/// out and not had back.
pub struct Heap(UnsafeCell<Dlmalloc<SteppedPages>>, Cell<usize>);

// SAFETY: this module is only built without the atomics feature, where wasm32 has no threads,
// so the heap (and its count) is never used from two places at once, and dlmalloc
// does not allocate while it allocates, so no call re-enters another.
unsafe impl Sync for Heap {}

impl Heap {
    const fn new() -> Heap {
        Heap(UnsafeCell::new(Dlmalloc::new_with_allocator(SteppedPages)), Cell::new(0))
    }

    /// Counts a change in the bytes held: `freed` go back, `taken` go out.
    fn held(&self, freed: usize, taken: usize) {
        self.1.set(self.1.get() - freed + taken);
    }
}

/// Bytes the engine's allocations hold now (what was asked of the heap, not dlmalloc's own
/// bookkeeping nor memory it holds free).
pub fn in_use() -> usize {
    HEAP.1.get()
}

// SAFETY: each method forwards to dlmalloc's own, with the layout's size and alignment, as the
// standard library's wasm allocator does; exclusivity of the `&mut` comes from `Sync` above.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = (*self.0.get()).malloc(layout.size(), layout.align());
        if !p.is_null() {
            self.held(0, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = (*self.0.get()).calloc(layout.size(), layout.align());
        if !p.is_null() {
            self.held(0, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.held(layout.size(), 0);
        (*self.0.get()).free(ptr, layout.size(), layout.align())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size);
        if !p.is_null() {
            self.held(layout.size(), new_size);
        }
        p
    }
}

#[global_allocator]
static HEAP: Heap = Heap::new();
