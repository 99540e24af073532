//! AVX-512 kernel: 512-bit `vpternlogq` for `(probe ⊕ reference) ∧ mask` and `vpopcntq`
//! (AVX512_VPOPCNTDQ) for the counts, eight words per instruction.
//!
//! Per shift the numerator and denominator are accumulated in 64-bit lanes, packed into one
//! vector (`num + den · 2³²`, both far below 2³²) and reduced horizontally once. For the common
//! geometries (exactly 8 or 16 words per plane, i.e. 512 or 1 024 cells, with 1–8 planes) the
//! reference is loaded into registers once and stays there for all shifts; other geometries use the
//! general loop, which reads the reference from L1 and the last partial chunk of each plane with
//! masked loads.

#![allow(clippy::needless_range_loop)] // index loops mirror the data layout in the SAFETY notes

use std::arch::x86_64::*;

use super::{Layout, ShiftSink};

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
    let mut rcode = [[_mm512_setzero_si512(); C]; P];
    let mut rmask = [_mm512_setzero_si512(); C];
    for c in 0..C {
        // SAFETY: `mask` has `8 · C` words, so words `8c..8c + 8` are in bounds; unaligned load.
        rmask[c] = unsafe { _mm512_loadu_si512(mask.as_ptr().add(8 * c).cast()) };
        for p in 0..P {
            // SAFETY: `code` has `P · 8C` words; plane `p`, chunk `c` is in bounds.
            rcode[p][c] =
                unsafe { _mm512_loadu_si512(code.as_ptr().add(p * 8 * C + 8 * c).cast()) };
        }
    }
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
