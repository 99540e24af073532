//! Reading frame pixels for detection: the downscaled channels and full-resolution sampling.

use crate::sensor::{Frame, PixelFormat};

/// Which per-pixel value segmentation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Gray as defined by [`Frame`] (BT.601 luma for visible colour, channel mean for NIR).
    Gray,
    /// Chroma red (skin colour): `Cr = 128 + (128 R − 107 G − 21 B) / 256`, ITU-R BT.601.
    Cr,
}

/// Reads one value of `ch` from the frame at integer pixel `(x, y)` (caller guarantees bounds).
#[inline]
pub(crate) fn value_at(frame: &Frame, ch: Channel, x: usize, y: usize) -> u8 {
    let l = frame.layout();
    let bytes = frame.as_bytes();
    let bpp = l.pixel_format.bytes_per_pixel();
    let i = y * l.stride_bytes + x * bpp;
    let p = &bytes[i..i + bpp];
    let nir = l.spectrum.is_near_infrared();
    let (r, g, b) = match l.pixel_format {
        PixelFormat::Gray8 => return p[0],
        PixelFormat::Gray16 => return crate::sensor::gray16_to_8(u16::from_le_bytes([p[0], p[1]])),
        PixelFormat::Rgb8 | PixelFormat::Rgba8 => (p[0], p[1], p[2]),
        PixelFormat::Bgr8 | PixelFormat::Bgra8 => (p[2], p[1], p[0]),
    };
    match ch {
        Channel::Gray => crate::sensor::rgb_to_gray(r, g, b, nir),
        Channel::Cr => cr(r, g, b),
    }
}

#[inline]
fn cr(r: u8, g: u8, b: u8) -> u8 {
    let v = 128 * 256 + 128 * r as i32 - 107 * g as i32 - 21 * b as i32 + 128;
    (v >> 8).clamp(0, 255) as u8
}

/// Bilinear sample of `ch` at continuous frame position `(x, y)` (pixel centres at integers).
/// `None` outside the frame.
#[inline(always)]
pub(crate) fn bilinear(frame: &Frame, ch: Channel, x: f32, y: f32) -> Option<f32> {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    if !(x >= -0.5 && y >= -0.5 && x <= w - 0.5 && y <= h - 0.5) {
        return None;
    }
    let xc = x.clamp(0.0, w - 1.0);
    let yc = y.clamp(0.0, h - 1.0);
    // xc, yc ≥ 0: truncation is the floor (and needs no libm call without SSE4.1).
    let x0 = xc as usize;
    let y0 = yc as usize;
    let x1 = (x0 + 1).min(frame.width() as usize - 1);
    let y1 = (y0 + 1).min(frame.height() as usize - 1);
    let fx = xc - x0 as f32;
    let fy = yc - y0 as f32;
    let (p00, p10, p01, p11) = if frame.layout().pixel_format == PixelFormat::Gray8 {
        // The common case without per-sample dispatch.
        let stride = frame.layout().stride_bytes;
        let b = frame.as_bytes();
        let (r0, r1) = (&b[y0 * stride..], &b[y1 * stride..]);
        (r0[x0], r0[x1], r1[x0], r1[x1])
    } else {
        let v = |x, y| value_at(frame, ch, x, y);
        (v(x0, y0), v(x1, y0), v(x0, y1), v(x1, y1))
    };
    let top = p00 as f32 * (1.0 - fx) + p10 as f32 * fx;
    let bot = p01 as f32 * (1.0 - fx) + p11 as f32 * fx;
    Some(top * (1.0 - fy) + bot * fy)
}

/// The first implementation of [`bilinear`].
#[cfg(test)]
pub(crate) fn bilinear_reference(frame: &Frame, ch: Channel, x: f32, y: f32) -> Option<f32> {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    if !(x >= -0.5 && y >= -0.5 && x <= w - 0.5 && y <= h - 0.5) {
        return None;
    }
    let xc = x.clamp(0.0, w - 1.0);
    let yc = y.clamp(0.0, h - 1.0);
    let x0 = xc.floor() as usize;
    let y0 = yc.floor() as usize;
    let x1 = (x0 + 1).min(frame.width() as usize - 1);
    let y1 = (y0 + 1).min(frame.height() as usize - 1);
    let fx = xc - x0 as f32;
    let fy = yc - y0 as f32;
    let v = |x, y| value_at(frame, ch, x, y) as f32;
    let top = v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx;
    let bot = v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx;
    Some(top * (1.0 - fy) + bot * fy)
}

/// A downscaled copy of the frame: `f × f` blocks averaged (area averaging), for one or two
/// channels.
pub(crate) struct Small {
    pub(crate) w: usize,
    pub(crate) h: usize,
    /// Integer downscale factor (frame px per small px).
    pub(crate) f: usize,
    pub(crate) gray: Vec<u8>,
    /// Present for visible-light colour frames.
    pub(crate) cr: Option<Vec<u8>>,
}

impl Small {
    /// Downscales so the longest side is at most `max_side` px.
    pub(crate) fn new(frame: &Frame, max_side: usize) -> Small {
        let (fw, fh) = (frame.width() as usize, frame.height() as usize);
        let f = fw.max(fh).div_ceil(max_side.max(1)).max(1);
        let (w, h) = (fw.div_ceil(f), fh.div_ceil(f));
        let with_cr =
            frame.layout().pixel_format.is_colour() && !frame.spectrum().is_near_infrared();
        let mut gray = vec![0u8; w * h];
        let mut cr = if with_cr {
            vec![0u8; w * h]
        } else {
            Vec::new()
        };
        // Column sums of up to `f` rows of 8-bit values fit a u16 while f ≤ 257.
        if f <= 257 {
            downscale::<u16>(frame, f, w, h, &mut gray, with_cr.then_some(&mut cr));
        } else {
            downscale::<u32>(frame, f, w, h, &mut gray, with_cr.then_some(&mut cr));
        }
        let cr = with_cr.then_some(cr);
        Small { w, h, f, gray, cr }
    }

    /// The first (simple) implementation of [`Small::new`], the tests' reference.
    #[cfg(test)]
    pub(crate) fn new_reference(frame: &Frame, max_side: usize) -> Small {
        let (fw, fh) = (frame.width() as usize, frame.height() as usize);
        let f = fw.max(fh).div_ceil(max_side.max(1)).max(1);
        let (w, h) = (fw.div_ceil(f), fh.div_ceil(f));
        let with_cr =
            frame.layout().pixel_format.is_colour() && !frame.spectrum().is_near_infrared();
        let mut gsum = vec![0u32; w * h];
        let mut csum = if with_cr {
            vec![0u32; w * h]
        } else {
            Vec::new()
        };
        let xs: Vec<usize> = (0..fw).map(|x| x / f).collect();
        let mut grow = vec![0u8; fw];
        for y in 0..fh {
            frame.gray_row_into(y as u32, &mut grow);
            let base = (y / f) * w;
            let srow = &mut gsum[base..base + w];
            for (&g, &sx) in grow.iter().zip(&xs) {
                srow[sx] += g as u32;
            }
            if with_cr {
                for (x, &sx) in xs.iter().enumerate() {
                    csum[base + sx] += value_at(frame, Channel::Cr, x, y) as u32;
                }
            }
        }
        // Pixels per block (edge blocks may be partial).
        let cnt_x = |sx: usize| (fw.min((sx + 1) * f) - sx * f) as u32;
        let cnt_y = |sy: usize| (fh.min((sy + 1) * f) - sy * f) as u32;
        let avg = |s: &[u32]| -> Vec<u8> {
            s.iter()
                .enumerate()
                .map(|(i, &s)| {
                    let c = cnt_x(i % w) * cnt_y(i / w);
                    ((s + c / 2) / c.max(1)) as u8
                })
                .collect()
        };
        let gray = avg(&gsum);
        let cr = with_cr.then(|| avg(&csum));
        Small { w, h, f, gray, cr }
    }

    /// Small-image coordinates → frame coordinates (pixel centres).
    pub(crate) fn to_frame(&self, x: f32, y: f32) -> (f32, f32) {
        let f = self.f as f32;
        ((x + 0.5) * f - 0.5, (y + 0.5) * f - 0.5)
    }

    /// Frame coordinates → small-image coordinates.
    pub(crate) fn frame_to_small(&self, x: f32, y: f32) -> (f32, f32) {
        let f = self.f as f32;
        ((x + 0.5) / f - 0.5, (y + 0.5) / f - 0.5)
    }
}

#[inline]
/// The block averages of [`Small::new`] (gray, and Cr when `cr` is given), per small row:
/// column sums (in `A`) of its `f` frame rows, then block sums and rounded averages.
fn downscale<A>(
    frame: &Frame,
    f: usize,
    w: usize,
    h: usize,
    gray: &mut [u8],
    mut cr: Option<&mut Vec<u8>>,
) where
    A: Copy + Default + From<u8> + Into<u32> + std::ops::AddAssign,
{
    let (fw, fh) = (frame.width() as usize, frame.height() as usize);
    let gray8 = frame.layout().pixel_format == PixelFormat::Gray8;
    let with_cr = cr.is_some();
    let mut grow = vec![0u8; fw];
    let mut crow = if with_cr { vec![0u8; fw] } else { Vec::new() };
    let mut gcol = vec![A::default(); fw];
    let mut ccol = if with_cr {
        vec![A::default(); fw]
    } else {
        Vec::new()
    };
    for sy in 0..h {
        let (y0, y1) = (sy * f, fh.min((sy + 1) * f));
        gcol.fill(A::default());
        ccol.fill(A::default());
        for y in y0..y1 {
            if with_cr {
                colour_rows(frame, y, &mut grow, &mut crow);
                add_row(&mut ccol, &crow);
                add_row(&mut gcol, &grow);
            } else if gray8 {
                add_row(&mut gcol, frame.row(y as u32));
            } else {
                frame.gray_row_into(y as u32, &mut grow);
                add_row(&mut gcol, &grow);
            }
        }
        let rows = (y1 - y0) as u32;
        block_averages(&gcol, f, rows, &mut gray[sy * w..(sy + 1) * w]);
        if let Some(cr) = cr.as_deref_mut() {
            block_averages(&ccol, f, rows, &mut cr[sy * w..(sy + 1) * w]);
        }
    }
}

#[inline]
fn add_row<A: Copy + From<u8> + std::ops::AddAssign>(acc: &mut [A], row: &[u8]) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a += A::from(v);
    }
}

/// `out[sx]` = rounded mean of the block `sx` of `f` columns (the last one may be partial)
/// over `rows` rows, from per-column sums: `(sum + c/2) / c` with `c` the block's pixel count.
fn block_averages<A: Copy + Into<u32>>(col: &[A], f: usize, rows: u32, out: &mut [u8]) {
    let v = |a: A| -> u32 { a.into() };
    let full = (col.len() / f).min(out.len());
    let (out_full, out_rest) = out.split_at_mut(full);
    let c = f as u32 * rows;
    match DivU8::new(c) {
        Some(div) => {
            let half = c / 2;
            match f {
                1 => {
                    for (o, &s) in out_full.iter_mut().zip(col) {
                        *o = div.apply(v(s) + half);
                    }
                }
                2 => {
                    for (o, p) in out_full.iter_mut().zip(col.chunks_exact(2)) {
                        *o = div.apply(v(p[0]) + v(p[1]) + half);
                    }
                }
                3 => {
                    for (o, p) in out_full.iter_mut().zip(col.chunks_exact(3)) {
                        *o = div.apply(v(p[0]) + v(p[1]) + v(p[2]) + half);
                    }
                }
                4 => {
                    for (o, p) in out_full.iter_mut().zip(col.chunks_exact(4)) {
                        *o = div.apply(v(p[0]) + v(p[1]) + v(p[2]) + v(p[3]) + half);
                    }
                }
                _ => {
                    for (o, p) in out_full.iter_mut().zip(col.chunks_exact(f)) {
                        *o = div.apply(p.iter().map(|&a| v(a)).sum::<u32>() + half);
                    }
                }
            }
        }
        None => {
            for (o, p) in out_full.iter_mut().zip(col.chunks_exact(f)) {
                *o = div_f64(p.iter().map(|&a| v(a)).sum(), c);
            }
        }
    }
    // The partial last block, if any.
    if let Some(o) = out_rest.first_mut() {
        let p = &col[full * f..];
        *o = div_f64(p.iter().map(|&a| v(a)).sum(), p.len() as u32 * rows);
    }
}

/// `(s + c/2) / c` for a block sum `s ≤ 255 c`, through f64. Exact: `s + c/2` and `c` are
/// integers below 2^53 and the quotient is below 256, so the correctly rounded f64 quotient is
/// within 2^-44 of the true one, while a non-integer quotient lies at least `1/c ≥ 2^-32` from
/// the next integer: truncation gives the floor.
#[inline]
fn div_f64(s: u32, c: u32) -> u8 {
    ((s as u64 + c as u64 / 2) as f64 / c as f64) as u8
}

/// Exact division by a constant `c ≤ 2^16` of numerators `n < 256 c` (so quotients fit a
/// `u8`) as a multiply and shift: with `L = ⌈log2 c⌉`, `k = 24 + L` and `m = ⌈2^k / c⌉`,
/// `⌊n m / 2^k⌋ = ⌊n / c⌋`, because the error `n (m c − 2^k) / (c 2^k) < n / 2^k` stays below
/// `1 / c` when `n c < 2^(8 + 2L) ≤ 2^k`.
#[derive(Debug, Clone, Copy)]
struct DivU8 {
    m: u64,
    k: u32,
}

impl DivU8 {
    fn new(c: u32) -> Option<DivU8> {
        if c == 0 || c > 1 << 16 {
            return None;
        }
        let l = 32 - (c - 1).leading_zeros();
        let k = 24 + l;
        Some(DivU8 {
            m: (1u64 << k).div_ceil(c as u64),
            k,
        })
    }

    #[inline(always)]
    fn apply(self, n: u32) -> u8 {
        ((n as u64 * self.m) >> self.k) as u8
    }
}

/// One frame row of a visible-light colour frame as gray (as [`Frame::gray_row_into`]) and
/// chroma red ([`Channel::Cr`]), in one pass.
fn colour_rows(frame: &Frame, y: usize, gray: &mut [u8], cr_out: &mut [u8]) {
    let l = frame.layout();
    let nir = l.spectrum.is_near_infrared();
    let row = frame.row(y as u32);
    match (l.pixel_format, nir) {
        (PixelFormat::Rgb8, false) => colour_row::<3, 0, 2, false>(row, gray, cr_out),
        (PixelFormat::Rgb8, true) => colour_row::<3, 0, 2, true>(row, gray, cr_out),
        (PixelFormat::Bgr8, false) => colour_row::<3, 2, 0, false>(row, gray, cr_out),
        (PixelFormat::Bgr8, true) => colour_row::<3, 2, 0, true>(row, gray, cr_out),
        (PixelFormat::Rgba8, false) => colour_row::<4, 0, 2, false>(row, gray, cr_out),
        (PixelFormat::Rgba8, true) => colour_row::<4, 0, 2, true>(row, gray, cr_out),
        (PixelFormat::Bgra8, false) => colour_row::<4, 2, 0, false>(row, gray, cr_out),
        (PixelFormat::Bgra8, true) => colour_row::<4, 2, 0, true>(row, gray, cr_out),
        // Not colour: never called for these.
        (PixelFormat::Gray8 | PixelFormat::Gray16, _) => frame.gray_row_into(y as u32, gray),
    }
}

/// [`colour_rows`] for one layout: `BPP` bytes per pixel, red at byte `R`, blue at byte `B`.
#[inline(always)]
fn colour_row<const BPP: usize, const R: usize, const B: usize, const NIR: bool>(
    row: &[u8],
    gray: &mut [u8],
    cr_out: &mut [u8],
) {
    for ((g, c), p) in gray
        .iter_mut()
        .zip(cr_out.iter_mut())
        .zip(row.chunks_exact(BPP))
    {
        let (r, gg, b) = (p[R], p[1], p[B]);
        *g = crate::sensor::rgb_to_gray(r, gg, b, NIR);
        *c = cr(r, gg, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::{FrameLayout, Spectrum};

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The fused downscale equals the simple reference for every format, stride, size,
        /// spectrum and factor (partial edge blocks included); bilinear samples are unchanged.
        #[test]
        fn small_equals_reference(w in 1u32..90, h in 1u32..70, fmt in 0usize..6, pad in 0usize..3,
                                  max_side in 1usize..40, seed: u64, nir: bool) {
            let fmt = [PixelFormat::Gray8, PixelFormat::Gray16, PixelFormat::Rgb8,
                       PixelFormat::Bgr8, PixelFormat::Rgba8, PixelFormat::Bgra8][fmt];
            let stride = w as usize * fmt.bytes_per_pixel() + pad;
            let mut x = seed | 1;
            let data: Vec<u8> = (0..stride * h as usize)
                .map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 })
                .collect();
            let spectrum = if nir { Spectrum::NearInfrared { wavelength_nm: 940 } } else { Spectrum::Visible };
            let layout = FrameLayout { stride_bytes: stride, ..FrameLayout::packed(w, h, fmt, spectrum) };
            let frame = Frame::from_raw(layout, data).unwrap();
            let (a, b) = (Small::new(&frame, max_side), Small::new_reference(&frame, max_side));
            proptest::prop_assert_eq!((a.w, a.h, a.f), (b.w, b.h, b.f));
            proptest::prop_assert_eq!(&a.gray, &b.gray);
            proptest::prop_assert_eq!(&a.cr, &b.cr);
            for ch in [Channel::Gray, Channel::Cr] {
                for k in 0..50u32 {
                    let (px, py) = ((k * 37 % 101) as f32 * w as f32 / 97.0 - 0.7,
                                    (k * 53 % 89) as f32 * h as f32 / 83.0 - 0.6);
                    let want = bilinear_reference(&frame, ch, px, py);
                    let got = bilinear(&frame, ch, px, py);
                    proptest::prop_assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
                }
            }
        }
    }

    #[test]
    fn huge_factors_use_wide_sums() {
        // f > 257: column sums in u32, block sums above 2^16 pixels (f64 division).
        for (w, h, max_side) in [(600u32, 300u32, 1usize), (700, 5, 2), (520, 520, 1)] {
            for fmt in [PixelFormat::Gray8, PixelFormat::Bgr8] {
                let n = w as usize * h as usize * fmt.bytes_per_pixel();
                let data: Vec<u8> = (0..n).map(|i| (i * 7919 % 251) as u8 | 0x80).collect();
                let frame =
                    Frame::from_raw(FrameLayout::packed(w, h, fmt, Spectrum::Visible), data)
                        .unwrap();
                let (a, b) = (
                    Small::new(&frame, max_side),
                    Small::new_reference(&frame, max_side),
                );
                assert!(a.f > 257);
                assert_eq!((a.w, a.h, &a.gray, &a.cr), (b.w, b.h, &b.gray, &b.cr));
            }
        }
    }

    #[test]
    fn magic_division_is_exact() {
        for c in 1..=(1u32 << 16) {
            let d = DivU8::new(c).unwrap();
            let top = 256 * c - 1;
            let mut ns = vec![0, 1, c - 1, c, c + 1, top, top - 1, c / 2, 255 * c + c / 2];
            let step = if c % 97 == 0 { 1 } else { 37 };
            ns.extend(
                (1..256)
                    .step_by(step)
                    .flat_map(|q| [q * c - 1, q * c, q * c + c / 2, q * c + c - 1]),
            );
            for n in ns.into_iter().filter(|&n| n <= top) {
                assert_eq!(d.apply(n) as u32, n / c, "{n} / {c}");
            }
            for s in [0, 1, c / 2, c, 255 * c - 1, 255 * c] {
                assert_eq!(div_f64(s, c) as u32, (s + c / 2) / c, "{s} / {c}");
            }
        }
        assert!(DivU8::new((1 << 16) + 1).is_none());
    }
}
