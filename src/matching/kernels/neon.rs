//! NEON kernel (aarch64): 128-bit logic, `vcntq_u8` byte popcounts summed over the planes, then
//! widened pairwise into 32-bit lanes (`vpaddlq_u8` / `vpadalq_u16`). A plane with an odd number
//! of words finishes with one scalar word.

use std::arch::aarch64::*;

use super::{Layout, ShiftSink};

/// Exact `(num, den)` for every shift.
///
/// # Safety
/// The CPU must support NEON (always true on aarch64 Linux), and the slices must have the lengths
/// described in [`super::run`].
#[target_feature(enable = "neon")]
pub(crate) unsafe fn scores<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    let (planes, words, padded, stride) =
        (layout.planes, layout.words, layout.padded, layout.stride);
    let pairs = words / 2;
    for s in 0..layout.shifts {
        let v = &variants[s * stride..(s + 1) * stride];
        let vp = v.as_ptr();
        let mut num32 = vdupq_n_u32(0);
        let mut den32 = vdupq_n_u32(0);
        for c in 0..pairs {
            // SAFETY: words `2c, 2c + 1 < words` of the reference mask and of the variant mask
            // plane (which has `padded ≥ words` words) are in bounds.
            let (rm, vm) = unsafe {
                (
                    vld1q_u64(mask.as_ptr().add(2 * c)),
                    vld1q_u64(vp.add(planes * padded + 2 * c)),
                )
            };
            let m = vandq_u64(vm, rm);
            let den8 = vcntq_u8(vreinterpretq_u8_u64(m));
            // At most 8 · planes ≤ 128 per byte: no overflow.
            let mut num8 = vdupq_n_u8(0);
            for p in 0..planes {
                // SAFETY: as above for plane `p` of the reference and of the variant.
                let (r, vc) = unsafe {
                    (
                        vld1q_u64(code.as_ptr().add(p * words + 2 * c)),
                        vld1q_u64(vp.add(p * padded + 2 * c)),
                    )
                };
                let x = vandq_u64(veorq_u64(vc, r), m);
                num8 = vaddq_u8(num8, vcntq_u8(vreinterpretq_u8_u64(x)));
            }
            num32 = vpadalq_u16(num32, vpaddlq_u8(num8));
            den32 = vpadalq_u16(den32, vpaddlq_u8(den8));
        }
        let mut num = vaddvq_u32(num32);
        let mut den = vaddvq_u32(den32);
        if words % 2 == 1 {
            let w = words - 1;
            let m = v[planes * padded + w] & mask[w];
            den += m.count_ones();
            for p in 0..planes {
                num += ((v[p * padded + w] ^ code[p * words + w]) & m).count_ones();
            }
        }
        sink.offer(s, num, den);
    }
}
