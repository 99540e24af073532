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
#[inline]
pub(crate) fn bilinear(frame: &Frame, ch: Channel, x: f32, y: f32) -> Option<f32> {
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
