//! The decoder never allocates more than the input's length, whatever the header claims.
//!
//! A counting global allocator (this test binary only) measures the bytes allocated on the
//! current thread during each `from_bytes` call.

use openpalm::template::format::TemplateLimits;
use openpalm::template::fuzzing::with_fixed_crc;
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + new_size));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated on this thread while decoding `bytes` with format-maximum limits.
fn allocated_by_decode(bytes: &[u8]) -> usize {
    let before = ALLOCATED.with(Cell::get);
    let result = PalmTemplate::from_bytes_with_limits(bytes, &TemplateLimits::FORMAT_MAX);
    let after = ALLOCATED.with(Cell::get);
    drop(result);
    after - before
}

fn sample(rows: u16, cols: u16, planes: u8) -> Vec<u8> {
    PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 1, 0),
        Geometry::new(rows, cols, planes).unwrap(),
        |p, r, c| (p + r + c) % 3 == 0,
        |_, _| true,
    )
    .to_bytes()
}

#[test]
fn a_valid_template_allocates_exactly_its_payload() {
    let bytes = sample(32, 32, 3);
    assert_eq!(allocated_by_decode(&bytes), 512);
}

#[test]
fn a_header_claiming_a_huge_payload_allocates_nothing() {
    // Header of a 1024 × 1024 × 16 template (2 228 224 payload bytes) with no payload, CRC
    // correct.
    let mut b = sample(3, 5, 1)[..32].to_vec();
    b[9] = 16;
    b[16..18].copy_from_slice(&1024u16.to_le_bytes());
    b[18..20].copy_from_slice(&1024u16.to_le_bytes());
    b[20..24].copy_from_slice(&2_228_224u32.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    let b = with_fixed_crc(&b);
    assert!(PalmTemplate::from_bytes_with_limits(&b, &TemplateLimits::FORMAT_MAX).is_err());
    assert_eq!(allocated_by_decode(&b), 0);
}

proptest! {
    #[test]
    fn never_more_than_the_input_length(
        rows in 1u16..40, cols in 1u16..40, planes in 1u8..5,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let mut b = sample(rows, cols, planes);
        for (i, x) in edits {
            let n = b.len();
            b[i % n] ^= x;
        }
        b.truncate(cut % (b.len() + 1) + 36.min(b.len()));
        let b = with_fixed_crc(&b);
        let allocated = allocated_by_decode(&b);
        prop_assert!(allocated <= b.len(), "{} bytes allocated for a {}-byte input", allocated, b.len());
    }
}
