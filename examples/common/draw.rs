//! Overlay drawing shared by the ROI examples (`roi_overlay`, `roi_synth_accuracy`): included
//! with `#[path = "common/draw.rs"] mod draw;`.

use image::{GrayImage, Rgb, RgbImage};

/// A `(2r + 1)²` square of colour `c` centred on the pixel nearest to `(x, y)`, clipped to the
/// image.
pub fn put(img: &mut RgbImage, x: f32, y: f32, c: Rgb<u8>, r: i32) {
    let (w, h) = (img.width() as i32, img.height() as i32);
    for dy in -r..=r {
        for dx in -r..=r {
            let (xi, yi) = (x.round() as i32 + dx, y.round() as i32 + dy);
            if xi >= 0 && yi >= 0 && xi < w && yi < h {
                img.put_pixel(xi as u32, yi as u32, c);
            }
        }
    }
}

/// A segment from `a` to `b`, one [`put`] per pixel of length.
pub fn line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), c: Rgb<u8>, r: i32) {
    let n = ((b.0 - a.0).hypot(b.1 - a.1).ceil() as usize).max(1);
    for i in 0..=n {
        let t = i as f32 / n as f32;
        put(img, a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), c, r);
    }
}

/// The outline of a hand mask computed at `1/f` of the frame's resolution: every mask pixel
/// with a 4-neighbour outside the mask (or outside the image), drawn at its frame position.
pub fn draw_contour(img: &mut RgbImage, mask: &GrayImage, f: u32, c: Rgb<u8>, r: i32) {
    let (w, h) = mask.dimensions();
    let on = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < w as i64
            && y < h as i64
            && mask.get_pixel(x as u32, y as u32).0[0] != 0
    };
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            if on(x, y) && !(on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1)) {
                let fx = (x as f32 + 0.5) * f as f32 - 0.5;
                let fy = (y as f32 + 0.5) * f as f32 - 0.5;
                put(img, fx, fy, c, r);
            }
        }
    }
}
