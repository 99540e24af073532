//! AVX2 kernel: 256-bit logic, popcount by the nibble lookup table (`vpshufb` on the low and
//! high nibbles of each byte) with byte counters that are folded into 64-bit lanes by `vpsadbw`
//! only every few chunks (before a byte counter could overflow).

use std::arch::x86_64::*;

use super::{Layout, ShiftSink};

/// Exact `(num, den)` for every shift.
///
/// # Safety
/// The CPU must support AVX2, and the slices must have the lengths described in [`super::run`].
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn scores<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    // SAFETY (all calls): same contract as this function; the constant matches `layout.planes`.
    unsafe {
        match layout.planes {
            3 => body(3, layout, variants, code, mask, sink),
            6 => body(6, layout, variants, code, mask, sink),
            p => body(p, layout, variants, code, mask, sink),
        }
    }
}

/// Four words at `p`: a plain unaligned load, or (for a plane's partial last chunk, `partial`) a
/// masked load of the lanes selected by `k`, so that nothing past the plane is read.
///
/// # Safety
/// AVX2; the lanes read (all four, or those selected by `k` when `partial`) are in bounds.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load(p: *const u64, k: __m256i, partial: bool) -> __m256i {
    // SAFETY: per this function's contract. (`vpmaskmovq` is markedly slower than a plain load
    // on some CPUs, hence only for the partial chunk.)
    unsafe {
        if partial {
            _mm256_maskload_epi64(p.cast(), k)
        } else {
            _mm256_loadu_si256(p.cast())
        }
    }
}

/// Per-byte popcount of `v` via the nibble table.
#[target_feature(enable = "avx2")]
#[inline]
fn popcount_bytes(v: __m256i, lut: __m256i, low: __m256i) -> __m256i {
    let lo = _mm256_and_si256(v, low);
    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
    _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
}

/// The kernel; inlined into [`scores`] with `planes` a constant for the common plane counts.
///
/// # Safety
/// As [`scores`]; `planes == layout.planes`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn body<S: ShiftSink>(
    planes: usize,
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    let (words, padded, stride) = (layout.words, layout.padded, layout.stride);
    let chunks = words.div_ceil(4);
    // Lanes of the last chunk that lie inside the plane (high bit set = load the lane).
    let tail_lanes = match words % 4 {
        0 => 4,
        r => r,
    };
    let tail = _mm256_setr_epi64x(
        -1,
        if tail_lanes > 1 { -1 } else { 0 },
        if tail_lanes > 2 { -1 } else { 0 },
        if tail_lanes > 3 { -1 } else { 0 },
    );
    let all = _mm256_set1_epi64x(-1);
    #[rustfmt::skip]
    let lut = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    );
    let low = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    // A byte counter grows by at most 8 · planes per chunk: fold before it could pass 255.
    let flush_every = (255 / (8 * planes)).max(1);
    for s in 0..layout.shifts {
        let v = variants[s * stride..(s + 1) * stride].as_ptr();
        let mut num64 = zero;
        let mut den64 = zero;
        let mut num8 = zero;
        let mut den8 = zero;
        let mut pending = 0;
        for c in 0..chunks {
            let k = if c + 1 == chunks { tail } else { all };
            // SAFETY: lanes selected by `k` are words `4c..min(4c + 4, words)` of the reference
            // mask (in bounds; masked-off lanes are not accessed); the variant chunk lies inside
            // its block of `stride` words and is 32-byte aligned (blocks and planes start at
            // multiples of 8 words in a 64-byte aligned buffer).
            let (rm, vm) = unsafe {
                (
                    load(
                        mask.as_ptr().add(4 * c),
                        k,
                        c + 1 == chunks && tail_lanes < 4,
                    ),
                    _mm256_load_si256(v.add(planes * padded + 4 * c).cast()),
                )
            };
            let m = _mm256_and_si256(vm, rm);
            den8 = _mm256_add_epi8(den8, popcount_bytes(m, lut, low));
            for p in 0..planes {
                // SAFETY: as above for plane `p` of the reference and of the variant.
                let (r, vc) = unsafe {
                    (
                        load(
                            code.as_ptr().add(p * words + 4 * c),
                            k,
                            c + 1 == chunks && tail_lanes < 4,
                        ),
                        _mm256_load_si256(v.add(p * padded + 4 * c).cast()),
                    )
                };
                let x = _mm256_and_si256(_mm256_xor_si256(vc, r), m);
                num8 = _mm256_add_epi8(num8, popcount_bytes(x, lut, low));
            }
            pending += 1;
            if pending == flush_every {
                num64 = _mm256_add_epi64(num64, _mm256_sad_epu8(num8, zero));
                den64 = _mm256_add_epi64(den64, _mm256_sad_epu8(den8, zero));
                num8 = zero;
                den8 = zero;
                pending = 0;
            }
        }
        num64 = _mm256_add_epi64(num64, _mm256_sad_epu8(num8, zero));
        den64 = _mm256_add_epi64(den64, _mm256_sad_epu8(den8, zero));
        let packed = _mm256_add_epi64(num64, _mm256_slli_epi64::<32>(den64));
        let half = _mm_add_epi64(
            _mm256_castsi256_si128(packed),
            _mm256_extracti128_si256::<1>(packed),
        );
        let total =
            (_mm_cvtsi128_si64(half) as u64).wrapping_add(_mm_extract_epi64::<1>(half) as u64);
        sink.offer(s, total as u32, (total >> 32) as u32);
    }
}
