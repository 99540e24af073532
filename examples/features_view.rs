//! Writes a PNG showing an ROI next to its code planes and its vein map.
//!
//! ```text
//! cargo run --release --example features_view [-- INPUT_IMAGE [OUTPUT.png]]
//! ```
//!
//! `INPUT_IMAGE` is any image file; it is converted to gray and resized to the 128 × 128 ROI
//! and used for both rows. Without it, a procedural crease texture (rows 1–2) and a procedural
//! vein texture (row 3) are drawn (`features::pattern`, not real palms). Output:
//! `features_view.png` unless given.
//!
//! Layout (each panel 128 × 128 px; code planes upscaled to the panel, one block per cell; masked cells blue-grey):
//! 1. crease ROI · CompCode planes 0–2 · CompCode orientation (colour per 30° bin)
//! 2. BOCV planes 0–5
//! 3. vein ROI · binarised maximum-curvature vein map · G (√-scaled) · vein code planes 0–3

use image::{Rgb, RgbImage, imageops};
use openpalm::features::pattern::{PatternKind, line_texture};
use openpalm::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor, RoiImage};
use openpalm::{PalmTemplate, Result};

const P: u32 = 128;
const GAP: u32 = 6;
const MASKED: Rgb<u8> = Rgb([70, 80, 120]);

fn panel_pos(col: u32, row: u32) -> (u32, u32) {
    (GAP + col * (P + GAP), GAP + row * (P + GAP))
}

fn draw_gray(out: &mut RgbImage, col: u32, row: u32, f: impl Fn(u32, u32) -> u8) {
    let (x0, y0) = panel_pos(col, row);
    for y in 0..P {
        for x in 0..P {
            let v = f(x, y);
            out.put_pixel(x0 + x, y0 + y, Rgb([v, v, v]));
        }
    }
}

fn draw_cells(
    out: &mut RgbImage,
    col: u32,
    row: u32,
    t: &PalmTemplate,
    f: impl Fn(usize, usize) -> Rgb<u8>,
) {
    let g = t.geometry();
    let (x0, y0) = panel_pos(col, row);
    for y in 0..P {
        for x in 0..P {
            let (r, c) = (
                (y as usize * g.rows()) / P as usize,
                (x as usize * g.cols()) / P as usize,
            );
            let px = if t.is_valid(r, c) { f(r, c) } else { MASKED };
            out.put_pixel(x0 + x, y0 + y, px);
        }
    }
}

fn draw_plane(out: &mut RgbImage, col: u32, row: u32, t: &PalmTemplate, plane: usize) {
    draw_cells(out, col, row, t, |r, c| {
        if t.bit(plane, r, c) {
            Rgb([255, 255, 255])
        } else {
            Rgb([0, 0, 0])
        }
    });
}

fn roi_byte(roi: &RoiImage, x: u32, y: u32) -> u8 {
    (roi.pixels()[[y as usize, x as usize]].clamp(0.0, 1.0) * 255.0).round() as u8
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let output = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "features_view.png".into());
    let (crease_roi, vein_roi) = match args.first() {
        Some(path) => {
            // Guess the format from the bytes: some files carry the wrong extension.
            let img = image::ImageReader::open(path)?
                .with_guessed_format()?
                .decode()
                .map_err(|e| std::io::Error::other(format!("{path}: {e}")))?
                .to_luma8();
            let img = imageops::resize(&img, P, P, imageops::FilterType::Triangle);
            let roi = RoiImage::from_gray(&img, None)?;
            (roi.clone(), roi)
        }
        None => (
            line_texture(PatternKind::Crease, 128, 3, 0, 0.0),
            line_texture(PatternKind::Vein, 128, 3, 0, 0.0),
        ),
    };

    let comp = OrientedCodeExtractor::comp_code().extract(&crease_roi)?;
    let bocv = OrientedCodeExtractor::bocv().extract(&crease_roi)?;
    let mut mc = MaxCurvatureVein::default();
    let vein = mc.extract(&vein_roi)?;

    let mut out = RgbImage::from_pixel(
        GAP + 7 * (P + GAP),
        GAP + 3 * (P + GAP),
        Rgb([255, 255, 255]),
    );
    // Row 1: crease ROI, CompCode planes and orientation.
    draw_gray(&mut out, 0, 0, |x, y| roi_byte(&crease_roi, x, y));
    for p in 0..3 {
        draw_plane(&mut out, 1 + p as u32, 0, &comp, p);
    }
    const ORIENT: [Rgb<u8>; 6] = [
        Rgb([230, 25, 75]),
        Rgb([245, 130, 48]),
        Rgb([255, 225, 25]),
        Rgb([60, 180, 75]),
        Rgb([0, 130, 200]),
        Rgb([145, 30, 180]),
    ];
    draw_cells(&mut out, 4, 0, &comp, |r, c| {
        let b = [comp.bit(0, r, c), comp.bit(1, r, c), comp.bit(2, r, c)];
        let i = (0..6)
            .find(|&i| (0..3).all(|k| (i > k && i <= k + 3) == b[k]))
            .unwrap_or(0);
        ORIENT[i]
    });
    // Row 2: BOCV planes.
    for p in 0..6 {
        draw_plane(&mut out, p as u32, 1, &bocv, p);
    }
    // Row 3: vein ROI, vein map, G, vein code planes.
    draw_gray(&mut out, 0, 2, |x, y| roi_byte(&vein_roi, x, y));
    let map = mc.last_vein_map();
    draw_gray(&mut out, 1, 2, |x, y| {
        if map[(y * P + x) as usize] { 255 } else { 0 }
    });
    let g = mc.last_g();
    let gmax = g.iter().copied().fold(0.0, f64::max).max(1e-12);
    draw_gray(&mut out, 2, 2, |x, y| {
        ((g[(y * P + x) as usize] / gmax).sqrt() * 255.0) as u8
    });
    for p in 0..4 {
        draw_plane(&mut out, 3 + p as u32, 2, &vein, p);
    }
    out.save(&output)
        .map_err(|e| std::io::Error::other(format!("{output}: {e}")))?;
    println!(
        "wrote {output}: CompCode {} valid cells, BOCV {}, vein {} ({} vein pixels)",
        comp.valid_cells(),
        bocv.valid_cells(),
        vein.valid_cells(),
        map.iter().filter(|&&v| v).count()
    );
    Ok(())
}
