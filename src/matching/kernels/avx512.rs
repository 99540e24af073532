//! AVX-512 kernel: 512-bit `vpternlogq` for `(probe ⊕ reference) ∧ mask` and `vpopcntq`
//! (AVX512_VPOPCNTDQ) for the counts, eight words per instruction.
//!
//! Per shift the numerator and denominator are accumulated in 64-bit lanes, packed into one
//! vector (`num + den · 2³²`, both far below 2³²) and reduced horizontally once. For the common
//! geometries (exactly 8 or 16 words per plane, i.e. 512 or 1 024 cells, with 1–8 planes) the
//! reference is loaded into registers once and stays there for all shifts; other geometries use the
//! general loop, which reads the reference from L1 and the last partial chunk of each plane with
//! masked loads.
//!
//! Best-shift kernels (the 1:1 comparison and the gallery scans): the counts of eight shifts are
//! reduced together and the best shift is picked in vector registers. Covered: 8 or 16 words per
//! plane (reference in registers), 64 words with three planes (reference re-read from L1), and
//! four words per plane (256-bit vectors, AVX-512VL). Up to 32 shifts of at most 1 024 cells are
//! selected with one composite-key minimum ([`best_key`]: no branch, no lane search); the default
//! geometry and window has its own fully unrolled kernel ([`best_default`]) that returns that key
//! in a register, so that `Matcher::compare` is one call around a few inlined checks.

#![allow(clippy::needless_range_loop)] // index loops mirror the data layout in the SAFETY notes

use std::arch::x86_64::*;

use super::super::prepared::Selector;
use super::{Layout, RowSink, ShiftSink};

/// `(a ⊕ b) ∧ c` as a `vpternlogq` truth table (`a = 0xF0, b = 0xCC, c = 0xAA`).
const XOR_AND: i32 = 0x28;

/// Exact `(num, den)` for every shift.
///
/// # Safety
/// The CPU must support AVX-512F and AVX512_VPOPCNTDQ, and the slices must have the lengths
/// described in [`super::run`] (`variants ≥ shifts · stride`, `code = planes · words`,
/// `mask = words`).
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(crate) unsafe fn scores<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    // SAFETY (all calls below): same contract as this function.
    unsafe {
        match (layout.planes, layout.words) {
            (3, 16) => fixed::<3, 2, S>(layout, variants, code, mask, sink),
            (6, 16) => fixed::<6, 2, S>(layout, variants, code, mask, sink),
            (1, 16) => fixed::<1, 2, S>(layout, variants, code, mask, sink),
            (2, 16) => fixed::<2, 2, S>(layout, variants, code, mask, sink),
            (4, 16) => fixed::<4, 2, S>(layout, variants, code, mask, sink),
            (3, 8) => fixed::<3, 1, S>(layout, variants, code, mask, sink),
            (6, 8) => fixed::<6, 1, S>(layout, variants, code, mask, sink),
            (8, 8) => fixed::<8, 1, S>(layout, variants, code, mask, sink),
            _ => general(layout, variants, code, mask, sink),
        }
    }
}

/// [`scores`] for every row of `rows` (see [`super::run_rows`]), dispatching on the geometry once.
///
/// # Safety
/// The CPU must support AVX-512F and AVX512_VPOPCNTDQ; `variants ≥ shifts · stride`, `rows` a
/// whole number of rows of `row_words ≥ (planes + 1) · words` words.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(crate) unsafe fn rows<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    rows: &[u64],
    row_words: usize,
    new: impl Fn() -> S,
    mut done: impl FnMut(usize, S),
) {
    let (cw, w) = (layout.planes * layout.words, layout.words);
    macro_rules! each_row {
        ($kernel:expr) => {
            for (i, row) in rows.chunks_exact(row_words).enumerate() {
                let mut sink = new();
                // SAFETY: same contract as this function; `row` holds `cw` code words then `w`
                // mask words.
                unsafe { $kernel(layout, variants, &row[..cw], &row[cw..cw + w], &mut sink) };
                done(i, sink);
            }
        };
    }
    match (layout.planes, layout.words) {
        (3, 16) => each_row!(fixed::<3, 2, S>),
        (6, 16) => each_row!(fixed::<6, 2, S>),
        _ => each_row!(scores::<S>),
    }
}

/// Sum of the eight lanes of `num + den · 2³²`, split into `(num, den)`.
#[target_feature(enable = "avx512f")]
#[inline]
fn finish(num: __m512i, den: __m512i) -> (u32, u32) {
    let packed = _mm512_add_epi64(num, _mm512_slli_epi64::<32>(den));
    let total = _mm512_reduce_add_epi64(packed) as u64;
    (total as u32, (total >> 32) as u32)
}

/// Geometry with exactly `8 · C` words per plane and `P` planes: the reference lives in
/// registers for the whole shift loop.
///
/// # Safety
/// As [`scores`], and `layout.planes == P`, `layout.words == 8 · C`.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn fixed<const P: usize, const C: usize, S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    debug_assert!(layout.planes == P && layout.words == 8 * C && layout.padded == 8 * C);
    let (rcode, rmask) = load_reference::<P, C>(code, mask);
    let stride = layout.stride;
    // Numerator and denominator of shift `s`, packed as `num + den · 2³²` per lane.
    macro_rules! packed {
        ($s:expr) => {{
            let v = variants[$s * stride..($s + 1) * stride].as_ptr();
            let mut num = _mm512_setzero_si512();
            let mut den = _mm512_setzero_si512();
            for c in 0..C {
                // SAFETY: the variant block has `(P + 1) · 8C` words (`stride`), 64-byte aligned
                // (blocks start at multiples of 8 words in a 64-byte aligned buffer); mask chunk
                // `c` and the code chunks below are in bounds and aligned.
                let vm = unsafe { _mm512_load_si512(v.add(P * 8 * C + 8 * c).cast()) };
                let m = _mm512_and_si512(vm, rmask[c]);
                den = _mm512_add_epi64(den, _mm512_popcnt_epi64(m));
                for p in 0..P {
                    // SAFETY: see above.
                    let vc = unsafe { _mm512_load_si512(v.add(p * 8 * C + 8 * c).cast()) };
                    let x = _mm512_ternarylogic_epi64::<XOR_AND>(vc, rcode[p][c], m);
                    num = _mm512_add_epi64(num, _mm512_popcnt_epi64(x));
                }
            }
            _mm512_add_epi64(num, _mm512_slli_epi64::<32>(den))
        }};
    }
    let mut s = 0;
    while s + 2 <= layout.shifts {
        let (a, b) = (packed!(s), packed!(s + 1));
        // Interleave the two shifts' lanes and add: [a0+a1, b0+b1, a2+a3, b2+b3, …]; then halve
        // twice, leaving a in lane 0 and b in lane 1.
        let ab = _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
        let q = _mm256_add_epi64(
            _mm512_castsi512_si256(ab),
            _mm512_extracti64x4_epi64::<1>(ab),
        );
        let h = _mm_add_epi64(_mm256_castsi256_si128(q), _mm256_extracti128_si256::<1>(q));
        let (ta, tb) = (
            _mm_cvtsi128_si64(h) as u64,
            _mm_extract_epi64::<1>(h) as u64,
        );
        sink.offer(s, ta as u32, (ta >> 32) as u32);
        sink.offer(s + 1, tb as u32, (tb >> 32) as u32);
        s += 2;
    }
    if s < layout.shifts {
        let t = _mm512_reduce_add_epi64(packed!(s)) as u64;
        sink.offer(s, t as u32, (t >> 32) as u32);
    }
}

/// Any geometry: chunks of eight words, the last chunk of each reference plane read with a
/// masked load (lanes past the plane read as zero and are never touched in memory).
///
/// # Safety
/// As [`scores`].
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn general<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    let (planes, words, padded, stride) =
        (layout.planes, layout.words, layout.padded, layout.stride);
    let chunks = padded / 8;
    let tail: __mmask8 = match words % 8 {
        0 => 0xFF,
        r => (1u8 << r) - 1,
    };
    for s in 0..layout.shifts {
        let v = variants[s * stride..(s + 1) * stride].as_ptr();
        let mut num = _mm512_setzero_si512();
        let mut den = _mm512_setzero_si512();
        for c in 0..chunks {
            let k = if c + 1 == chunks { tail } else { 0xFF };
            // SAFETY: lanes selected by `k` are words `8c..min(8c + 8, words)` of the mask, in
            // bounds; masked-off lanes are not accessed. The variant chunk is inside the aligned
            // block of `stride` words.
            let (rm, vm) = unsafe {
                (
                    _mm512_maskz_loadu_epi64(k, mask.as_ptr().add(8 * c).cast()),
                    _mm512_load_si512(v.add(planes * padded + 8 * c).cast()),
                )
            };
            let m = _mm512_and_si512(vm, rm);
            den = _mm512_add_epi64(den, _mm512_popcnt_epi64(m));
            for p in 0..planes {
                // SAFETY: as above, for plane `p` of the reference (`p · words + 8c + lane` with
                // lane < words − 8c) and of the variant.
                let (r, vc) = unsafe {
                    (
                        _mm512_maskz_loadu_epi64(k, code.as_ptr().add(p * words + 8 * c).cast()),
                        _mm512_load_si512(v.add(p * padded + 8 * c).cast()),
                    )
                };
                let x = _mm512_ternarylogic_epi64::<XOR_AND>(vc, r, m);
                num = _mm512_add_epi64(num, _mm512_popcnt_epi64(x));
            }
        }
        let (n, d) = finish(num, den);
        sink.offer(s, n, d);
    }
}

// ---------------------------------------------------------------------------------------------
// Best-shift kernels: the per-shift counts stay in vector lanes and the best shift is picked with
// vector instructions, so a comparison does no per-shift horizontal sum and no per-shift scalar
// work. Gallery scans first test whether any shift could enter the top-k at all (a few integer
// vector instructions) and skip the selection for the references that cannot.
// ---------------------------------------------------------------------------------------------

/// Most groups of eight shifts: `⌈17² / 8⌉` for the largest window (±8 × ±8).
pub(crate) const MAX_GROUPS: usize = 37;

/// `(a ∧ b) ∨ c` as a `vpternlogq` truth table.
const AND_OR: i32 = 0xEA;

/// `2⁵²` as `f64`, and its bit pattern: `bits(2⁵² + x) = bits(2⁵²) | x` for `x < 2⁵²`.
const TWO_52: f64 = 4_503_599_627_370_496.0;
const TWO_52_BITS: i64 = 0x4330_0000_0000_0000;

/// `num + den · 2³²` per lane for one (probe variant, reference) pair: `code(p, c)` and
/// `mask(c)` load chunk `c` of plane `p` and of the mask of one side, `rcode` / `rmask` hold the
/// other side. (A carry-save adder over three planes, trading three `vpopcntq` for two plus two
/// `vpternlogq`, measured 5 % slower on Zen 4 and was dropped.)
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
fn packed<const P: usize, const C: usize>(
    code: impl Fn(usize, usize) -> __m512i,
    mask: impl Fn(usize) -> __m512i,
    rcode: &[[__m512i; C]; P],
    rmask: &[__m512i; C],
) -> __m512i {
    let mut num = _mm512_setzero_si512();
    let mut den = _mm512_setzero_si512();
    for c in 0..C {
        let m = _mm512_and_si512(mask(c), rmask[c]);
        den = _mm512_add_epi64(den, _mm512_popcnt_epi64(m));
        for p in 0..P {
            let x = _mm512_ternarylogic_epi64::<XOR_AND>(code(p, c), rcode[p][c], m);
            num = _mm512_add_epi64(num, _mm512_popcnt_epi64(x));
        }
    }
    _mm512_add_epi64(num, _mm512_slli_epi64::<32>(den))
}

/// Lane `j` of the result is the sum of the eight lanes of `v[j]` (a transposing reduction:
/// 21 instructions for eight vectors instead of eight horizontal sums).
#[target_feature(enable = "avx512f")]
#[inline]
fn hsum8(v: [__m512i; 8]) -> __m512i {
    // [a0+a1, b0+b1, a2+a3, b2+b3, …]: 128-bit groups (a01, b01), (a23, b23), (a45, b45), (a67, b67).
    macro_rules! pair {
        ($a:expr, $b:expr) => {
            _mm512_add_epi64(_mm512_unpacklo_epi64($a, $b), _mm512_unpackhi_epi64($a, $b))
        };
    }
    // Groups 0 + 1 and 2 + 3 of `x`, then of `y`.
    macro_rules! quad {
        ($x:expr, $y:expr) => {
            _mm512_add_epi64(
                _mm512_shuffle_i64x2::<0b10_00_10_00>($x, $y),
                _mm512_shuffle_i64x2::<0b11_01_11_01>($x, $y),
            )
        };
    }
    let ab = pair!(v[0], v[1]);
    let cd = pair!(v[2], v[3]);
    let ef = pair!(v[4], v[5]);
    let gh = pair!(v[6], v[7]);
    // (a0123, b0123), (a4567, b4567), (c0123, d0123), (c4567, d4567)
    let abcd = quad!(ab, cd);
    let efgh = quad!(ef, gh);
    quad!(abcd, efgh)
}

/// Exact `num / den` per lane as `f64` where `den ≥ required`, `+∞` elsewhere. `t` holds
/// `num + den · 2³²` per lane.
///
/// The quotients order exactly like the fractions: `num, den < 2³²` convert exactly; a correctly
/// rounded quotient maps equal fractions to equal values, and two different fractions with
/// denominators `≤ 2²⁰` (every geometry has at most 2²⁰ cells) and values `≤ 16` (planes) differ
/// by at least `2⁻⁴⁰`, far more than the rounding error (`≤ 2⁻⁴⁹`), so they stay in order.
#[target_feature(enable = "avx512f")]
#[inline]
fn keys(t: __m512i, required: __m512i) -> (__m512d, __mmask8) {
    let magic = _mm512_set1_epi64(TWO_52_BITS);
    let two_52 = _mm512_set1_pd(TWO_52);
    let low = _mm512_set1_epi64(0xFFFF_FFFF);
    let den = _mm512_srli_epi64::<32>(t);
    let ok = _mm512_cmpge_epu64_mask(den, required);
    let num_f = _mm512_sub_pd(
        _mm512_castsi512_pd(_mm512_ternarylogic_epi64::<AND_OR>(t, low, magic)),
        two_52,
    );
    let den_f = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(den, magic)), two_52);
    let key = _mm512_mask_div_pd(_mm512_set1_pd(f64::INFINITY), ok, num_f, den_f);
    (key, ok)
}

/// The lanes of `t` (`num + den · 2³²`) with `den ≥ required` and `num / den ≤ bn / bd`, by
/// exact cross-multiplication (`num · bd ≤ bn · den`; `(bn, bd) = (1, 0)` admits every lane with
/// enough overlap).
#[target_feature(enable = "avx512f")]
#[inline]
fn within(t: __m512i, required: __m512i, bn: __m512i, bd: __m512i) -> __mmask8 {
    let den = _mm512_srli_epi64::<32>(t);
    let ok = _mm512_cmpge_epu64_mask(den, required);
    // `vpmuludq` multiplies the low 32 bits of each lane: `num` is the low half of `t`.
    let lhs = _mm512_mul_epu32(t, bd);
    let rhs = _mm512_mul_epu32(den, bn);
    _mm512_mask_cmple_epu64_mask(ok, lhs, rhs)
}

/// Picks the best shift from the per-group totals (lane `j` of `t[g]` is `num + den · 2³²` of
/// shift `8g + j`, zero past the last shift), with the tie-break of `Selector`: smaller fraction,
/// then larger overlap, then smaller index. The rare cases (no shift qualifies; several shifts
/// share the best fraction) are out of line, so that this stays small enough to inline.
#[target_feature(enable = "avx512f")]
#[inline]
fn select<const G: usize>(t: &[__m512i; G], groups: usize, required: u32, small: bool) -> Selector {
    if !small {
        return select_lanes(t, groups, required);
    }
    if let Ok(t4) = <&[__m512i; 4]>::try_from(&t[..]) {
        // Up to 32 shifts (`G == 4` is known at compile time): one composite-key minimum.
        debug_assert_eq!(groups, 4);
        return decode_key(best_key(t4, required), required)
            .unwrap_or_else(|| select_none(t4, required));
    }
    select_lanes(t, groups, required)
}

/// [`select`] by per-group `f64` quotients, a horizontal minimum and a search for the lane that
/// holds it (any number of groups; the only selection for windows of more than 32 shifts).
#[target_feature(enable = "avx512f")]
#[inline]
fn select_lanes<const G: usize>(t: &[__m512i; G], groups: usize, required: u32) -> Selector {
    let req = _mm512_set1_epi64(i64::from(required));
    let mut lowest = _mm512_set1_pd(f64::INFINITY);
    let mut k = [lowest; G];
    for g in 0..groups {
        k[g] = keys(t[g], req).0;
        lowest = _mm512_min_pd(lowest, k[g]);
    }
    let best = _mm512_reduce_min_pd(lowest);
    if best == f64::INFINITY {
        return select_none(&t[..groups], required);
    }
    let bestv = _mm512_set1_pd(best);
    // The first lane holding the minimum, and whether another one holds it too (`+∞` lanes
    // never equal the finite minimum).
    let (mut first, mut several) = (None, false);
    for g in 0..groups {
        let eq = _mm512_cmpeq_pd_mask(k[g], bestv);
        several |= (eq & eq.wrapping_sub(1)) != 0 || (eq != 0 && first.is_some());
        if first.is_none() && eq != 0 {
            first = Some((g, eq.trailing_zeros()));
        }
    }
    let (g, j) = first.unwrap_or((0, 0));
    if several {
        return select_tie(&t[..groups], &k[..groups], bestv, required);
    }
    let w = lane(t[g], j);
    Selector::chosen(w as u32, (w >> 32) as u32, 8 * g as u32 + j, required)
}

/// Lane `j` of `v`.
#[target_feature(enable = "avx512f")]
#[inline]
fn lane(v: __m512i, j: u32) -> u64 {
    _mm_cvtsi128_si64(_mm512_castsi512_si128(_mm512_permutexvar_epi64(
        _mm512_set1_epi64(i64::from(j)),
        v,
    ))) as u64
}

/// [`select`] when no shift has the required overlap: the largest overlap of any shift.
#[target_feature(enable = "avx512f")]
#[cold]
#[inline(never)]
fn select_none(t: &[__m512i], required: u32) -> Selector {
    let mut most = _mm512_setzero_si512();
    for &tg in t {
        most = _mm512_max_epu64(most, _mm512_srli_epi64::<32>(tg));
    }
    Selector::none(_mm512_reduce_max_epu64(most) as u32, required)
}

/// [`select`] when several shifts share the best fraction `bestv`: the larger overlap wins, then
/// the smaller index (the first seen).
#[target_feature(enable = "avx512f")]
#[cold]
#[inline(never)]
fn select_tie(t: &[__m512i], k: &[__m512d], bestv: __m512d, required: u32) -> Selector {
    let mut chosen: Option<(u32, u32, u32)> = None;
    for (g, (&tg, &kg)) in t.iter().zip(k).enumerate() {
        let mut bits = _mm512_cmpeq_pd_mask(kg, bestv);
        while bits != 0 {
            let j = bits.trailing_zeros();
            bits &= bits - 1;
            let w = lane(tg, j);
            let (n, d, i) = (w as u32, (w >> 32) as u32, 8 * g as u32 + j);
            if chosen.is_none_or(|(_, den, _)| d > den) {
                chosen = Some((n, d, i));
            }
        }
    }
    let (num, den, index) = chosen.expect("the minimum is some lane's key");
    Selector::chosen(num, den, index, required)
}

/// The reference (code planes, then mask) in registers.
#[target_feature(enable = "avx512f")]
#[inline]
fn load_reference<const P: usize, const C: usize>(
    code: &[u64],
    mask: &[u64],
) -> ([[__m512i; C]; P], [__m512i; C]) {
    assert!(code.len() >= P * 8 * C && mask.len() >= 8 * C);
    let mut rcode = [[_mm512_setzero_si512(); C]; P];
    let mut rmask = [_mm512_setzero_si512(); C];
    for c in 0..C {
        // SAFETY: `mask` has at least `8 · C` words (asserted); unaligned load.
        rmask[c] = unsafe { _mm512_loadu_si512(mask.as_ptr().add(8 * c).cast()) };
        for p in 0..P {
            // SAFETY: `code` has at least `P · 8C` words (asserted).
            rcode[p][c] =
                unsafe { _mm512_loadu_si512(code.as_ptr().add(p * 8 * C + 8 * c).cast()) };
        }
    }
    (rcode, rmask)
}

/// The per-group totals of every shift (lane `j` of group `g`: `num + den · 2³²` of shift
/// `8g + j`, zero past the last shift) for a geometry with exactly `8 · C` words per plane and
/// `P` planes, the reference in registers for all shifts. `G` is the number of groups of eight
/// shifts when it is at most 4 (then `⌈shifts / 8⌉ == G`), else an upper bound ([`MAX_GROUPS`]).
/// Returns the totals and the number of groups.
///
/// # Safety
/// As [`scores`], and `layout.planes == P`, `layout.words == layout.padded == 8 · C`,
/// `⌈shifts / 8⌉ ≤ G`.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
unsafe fn totals<const P: usize, const C: usize, const G: usize>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
) -> ([__m512i; G], usize) {
    debug_assert!(layout.planes == P && layout.words == 8 * C && layout.padded == 8 * C);
    let groups = if G <= 4 { G } else { layout.shifts.div_ceil(8) };
    debug_assert_eq!(groups, layout.shifts.div_ceil(8));
    assert!(groups <= G && variants.len() >= layout.shifts * layout.stride);
    let (rcode, rmask) = load_reference::<P, C>(code, mask);
    let stride = layout.stride;
    let base = variants.as_ptr();
    // `num + den · 2³²` of shift `s`, per lane.
    // SAFETY (the loads): shift `s < shifts`, so its block of `stride` words lies inside
    // `variants` (asserted above) and is 64-byte aligned (blocks start at multiples of 8 words in
    // a 64-byte aligned buffer); the mask chunks and the code chunks are inside the block.
    macro_rules! packed {
        ($s:expr) => {{
            let v = base.wrapping_add($s * stride);
            packed::<P, C>(
                |p, c| unsafe { _mm512_load_si512(v.add(p * 8 * C + 8 * c).cast()) },
                |c| unsafe { _mm512_load_si512(v.add(P * 8 * C + 8 * c).cast()) },
                &rcode,
                &rmask,
            )
        }};
    }
    let zero = _mm512_setzero_si512();
    let mut t = [zero; G];
    macro_rules! group {
        ($s:expr) => {
            hsum8([
                packed!($s),
                packed!($s + 1),
                packed!($s + 2),
                packed!($s + 3),
                packed!($s + 4),
                packed!($s + 5),
                packed!($s + 6),
                packed!($s + 7),
            ])
        };
    }
    if G == 4 && layout.shifts == 25 {
        // The default ±2 × ±2 window, unrolled: three full groups and one shift.
        t[0] = group!(0);
        t[1] = group!(8);
        t[2] = group!(16);
        t[3] = _mm512_maskz_set1_epi64(1, _mm512_reduce_add_epi64(packed!(24)));
        return (t, 4);
    }
    for g in 0..groups {
        let s = 8 * g;
        let n = (layout.shifts - s).min(8);
        t[g] = if n == 8 {
            hsum8([
                packed!(s),
                packed!(s + 1),
                packed!(s + 2),
                packed!(s + 3),
                packed!(s + 4),
                packed!(s + 5),
                packed!(s + 6),
                packed!(s + 7),
            ])
        } else if n == 1 {
            let total = _mm512_reduce_add_epi64(packed!(s));
            _mm512_maskz_set1_epi64(1, total)
        } else {
            let mut v = [zero; 8];
            for (j, vj) in v.iter_mut().enumerate().take(n) {
                *vj = packed!(s + j);
            }
            hsum8(v)
        };
    }
    (t, groups)
}

/// Whether the best-shift kernels cover this layout: 8 or 16 words per plane (512 or 1 024
/// cells) with the common plane counts, or 64 × 64 cells with three planes (64 words per plane:
/// the reference no longer fits the registers and is re-read from L1; 1.44× the per-shift
/// kernel). The counts fit the 32-bit halves of the lanes; the composite-key selection takes the
/// first group (at most 1 024 cells), the lane-search selection the 64 × 64 geometry.
pub(crate) fn has_best(layout: &Layout) -> bool {
    layout.padded == layout.words
        && matches!(
            (layout.planes, layout.words),
            (3, 16) | (6, 16) | (1, 16) | (2, 16) | (4, 16) | (3, 8) | (6, 8) | (8, 8) | (3, 64)
        )
        && layout.shifts.div_ceil(8) <= MAX_GROUPS
}

/// Calls `$go!(P, C)` for the layout's plane count and chunks per plane (one of [`has_best`]'s).
macro_rules! dispatch {
    ($layout:expr, $go:ident) => {
        match ($layout.planes, $layout.words) {
            (3, 16) => $go!(3, 2),
            (6, 16) => $go!(6, 2),
            (1, 16) => $go!(1, 2),
            (2, 16) => $go!(2, 2),
            (4, 16) => $go!(4, 2),
            (3, 8) => $go!(3, 1),
            (6, 8) => $go!(6, 1),
            (3, 64) => $go!(3, 8),
            _ => $go!(8, 1),
        }
    };
}

/// The best shift, dispatched on the geometry; `None` when [`has_best`] is false.
///
/// # Safety
/// As [`scores`].
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
pub(crate) unsafe fn best(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Option<Selector> {
    // Every best-shift geometry, six planes included: with the composite-key selection six
    // planes measured 2 % faster here than the per-shift kernel (`scores`), which had been 8 %
    // faster than the lane-search selection (`matching_report -- 1to1`, 32x32x6 row).
    if !has_best(layout) {
        if has_quarter(layout) && std::arch::is_x86_feature_detected!("avx512vl") {
            // SAFETY: same contract as this function, AVX-512VL detected just above; the layout
            // was checked by `has_quarter`.
            return Some(unsafe { best_quarter(layout, variants, code, mask, required) });
        }
        return None;
    }
    if layout.shifts.div_ceil(8) == 4 && (layout.planes, layout.words) == (3, 16) {
        // The default geometry and window, inline. SAFETY: same contract as this function;
        // geometry and group count just checked.
        let (t, n) = unsafe { totals::<3, 2, 4>(layout, variants, code, mask) };
        return Some(select(&t, n, required, true));
    }
    // SAFETY: same contract as this function.
    Some(unsafe { best_other(layout, variants, code, mask, required) })
}

/// [`best`] for the other geometries and windows (out of line, so that the common case stays
/// small enough to inline).
///
/// # Safety
/// As [`best`], and [`has_best`] holds.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline(never)]
unsafe fn best_other(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Selector {
    if layout.shifts.div_ceil(8) != 4 {
        // SAFETY: same contract as this function.
        return unsafe { best_wide(layout, variants, code, mask, required) };
    }
    if layout.shifts == 25 {
        // SAFETY: same contract as this function, 25 shifts.
        if let Some(sel) = unsafe { best_window25(layout, variants, code, mask, required) } {
            return sel;
        }
    }
    macro_rules! go {
        ($p:literal, $c:literal) => {{
            // SAFETY: same contract as this function; geometry matched by `dispatch!`, and
            // `⌈shifts / 8⌉ == 4`.
            let (t, n) = unsafe { totals::<$p, $c, 4>(layout, variants, code, mask) };
            select(&t, n, required, $c <= 2)
        }};
    }
    dispatch!(layout, go)
}

/// [`best`] for windows with other than 25–32 shifts (out of line, so that the common case
/// stays small).
///
/// # Safety
/// As [`best`], and [`has_best`] holds.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline(never)]
unsafe fn best_wide(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Selector {
    macro_rules! go {
        ($p:literal, $c:literal) => {{
            // SAFETY: same contract as this function; geometry matched by `dispatch!`.
            let (t, n) = unsafe { totals::<$p, $c, MAX_GROUPS>(layout, variants, code, mask) };
            select(&t, n, required, $c <= 2)
        }};
    }
    dispatch!(layout, go)
}

/// Hints the lines of `bytes` bytes from `p` into the caches. Never faults (a prefetch of an
/// address outside the process is ignored), so `p` may point past the data.
#[target_feature(enable = "avx512f")]
#[inline]
fn prefetch(p: *const u64, bytes: usize) {
    for line in (0..bytes).step_by(64) {
        // `prefetcht0` only hints the cache hierarchy and cannot fault, whatever the address
        // (a safe intrinsic); `wrapping_byte_add` keeps the pointer arithmetic defined.
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_byte_add(line).cast());
    }
}

/// Scans every row of `rows` (see [`super::rows_best`]): rows whose best shift could reach
/// `sink.bound()` get their best shift picked and offered; rows `ahead` rows in advance are
/// prefetched. A single-shift window compares eight rows at a time with the probe in registers
/// ([`rows_unshifted`]). Returns `false` (and does nothing) when [`has_best`] is false.
///
/// # Safety
/// AVX-512F + VPOPCNTDQ; `variants ≥ shifts · stride`; `rows` a whole number of rows of
/// `row_words ≥ (planes + 1) · words` words (code planes, then mask).
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(crate) unsafe fn rows_best(
    layout: &Layout,
    variants: &[u64],
    rows: &[u64],
    row_words: usize,
    required: u32,
    ahead: (usize, usize),
    sink: &mut impl RowSink,
) -> bool {
    if !has_best(layout) {
        return false;
    }
    let (cw, w) = (layout.planes * layout.words, layout.words);
    let row_bytes = row_words * 8;
    let req = _mm512_set1_epi64(i64::from(required));
    macro_rules! shifted {
        ($p:literal, $c:literal, $g:expr) => {{
            // SAFETY: same contract as this function; the geometry was matched by `dispatch!`.
            shifted!($p, $c, $g, |code, mask| unsafe {
                totals::<$p, $c, $g>(layout, variants, code, mask)
            })
        }};
        ($p:literal, $c:literal, $g:expr, $totals:expr) => {{
            let ahead = ahead.0 * row_bytes;
            for (i, row) in rows.chunks_exact(row_words).enumerate() {
                prefetch(row.as_ptr().wrapping_byte_add(ahead), row_bytes);
                // `row` holds `cw` code words then `w` mask words.
                let (t, n): ([__m512i; $g], usize) = $totals(&row[..cw], &row[cw..cw + w]);
                let (bn, bd) = sink.bound();
                let (bn, bd) = (
                    _mm512_set1_epi64(i64::from(bn)),
                    _mm512_set1_epi64(i64::from(bd)),
                );
                let mut any = 0;
                for &tg in &t[..n] {
                    any |= within(tg, req, bn, bd);
                }
                if any != 0 {
                    sink.offer(i, select(&t, n, required, $c <= 2));
                }
            }
        }};
    }
    macro_rules! go {
        ($p:literal, $c:literal) => {{
            if layout.shifts == 1 {
                // SAFETY: same contract as this function, geometry matched.
                unsafe {
                    rows_unshifted::<$p, $c>(variants, rows, row_words, required, ahead.1, sink)
                }
            } else if layout.shifts == 25 && $c <= 2 {
                // The unrolled 25-shift totals (variants of `stride = (P + 1) · 8C` words).
                shifted!($p, $c, 4, |code, mask| (
                    totals25::<$p, $c>(variants, code, mask),
                    4
                ))
            } else if layout.shifts.div_ceil(8) == 4 {
                shifted!($p, $c, 4)
            } else {
                shifted!($p, $c, MAX_GROUPS)
            }
        }};
    }
    dispatch!(layout, go);
    true
}

/// The single-shift scan: the probe's shift-(0, 0) variant in registers, eight reference rows
/// per group, their counts reduced together by [`hsum8`] and tested against the sink's bound
/// together; rows `ahead` rows in advance are prefetched.
///
/// # Safety
/// As [`rows_best`], with `layout.planes == P`, `layout.words == 8 · C` and one shift.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
unsafe fn rows_unshifted<const P: usize, const C: usize>(
    variants: &[u64],
    rows: &[u64],
    row_words: usize,
    required: u32,
    ahead: usize,
    sink: &mut impl RowSink,
) {
    assert!(row_words >= (P + 1) * 8 * C);
    let (vcode, vmask) = load_reference::<P, C>(variants, &variants[P * 8 * C..]);
    let n = rows.len() / row_words;
    let base = rows.as_ptr();
    let row_bytes = row_words * 8;
    let req = _mm512_set1_epi64(i64::from(required));
    // SAFETY (the loads): row `i < n` lies inside `rows`; its code planes and mask are its
    // first `(P + 1) · 8C ≤ row_words` words (asserted). Unaligned loads.
    macro_rules! packed {
        ($i:expr) => {{
            let r = base.wrapping_add($i * row_words);
            packed::<P, C>(
                |p, c| unsafe { _mm512_loadu_si512(r.add(p * 8 * C + 8 * c).cast()) },
                |c| unsafe { _mm512_loadu_si512(r.add(P * 8 * C + 8 * c).cast()) },
                &vcode,
                &vmask,
            )
        }};
    }
    let mut i = 0;
    while i < n {
        let t = if i + 8 <= n {
            prefetch(
                base.wrapping_byte_add((i + ahead) * row_bytes),
                8 * row_bytes,
            );
            hsum8([
                packed!(i),
                packed!(i + 1),
                packed!(i + 2),
                packed!(i + 3),
                packed!(i + 4),
                packed!(i + 5),
                packed!(i + 6),
                packed!(i + 7),
            ])
        } else {
            let mut v = [_mm512_setzero_si512(); 8];
            for (j, vj) in v.iter_mut().enumerate().take(n - i) {
                *vj = packed!(i + j);
            }
            hsum8(v)
        };
        let (bn, bd) = sink.bound();
        let mut hits = within(
            t,
            req,
            _mm512_set1_epi64(i64::from(bn)),
            _mm512_set1_epi64(i64::from(bd)),
        );
        if hits != 0 {
            let mut words = [0u64; 8];
            // SAFETY: `words` is 64 bytes; unaligned store.
            unsafe { _mm512_storeu_si512(words.as_mut_ptr().cast(), t) };
            while hits != 0 {
                let j = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                let (num, den) = (words[j] as u32, (words[j] >> 32) as u32);
                sink.offer(i + j, Selector::chosen(num, den, 0, required));
            }
        }
        i += 8;
    }
}

// ---------------------------------------------------------------------------------------------
// Composite-key selection (up to 32 shifts) and the default-geometry kernel.
// ---------------------------------------------------------------------------------------------

/// Bits of a best-shift key ([`best_key`]) below the fraction: `(2047 − den) · 2¹⁹ + index · 2¹⁴
/// + num`.
const KEY_DEN_SHIFT: u32 = 19;
const KEY_INDEX_SHIFT: u32 = 14;
const KEY_NUM_MASK: u32 = (1 << KEY_INDEX_SHIFT) - 1;
const KEY_DEN_MAX: u32 = (1 << (32 - KEY_DEN_SHIFT)) - 1;

/// The best shift of up to 32 (lane `j` of `t[g]` is `num + den · 2³²` of shift `8g + j`, zero
/// past the last shift) as one 64-bit key whose unsigned minimum is the `Selector` order, found
/// with one vector minimum and no branch:
///
/// ```text
/// key = bits(f32(num) / f32(den)) · 2³² + (2047 − den) · 2¹⁹ + index · 2¹⁴ + num
/// ```
///
/// with the fraction `+∞` where `den < required`. Requires `den ≤ 1024` and `num < 2¹⁴` (the
/// [`has_best`] geometries: at most 1 024 cells, at most 8 planes) and at most 32 shifts.
///
/// Why the high half orders exactly like the fractions: `num` and `den` convert to `f32`
/// exactly, a correctly rounded quotient never reverses an order and maps equal fractions to
/// equal values, and two different fractions with denominators `≤ 1024` differ by at least
/// `2⁻²⁰`, at least two `f32` steps anywhere below 8 (steps are `≤ 2⁻²¹` there), so they round to
/// different values (a fraction of exactly 8 is exact, and any other is at most `8 − 2⁻²⁰`). The
/// bit patterns of non-negative `f32` (and `+∞`) order like their values. Equal fractions leave
/// the tie to the low half: the larger overlap, then the smaller index, as `Selector` does.
#[target_feature(enable = "avx512f")]
#[inline]
fn best_key(t: &[__m512i; 4], required: u32) -> u64 {
    // 32-bit elements `2j` / `2j + 1` of group `g` are `num` / `den` of shift `8g + j`.
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    let req = _mm512_set1_epi32(required as i32);
    let inf = _mm512_set1_ps(f32::INFINITY);
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let base = _mm512_set1_epi32((KEY_DEN_MAX << KEY_DEN_SHIFT) as i32);
    // Shifts `16h .. 16h + 16` from groups `2h` and `2h + 1`: the keys as two vectors of eight
    // 64-bit lanes (in some order: the index travels inside the key).
    let half = |x: __m512i, y: __m512i, first: i32| {
        let num = _mm512_permutex2var_epi32(x, even, y);
        let den = _mm512_permutex2var_epi32(x, odd, y);
        let ok = _mm512_cmpge_epu32_mask(den, req);
        // `num`, `den < 2³¹`: the signed conversion is exact.
        let frac = _mm512_mask_div_ps(inf, ok, _mm512_cvtepi32_ps(num), _mm512_cvtepi32_ps(den));
        let frac = _mm512_castps_si512(frac);
        let index = _mm512_slli_epi32::<14>(_mm512_add_epi32(lanes, _mm512_set1_epi32(first)));
        let low = _mm512_sub_epi32(
            _mm512_add_epi32(_mm512_or_si512(base, index), num),
            _mm512_slli_epi32::<19>(den),
        );
        _mm512_min_epu64(
            _mm512_unpacklo_epi32(low, frac),
            _mm512_unpackhi_epi32(low, frac),
        )
    };
    let m = _mm512_min_epu64(half(t[0], t[1], 0), half(t[2], t[3], 16));
    _mm512_reduce_min_epu64(m) as u64
}

/// The selection a [`best_key`] stands for; `None` when no shift had the required overlap.
#[inline]
fn decode_key(key: u64, required: u32) -> Option<Selector> {
    if (key >> 32) as u32 >= f32::INFINITY.to_bits() {
        return None;
    }
    let low = key as u32;
    let den = KEY_DEN_MAX - (low >> KEY_DEN_SHIFT);
    let index = (low >> KEY_INDEX_SHIFT) & ((1 << (KEY_DEN_SHIFT - KEY_INDEX_SHIFT)) - 1);
    Some(Selector::chosen(low & KEY_NUM_MASK, den, index, required))
}

/// Planes, words per plane and shifts of the default geometry and window.
const DEFAULT_PLANES: usize = 3;
const DEFAULT_WORDS: usize = 16;
const DEFAULT_SHIFTS: usize = 25;
/// Words of one prepared variant of the default geometry (3 planes + mask, no padding).
const DEFAULT_STRIDE: usize = (DEFAULT_PLANES + 1) * DEFAULT_WORDS;
/// Words of all prepared variants of the default geometry and window.
pub(crate) const DEFAULT_VARIANT_WORDS: usize = DEFAULT_SHIFTS * DEFAULT_STRIDE;

/// Whether [`best_default`] applies: 3 planes of 16 words (32 × 32 cells) and 25 shifts.
pub(crate) fn is_default(layout: &Layout) -> bool {
    (
        layout.planes,
        layout.words,
        layout.padded,
        layout.stride,
        layout.shifts,
    ) == (
        DEFAULT_PLANES,
        DEFAULT_WORDS,
        DEFAULT_WORDS,
        DEFAULT_STRIDE,
        DEFAULT_SHIFTS,
    )
}

/// `num + den · 2³²` per lane of shift `$s` for `$p` planes of `8 · $c` words (unpadded variants
/// of `($p + 1) · 8$c` words), loading through `$ld` (one [`packed`] instantiation per expansion:
/// each is called once and inlined).
macro_rules! shift25 {
    ($p:tt, $c:tt, $ld:ident, $v:ident, $rc:ident, $rm:ident, $s:expr) => {
        packed::<$p, $c>(
            |p, c| $ld($v, $s * ($p + 1) * 8 * $c + p * 8 * $c + 8 * c),
            |c| $ld($v, $s * ($p + 1) * 8 * $c + $p * 8 * $c + 8 * c),
            &$rc,
            &$rm,
        )
    };
}

/// Eight [`shift25!`] from `$s`, reduced by [`hsum8`].
macro_rules! group25 {
    ($p:tt, $c:tt, $ld:ident, $v:ident, $rc:ident, $rm:ident, $s:expr) => {
        hsum8([
            shift25!($p, $c, $ld, $v, $rc, $rm, $s),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 1),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 2),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 3),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 4),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 5),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 6),
            shift25!($p, $c, $ld, $v, $rc, $rm, $s + 7),
        ])
    };
}

/// The group totals of [`window25`] (as [`totals`] gives them for 25 shifts), as a macro so that
/// they are expanded in place: the kernels around them must not depend on the inliner's
/// heuristics (an out-of-line call returns the four vectors through memory; measured 4 % slower).
/// Panics when the slices are shorter than the layout.
macro_rules! totals25 {
    ($p:tt, $c:tt, $variants:expr, $code:expr, $mask:expr) => {{
        let (variants, code, mask): (&[u64], &[u64], &[u64]) = ($variants, $code, $mask);
        assert!($c <= 2 && variants.len() >= 25 * ($p + 1) * 8 * $c);
        // Eight words from word `i` of `a` (bounds-checked; the offsets are constants once
        // unrolled), unaligned load.
        let ld = |a: &[u64], i: usize| -> __m512i {
            let chunk: &[u64; 8] = a[i..i + 8].try_into().expect("eight words");
            // SAFETY: `chunk` is eight readable words (64 bytes); `loadu` has no alignment need.
            unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) }
        };
        let (rcode, rmask) = load_reference::<$p, $c>(code, mask);
        // The lone 25th shift first, so that its horizontal sum is off the critical path.
        let last = shift25!($p, $c, ld, variants, rcode, rmask, 24);
        let last = _mm512_maskz_set1_epi64(1, _mm512_reduce_add_epi64(last));
        [
            group25!($p, $c, ld, variants, rcode, rmask, 0),
            group25!($p, $c, ld, variants, rcode, rmask, 8),
            group25!($p, $c, ld, variants, rcode, rmask, 16),
            last,
        ]
    }};
}

/// The default geometry and window (see [`is_default`]): [`window25`] with every size known at
/// compile time. Returns the best shift's key (decode with [`decode_default`]). Kept out of line so
/// that callers can inline the `Matcher` entry points around it; the key comes back in a register.
///
/// # Safety
/// The CPU must support AVX-512F and AVX512_VPOPCNTDQ.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline(never)]
pub(crate) unsafe fn best_default(
    variants: &[u64; DEFAULT_VARIANT_WORDS],
    code: &[u64; DEFAULT_PLANES * DEFAULT_WORDS],
    mask: &[u64; DEFAULT_WORDS],
    required: u32,
) -> u64 {
    best_key(
        &totals25!(DEFAULT_PLANES, 2, variants, code, mask),
        required,
    )
}

/// The ±2 × ±2 window (25 shifts) for `P` planes of `8 · C ≤ 16` words (unpadded variants of
/// `(P + 1) · 8C` words): the reference in registers, the 25 shifts unrolled (the lone 25th
/// first, so that its horizontal sum is off the critical path at the end), the best shift as a
/// [`best_key`]. Panics when the slices are shorter than that layout.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
fn window25<const P: usize, const C: usize>(
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> u64 {
    best_key(&totals25!(P, C, variants, code, mask), required)
}

/// [`totals25!`] as a function (the gallery scan).
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
fn totals25<const P: usize, const C: usize>(
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
) -> [__m512i; 4] {
    totals25!(P, C, variants, code, mask)
}

/// [`window25`] for the other [`has_best`] geometries of at most 16 words per plane, out of line
/// and dispatched on the geometry; `None` for the others, or when no shift had the required
/// overlap.
///
/// # Safety
/// As [`best`], with 25 shifts.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline(never)]
unsafe fn best_window25(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Option<Selector> {
    debug_assert!(layout.shifts == 25 && has_best(layout));
    let key = match (layout.planes, layout.words) {
        (3, 16) => window25::<3, 2>(variants, code, mask, required),
        (6, 16) => window25::<6, 2>(variants, code, mask, required),
        (1, 16) => window25::<1, 2>(variants, code, mask, required),
        (2, 16) => window25::<2, 2>(variants, code, mask, required),
        (4, 16) => window25::<4, 2>(variants, code, mask, required),
        (3, 8) => window25::<3, 1>(variants, code, mask, required),
        (6, 8) => window25::<6, 1>(variants, code, mask, required),
        (8, 8) => window25::<8, 1>(variants, code, mask, required),
        _ => return None,
    };
    decode_key(key, required)
}

/// The selection of a [`best_default`] key; `None` when no shift had the required overlap (the
/// caller then takes the general path, which also reports the largest overlap).
#[inline]
pub(crate) fn decode_default(key: u64, required: u32) -> Option<Selector> {
    decode_key(key, required)
}

/// The default geometry's comparison as it was before [`best_default`] (the general
/// [`totals`] and the lane-search selection [`select_lanes`], out of line): a benchmark baseline.
///
/// # Safety
/// As [`best_default`].
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline(never)]
pub(crate) unsafe fn best_default_previous(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Selector {
    assert!(is_default(layout));
    // SAFETY: same contract as this function; the default layout was just asserted.
    let (t, n) = unsafe { totals::<DEFAULT_PLANES, 2, 4>(layout, variants, code, mask) };
    select_lanes(&t, n, required)
}

// ---------------------------------------------------------------------------------------------
// Four words per plane (256 cells, e.g. 16 × 16): 256-bit vectors (AVX-512VL), which Zen 4 runs
// in one pass instead of the two of a 512-bit vector whose upper half would be padding.
// ---------------------------------------------------------------------------------------------

/// Whether [`best_quarter`] covers this layout: four words per plane (padded to eight in the
/// probe variants), three, four or six planes (CompCode, maximum-curvature vein, BOCV), at most
/// [`MAX_GROUPS`] groups of shifts.
pub(crate) fn has_quarter(layout: &Layout) -> bool {
    layout.words == 4
        && layout.padded == 8
        && matches!(layout.planes, 3 | 4 | 6)
        && layout.shifts.div_ceil(8) <= MAX_GROUPS
}

/// The best shift for a [`has_quarter`] layout.
///
/// # Safety
/// As [`scores`], the CPU must also support AVX-512VL, and [`has_quarter`] holds.
#[target_feature(enable = "avx512f,avx512vl,avx512vpopcntdq")]
#[inline(never)]
unsafe fn best_quarter(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    required: u32,
) -> Selector {
    // Four groups of eight shifts (25–32 shifts, the default ±2 × ±2 window) get their own
    // instance: fewer accumulators than `MAX_GROUPS`.
    macro_rules! planes {
        ($p:literal) => {{
            // SAFETY: same contract as this function; plane count matched, group count checked.
            if layout.shifts.div_ceil(8) == 4 {
                let (t, n) = unsafe { totals_quarter::<$p, 4>(layout, variants, code, mask) };
                select(&t, n, required, true)
            } else {
                let (t, n) =
                    unsafe { totals_quarter::<$p, MAX_GROUPS>(layout, variants, code, mask) };
                select(&t, n, required, true)
            }
        }};
    }
    match layout.planes {
        3 => planes!(3),
        4 => planes!(4),
        _ => planes!(6),
    }
}

/// [`totals`] for four words per plane and `P` planes: per shift, `num + den · 2³²` in four
/// 64-bit lanes of a 256-bit vector, zero-extended into the eight-shift reduction [`hsum8`].
///
/// # Safety
/// As [`best_quarter`], with `layout.planes == P` and `⌈shifts / 8⌉ ≤ G`.
#[target_feature(enable = "avx512f,avx512vl,avx512vpopcntdq")]
#[inline]
unsafe fn totals_quarter<const P: usize, const G: usize>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
) -> ([__m512i; G], usize) {
    debug_assert!(layout.planes == P && has_quarter(layout));
    let groups = layout.shifts.div_ceil(8);
    assert!(groups <= G && variants.len() >= layout.shifts * layout.stride);
    assert!(code.len() >= 4 * P && mask.len() >= 4);
    // SAFETY: `code` has at least `4P` words and `mask` at least 4 (asserted); unaligned loads.
    let rmask = unsafe { _mm256_loadu_si256(mask.as_ptr().cast()) };
    let mut rcode = [rmask; P];
    for (p, r) in rcode.iter_mut().enumerate() {
        // SAFETY: as above, plane `p` is words `4p .. 4p + 4`.
        *r = unsafe { _mm256_loadu_si256(code.as_ptr().add(4 * p).cast()) };
    }
    let (stride, base) = (layout.stride, variants.as_ptr());
    // `num + den · 2³²` of shift `s`, per lane, zero-extended to 512 bits.
    let packed = |s: usize| -> __m512i {
        // SAFETY: shift `s < shifts`, so its block of `stride = (P + 1) · 8` words lies inside
        // `variants` (asserted above); plane `p` starts at word `8p` of the block and its first
        // four words are the cells (the rest is padding). Unaligned loads.
        let v = base.wrapping_add(s * stride);
        let vm = unsafe { _mm256_loadu_si256(v.add(8 * P).cast()) };
        let m = _mm256_and_si256(vm, rmask);
        let mut num = _mm256_setzero_si256();
        for (p, &r) in rcode.iter().enumerate() {
            // SAFETY: see above.
            let vc = unsafe { _mm256_loadu_si256(v.add(8 * p).cast()) };
            let x = _mm256_ternarylogic_epi64::<XOR_AND>(vc, r, m);
            num = _mm256_add_epi64(num, _mm256_popcnt_epi64(x));
        }
        let den = _mm256_slli_epi64::<32>(_mm256_popcnt_epi64(m));
        _mm512_zextsi256_si512(_mm256_add_epi64(num, den))
    };
    let zero = _mm512_setzero_si512();
    let mut t = [zero; G];
    for (g, tg) in t.iter_mut().enumerate().take(groups) {
        let s = 8 * g;
        let n = (layout.shifts - s).min(8);
        let mut v = [zero; 8];
        for (j, vj) in v.iter_mut().enumerate().take(n) {
            *vj = packed(s + j);
        }
        *tg = hsum8(v);
    }
    (t, groups)
}
