//! The per-shift scoring kernels and the only `unsafe` code of the matcher.
//!
//! Every kernel computes, for each prepared shifted probe variant `s` (in the matcher's canonical
//! shift order), the pair
//!
//! ```text
//! den[s] = Σ_w popcount(vm_s[w] ∧ rm[w])                          (overlap, in cells)
//! num[s] = Σ_p Σ_w popcount((v_s,p[w] ⊕ r_p[w]) ∧ vm_s[w] ∧ rm[w])   (differing bits)
//! ```
//!
//! and hands it to a [`ShiftSink`] in ascending `s`. The integers are exact, so every backend
//! produces bit-identical pairs; the selection of the best shift is one shared piece of code
//! ([`super::prepared::Selector`]), so every backend also picks the same shift.
//!
//! Layouts: the probe variants are `n_shifts` blocks of `(planes + 1) · padded` words (planes,
//! then the mask), each plane padded with zero words to `padded = ⌈words / 8⌉ · 8` and each block
//! 64-byte aligned. The reference is the template layout: `code` is `planes · words` words (plane
//! after plane, no padding) and `mask` is `words` words. Kernels read the reference's last partial
//! chunk of each plane with masked loads, so they never read past a plane.

pub(crate) mod scalar;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;

use std::sync::atomic::AtomicUsize;

use super::Backend;
use super::aligned::Line;
use super::prepared::Selector;

/// How many rows ahead the AVX-512 gallery scans prefetch: `[shifted window, single shift]`
/// (0 = none). Measured on Zen 4 (`matching_report -- prefetch=A,B`): for the shifted scan two rows
/// ahead is within noise of none (the hardware prefetcher keeps up with ~4 GB/s); for the
/// single-shift scan, which streams at memory bandwidth, any software prefetch was slower (16
/// rows: −20 %, 64 rows: −40 %), so it is off. Adjustable for experiments through
/// `bench_support`.
pub(crate) static PREFETCH_ROWS: [AtomicUsize; 2] = [AtomicUsize::new(2), AtomicUsize::new(0)];

/// Geometry of the prepared probe variants and of the reference the kernels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Code planes `P`.
    pub(crate) planes: usize,
    /// Words per plane in the reference (`⌈cells / 64⌉`).
    pub(crate) words: usize,
    /// Words per plane in a probe variant: `words` rounded up to a multiple of 8.
    pub(crate) padded: usize,
    /// Words per probe variant: `(planes + 1) · padded`.
    pub(crate) stride: usize,
    /// Number of variants (shifts).
    pub(crate) shifts: usize,
}

/// Receives the exact per-shift counts, in ascending shift index.
pub(crate) trait ShiftSink {
    /// Counts for shift index `s`: `num` differing bits over `den` overlapping cells.
    fn offer(&mut self, s: usize, num: u32, den: u32);
}

/// The length contract of every per-reference entry point ([`run`], [`best`] and the
/// scalar-native baseline): asserted once per comparison (cheap), so the kernels can index
/// without further checks.
#[inline(always)]
fn check_lengths(layout: &Layout, variants: &[u64], code: &[u64], mask: &[u64]) {
    assert!(variants.len() >= layout.shifts * layout.stride);
    assert_eq!(code.len(), layout.planes * layout.words);
    assert_eq!(mask.len(), layout.words);
}

/// Runs the backend's kernel. The caller guarantees `backend` is available on this CPU (the
/// [`Backend`] values a [`super::Matcher`] holds are checked when it is built), that
/// `variants.len() ≥ layout.shifts · layout.stride`, `code.len() == planes · words` and
/// `mask.len() == words`; the lengths are asserted here (cheap, once per comparison).
#[inline]
pub(crate) fn run<S: ShiftSink>(
    backend: Backend,
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    check_lengths(layout, variants, code, mask);
    match backend {
        Backend::Scalar => scalar::scores(layout, variants, code, mask, sink),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => {
            debug_assert!(Backend::Avx2.is_available());
            // SAFETY: a `Backend::Avx2` only reaches a matcher after `is_available()` confirmed
            // AVX2 at run time (see `Backend::check`); the slice lengths were asserted above.
            unsafe { avx2::scores(layout, variants, code, mask, sink) }
        }
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => {
            debug_assert!(Backend::Avx512.is_available());
            // SAFETY: as above, AVX-512F + VPOPCNTDQ were detected at run time before this
            // backend value could be stored in a matcher; lengths asserted above.
            unsafe { avx512::scores(layout, variants, code, mask, sink) }
        }
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => {
            debug_assert!(Backend::Neon.is_available());
            // SAFETY: NEON was detected at run time (it is mandatory on aarch64 Linux); lengths
            // asserted above.
            unsafe { neon::scores(layout, variants, code, mask, sink) }
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("backend {backend:?} is not compiled for this architecture"),
    }
}

/// Receives the rows of a gallery scan that may enter a top-k.
pub(crate) trait RowSink {
    /// The worst distance still admitted, as a fraction `(num, den)` of differing bits over
    /// overlap cells: rows whose best qualifying shift is strictly worse may be skipped. `(1, 0)`
    /// (an infinite distance) admits every row with enough overlap.
    fn bound(&self) -> (u32, u32);
    /// The best shift of row `row` (of the scanned slice); only rows where some shift had the
    /// required overlap are offered.
    fn offer(&mut self, row: usize, sel: Selector);
}

/// The best shift of `code`/`mask` against the prepared `variants` (what [`run`] with a fresh
/// [`Selector`] and [`Selector::finish`] gives, bit for bit), with the backend's best-shift kernel
/// where it has one (AVX-512 for the common geometries: counts kept in vector lanes, best shift
/// picked with vector instructions; see [`best_default`] for the default geometry's own entry
/// point). Same contract as [`run`].
#[inline]
pub(crate) fn best(
    backend: Backend,
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Selector {
    check_lengths(layout, variants, code, mask);
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Avx512 {
        debug_assert!(Backend::Avx512.is_available());
        // SAFETY: AVX-512F + VPOPCNTDQ were detected at run time before this backend value could
        // be stored in a matcher; the slice lengths were asserted above.
        if let Some(sel) = unsafe { avx512::best(layout, variants, code, mask, required) } {
            return sel;
        }
    }
    let mut sel = Selector::new(required);
    run(backend, layout, variants, code, mask, &mut sel);
    sel.finish();
    sel
}

/// Whether a matcher with this backend and layout takes [`best_default`] (AVX-512 with the
/// default geometry and window).
pub(crate) fn has_default_kernel(backend: Backend, layout: &Layout) -> bool {
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Avx512 {
        return avx512::is_default(layout);
    }
    let _ = (backend, layout);
    false
}

/// [`best`] for the default geometry and window with the AVX-512 backend: one out-of-line call
/// that returns the best shift in a register. `None` when the slices do not have the default
/// layout's lengths or no shift had the required overlap (the caller then takes [`best`], which
/// also reports the largest overlap).
///
/// # Safety
/// [`has_default_kernel`] must hold for the matcher's backend and layout (so AVX-512F and
/// AVX512_VPOPCNTDQ were detected at run time; a [`super::Matcher`] checks its backend when it is
/// built).
#[inline]
pub(crate) unsafe fn best_default(
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Option<Selector> {
    #[cfg(target_arch = "x86_64")]
    {
        let variants = variants
            .get(..avx512::DEFAULT_VARIANT_WORDS)?
            .try_into()
            .ok()?;
        let (code, mask) = (code.try_into().ok()?, mask.try_into().ok()?);
        debug_assert!(Backend::Avx512.is_available());
        // SAFETY: the caller guarantees the AVX-512 features (see above); the array types carry
        // the lengths.
        let key = unsafe { avx512::best_default(variants, code, mask, required) };
        avx512::decode_default(key, required)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (variants, code, mask, required);
        None
    }
}

/// Scans every row of `rows` (rows of `row_words` words: `code` then `mask` in the template
/// layout, then padding), offering to `sink` each row whose best shift has the required overlap
/// (AVX-512 skips rows that cannot reach [`RowSink::bound`]), in row order. With the AVX-512
/// backend and a common geometry: the geometry dispatched once, rows prefetched ahead
/// ([`PREFETCH_ROWS`]), and a single-shift window compares eight rows at a time.
#[inline]
pub(crate) fn rows_best(
    backend: Backend,
    layout: &Layout,
    variants: &[u64],
    rows: &[u64],
    row_words: usize,
    required: u32,
    sink: &mut impl RowSink,
) {
    let (cw, w) = (layout.planes * layout.words, layout.words);
    assert!(variants.len() >= layout.shifts * layout.stride);
    assert!(row_words >= cw + w && rows.len().is_multiple_of(row_words));
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Avx512 {
        debug_assert!(Backend::Avx512.is_available());
        let ahead = (
            PREFETCH_ROWS[0].load(std::sync::atomic::Ordering::Relaxed),
            PREFETCH_ROWS[1].load(std::sync::atomic::Ordering::Relaxed),
        );
        // SAFETY: AVX-512F + VPOPCNTDQ were detected at run time before this backend value could
        // be stored in a matcher; the row geometry was asserted above.
        if unsafe { avx512::rows_best(layout, variants, rows, row_words, required, ahead, sink) } {
            return;
        }
    }
    for (i, row) in rows.chunks_exact(row_words).enumerate() {
        let sel = best(
            backend,
            layout,
            variants,
            &row[..cw],
            &row[cw..cw + w],
            required,
        );
        let (bn, bd) = sink.bound();
        if sel.found() && u64::from(sel.num) * u64::from(bd) <= u64::from(bn) * u64::from(sel.den) {
            sink.offer(i, sel);
        }
    }
}

/// Runs the backend's kernel over every row of `rows` (rows of `row_words` words: `code` then
/// `mask` in the template layout, then padding), with a fresh sink from `new` per row, handed to
/// `done(row_index, sink)` afterwards. Same results as calling [`run`] per row, with the dispatch
/// done once instead of per row.
#[inline]
pub(crate) fn run_rows<S: ShiftSink>(
    backend: Backend,
    layout: &Layout,
    variants: &[u64],
    rows: &[u64],
    row_words: usize,
    new: impl Fn() -> S,
    done: impl FnMut(usize, S),
) {
    let (cw, w) = (layout.planes * layout.words, layout.words);
    assert!(variants.len() >= layout.shifts * layout.stride);
    assert!(row_words >= cw + w && rows.len().is_multiple_of(row_words));
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => {
            debug_assert!(Backend::Avx512.is_available());
            // SAFETY: AVX-512F + VPOPCNTDQ were detected at run time before this backend value
            // could be stored in a matcher; the row geometry was asserted above.
            unsafe { avx512::rows(layout, variants, rows, row_words, new, done) }
        }
        _ => {
            let mut done = done;
            for (i, row) in rows.chunks_exact(row_words).enumerate() {
                let mut sink = new();
                run(
                    backend,
                    layout,
                    variants,
                    &row[..cw],
                    &row[cw..cw + w],
                    &mut sink,
                );
                done(i, sink);
            }
        }
    }
}

/// The scalar reference compiled with every x86-64 feature this CPU has that the compiler may use
/// to vectorise it (AVX-512 with VPOPCNTDQ, else AVX2 + POPCNT, else the baseline): the
/// "compiler-vectorised scalar" baseline of the benchmarks. Same results as [`scalar::scores`].
pub(crate) fn run_scalar_native<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    check_lengths(layout, variants, code, mask);
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx2,popcnt")]
        fn avx512<S: ShiftSink>(l: &Layout, v: &[u64], c: &[u64], m: &[u64], s: &mut S) {
            scalar::scores(l, v, c, m, s)
        }
        #[target_feature(enable = "avx2,popcnt")]
        fn avx2<S: ShiftSink>(l: &Layout, v: &[u64], c: &[u64], m: &[u64], s: &mut S) {
            scalar::scores(l, v, c, m, s)
        }
        let avx512_all = Backend::Avx512.is_available()
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt");
        if avx512_all {
            // SAFETY: every feature enabled on `avx512` was detected at run time just above
            // (`Avx512` = AVX-512F + VPOPCNTDQ); the lengths were asserted above.
            unsafe { avx512(layout, variants, code, mask, sink) };
            return;
        }
        if Backend::Avx2.is_available() && std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: AVX2 and POPCNT detected at run time just above; lengths asserted above.
            unsafe { avx2(layout, variants, code, mask, sink) };
            return;
        }
    }
    scalar::scores(layout, variants, code, mask, sink)
}

/// Views a slice of aligned lines as plain arrays of eight words.
pub(crate) fn lines_as_arrays(lines: &[Line]) -> &[[u64; 8]] {
    // SAFETY: `Line` is `#[repr(C, align(64))]` around exactly one `[u64; 8]` (64 bytes), so its
    // size equals the array's and there is no padding; a `Line` is a valid `[u64; 8]` at the same
    // address, and the stricter alignment of `Line` satisfies the array's. The lifetime and length
    // are carried over unchanged.
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<[u64; 8]>(), lines.len()) }
}

/// Mutable form of [`lines_as_arrays`].
pub(crate) fn lines_as_arrays_mut(lines: &mut [Line]) -> &mut [[u64; 8]] {
    // SAFETY: as in `lines_as_arrays`; every bit pattern of `[u64; 8]` is a valid `Line`, so
    // writes through the array view keep the lines valid, and the exclusive borrow is carried over.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<[u64; 8]>(), lines.len()) }
}

/// Views words as their little-endian bytes (on little-endian targets; the byte order is that of
/// the machine). Used to hand the same gallery bytes to byte-oriented baselines.
pub fn words_as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: `u8` has alignment 1 and no invalid bit patterns; the byte slice covers exactly the
    // `8 · len` bytes of the word slice and borrows it for the same lifetime.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}
