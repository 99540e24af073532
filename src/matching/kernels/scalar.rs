//! The scalar reference kernel: plain loops over shifts, words and planes with
//! `u64::count_ones`. Obviously correct; every SIMD kernel is tested against it bit for bit.

use super::{Layout, ShiftSink};

/// Exact `(num, den)` for every shift; see the module documentation of `kernels`.
#[inline]
pub(crate) fn scores<S: ShiftSink>(
    layout: &Layout,
    variants: &[u64],
    code: &[u64],
    mask: &[u64],
    sink: &mut S,
) {
    let (planes, words, padded) = (layout.planes, layout.words, layout.padded);
    for s in 0..layout.shifts {
        let v = &variants[s * layout.stride..(s + 1) * layout.stride];
        let vmask = &v[planes * padded..planes * padded + words];
        let mut num = 0u32;
        let mut den = 0u32;
        for w in 0..words {
            let m = vmask[w] & mask[w];
            den += m.count_ones();
            for p in 0..planes {
                num += ((v[p * padded + w] ^ code[p * words + w]) & m).count_ones();
            }
        }
        sink.offer(s, num, den);
    }
}
