//! `FeatureExtractor::extract_into` allocates nothing in steady state (after the first call),
//! checked with a counting global allocator. This binary holds a single test so no other test
//! thread allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use openpalm::features::pattern::{PatternKind, line_texture};
use openpalm::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn steady_state_allocations(mut ex: impl FeatureExtractor, kind: PatternKind) -> usize {
    let rois: Vec<_> = (0..3).map(|i| line_texture(kind, 128, i, i, 2.0)).collect();
    let g = ex.geometry();
    let mut code = vec![0u64; g.code_words()];
    let mut mask = vec![0u64; g.words_per_plane()];
    ex.extract_into(&rois[0], &mut code, &mut mask).unwrap();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for roi in &rois {
        ex.extract_into(roi, &mut code, &mut mask).unwrap();
    }
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn extract_into_does_not_allocate() {
    let cases: Vec<(&str, usize)> = vec![
        (
            "compcode",
            steady_state_allocations(OrientedCodeExtractor::comp_code(), PatternKind::Crease),
        ),
        (
            "bocv",
            steady_state_allocations(OrientedCodeExtractor::bocv(), PatternKind::Crease),
        ),
        (
            "doc",
            steady_state_allocations(
                OrientedCodeExtractor::double_orientation(),
                PatternKind::Crease,
            ),
        ),
        (
            "vein_bocv",
            steady_state_allocations(OrientedCodeExtractor::vein_bocv(), PatternKind::Vein),
        ),
        (
            "vein_maxcurv",
            steady_state_allocations(MaxCurvatureVein::default(), PatternKind::Vein),
        ),
    ];
    for (name, n) in cases {
        assert_eq!(
            n, 0,
            "{name}: {n} allocations in 3 steady-state extractions"
        );
    }
}
