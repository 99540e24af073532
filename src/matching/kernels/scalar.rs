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
        // Word-inner loops over contiguous slices: plain code that a compiler can vectorise.
        let den: u32 = vmask
            .iter()
            .zip(mask)
            .map(|(a, b)| (a & b).count_ones())
            .sum();
        let mut num = 0u32;
        for p in 0..planes {
            let probe = &v[p * padded..p * padded + words];
            let reference = &code[p * words..(p + 1) * words];
            num += probe
                .iter()
                .zip(reference)
                .zip(vmask.iter().zip(mask))
                .map(|((a, b), (ma, mb))| ((a ^ b) & ma & mb).count_ones())
                .sum::<u32>();
        }
        sink.offer(s, num, den);
    }
}
