//! Writes a contact sheet of synthetic palms: several identities × samples, each as the
//! visible (colour) frame next to the NIR frame, with the ground-truth valley landmarks (red,
//! green, blue crosses: index–middle, middle–ring, ring–little) and the ROI square (yellow)
//! drawn in.
//!
//! ```text
//! cargo run --release --features synth --example synth_gallery -- [OUT.png] [IDENTITIES] [SAMPLES] [TILE_SCALE]
//! ```
//! Defaults: `out/synth_gallery.png`, 4 identities, 3 samples, tiles at 1/2 size.

use image::{Rgb, RgbImage, imageops};
use openpalm::synth::{Background, CaptureOptions, Generator, Identity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .cloned()
        .unwrap_or_else(|| "out/synth_gallery.png".into());
    let n_id: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(4);
    let n_s: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3);
    let div: u32 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let opts = CaptureOptions {
        color: true,
        // Show the scene options now and then.
        ring_probability: 0.3,
        bracelet_probability: 0.2,
        background: Background::TexturedDark,
        ..CaptureOptions::default()
    };
    let generator = Generator::new(opts.clone())?;
    let (w, h) = (opts.width_px / div, opts.height_px / div);
    let gap = 4;
    let sheet_w = n_s as u32 * (2 * w + gap) + gap;
    let sheet_h = n_id as u32 * (h + gap) + gap;
    let mut sheet = RgbImage::from_pixel(sheet_w, sheet_h, Rgb([255, 255, 255]));
    for i in 0..n_id {
        let id = Identity::from_seed(1000 + i);
        for s in 0..n_s {
            let c = generator.capture(&id, s);
            let mut vis = c.rgb.clone().expect("colour requested");
            let mut nir = image::DynamicImage::ImageLuma8(c.nir.clone()).to_rgb8();
            for img in [&mut vis, &mut nir] {
                annotate(img, &c.truth);
            }
            let f = imageops::FilterType::Triangle;
            let vis = imageops::resize(&vis, w, h, f);
            let nir = imageops::resize(&nir, w, h, f);
            let x0 = gap + s as u32 * (2 * w + gap);
            let y0 = gap + i as u32 * (h + gap);
            imageops::replace(&mut sheet, &vis, x0 as i64, y0 as i64);
            imageops::replace(&mut sheet, &nir, (x0 + w) as i64, y0 as i64);
        }
    }
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    sheet.save(&out)?;
    println!("wrote {out} ({sheet_w}×{sheet_h})");
    Ok(())
}

fn annotate(img: &mut RgbImage, t: &openpalm::synth::GroundTruth) {
    let colours = [Rgb([255, 40, 40]), Rgb([40, 255, 40]), Rgb([60, 120, 255])];
    for (v, c) in t.valleys.iter().zip(colours) {
        for k in -6..=6 {
            let k = k as f32;
            put(img, v[0] + k, v[1], c);
            put(img, v[0], v[1] + k, c);
        }
    }
    let yellow = Rgb([255, 220, 0]);
    for e in 0..4 {
        let a = t.roi.corners[e];
        let b = t.roi.corners[(e + 1) % 4];
        let n = ((b[0] - a[0]).hypot(b[1] - a[1]) * 2.0) as usize + 1;
        for j in 0..=n {
            let f = j as f32 / n as f32;
            put(
                img,
                a[0] + (b[0] - a[0]) * f,
                a[1] + (b[1] - a[1]) * f,
                yellow,
            );
        }
    }
}

fn put(img: &mut RgbImage, x: f32, y: f32, c: Rgb<u8>) {
    // Pixel (i, j) covers [i, i+1) × [j, j+1).
    let (xi, yi) = (x.floor() as i64, y.floor() as i64);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
        let (px, py) = (xi + dx, yi + dy);
        if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
            img.put_pixel(px as u32, py as u32, c);
        }
    }
}
