//! Draws ROI detection results over frames: hand contour (green), finger valleys (red:
//! index–middle, yellow: middle–ring, magenta: ring–little), palm centre (cyan) and the ROI
//! square (blue, near edge thicker), and writes the normalised patches next to them.
//!
//! Run: `cargo run --release --example roi_overlay -- [OUT_DIR] [IMAGE_OR_DIR ...]`
//! Defaults: `OUT_DIR = target/roi_overlay`, inputs = every frame in `../shared/realdev/`
//! (`phone-rgb/*` as visible light, `nir-vein/raw` as 850 nm NIR); set `OPENPALM_REALDEV` to
//! read them from elsewhere.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

#[path = "common/draw.rs"]
mod draw;
use draw::{draw_contour, line, put};
use openpalm::roi::FullHandDetector;
use openpalm::sensor::ImageFileSensor;
use openpalm::{Frame, Spectrum};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .cloned()
            .unwrap_or_else(|| "target/roi_overlay".into()),
    );
    std::fs::create_dir_all(&out)?;
    let mut inputs: Vec<(PathBuf, Spectrum)> = Vec::new();
    if args.len() > 1 {
        for a in &args[1..] {
            // Files under a folder named like "nir…" are near-infrared captures.
            let spectrum = if a.to_ascii_lowercase().contains("nir") {
                Spectrum::NearInfrared { wavelength_nm: 850 }
            } else {
                Spectrum::Visible
            };
            inputs.push((PathBuf::from(a), spectrum));
        }
    } else {
        let root = std::env::var_os("OPENPALM_REALDEV")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realdev"));
        let nir = Spectrum::NearInfrared { wavelength_nm: 850 };
        for (d, s) in [
            ("phone-rgb/tommy", Spectrum::Visible),
            ("phone-rgb/eddy", Spectrum::Visible),
            ("nir-vein/raw", nir),
        ] {
            inputs.push((root.join(d), s));
        }
    }
    let det = FullHandDetector::default();
    let (mut ok, mut total) = (0, 0);
    for (path, spectrum) in inputs {
        let mut sensor = if path.is_dir() {
            ImageFileSensor::from_dir(&path, spectrum)?
        } else {
            ImageFileSensor::from_paths([&path], spectrum)
        };
        while sensor.remaining() > 0 {
            let (p, frame) = match sensor.next_frame() {
                Ok(x) => x,
                Err(e) => {
                    println!("skip: {e}");
                    continue;
                }
            };
            total += 1;
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let t0 = std::time::Instant::now();
            let res = det.detect_unchecked(&frame);
            let dt = t0.elapsed();
            let mut canvas = frame.to_dynamic().into_rgb8();
            if let Ok((mask, f)) = det.hand_mask(&frame) {
                let r = thickness(&canvas) / 2;
                draw_contour(&mut canvas, &mask, f, Rgb([0, 255, 0]), r);
            }
            match &res {
                Ok(roi) => {
                    let accepted = det.config().policy.check(&roi.quality);
                    if accepted.is_ok() {
                        ok += 1;
                    }
                    draw_roi(&mut canvas, roi, &frame);
                    roi.patch.save(out.join(format!("{stem}_patch.png")))?;
                    let q = &roi.quality;
                    println!(
                        "{stem}: {}×{} d={:.1}px inside={:.3} focus={:.3} mean={:.0} mirrored={} {:.2} ms {}",
                        frame.width(),
                        frame.height(),
                        q.valley_distance_px,
                        q.inside_fraction,
                        q.focus,
                        q.mean_gray,
                        roi.transform.mirrored,
                        dt.as_secs_f64() * 1e3,
                        match accepted {
                            Ok(()) => "accepted".to_string(),
                            Err(e) => format!("REJECTED: {e}"),
                        }
                    );
                }
                Err(e) => println!("{stem}: FAILED: {e}"),
            }
            canvas.save(out.join(format!("{stem}_overlay.png")))?;
        }
    }
    println!("acquired {ok}/{total}; overlays in {}", out.display());
    Ok(())
}

fn thickness(img: &RgbImage) -> i32 {
    (img.width().max(img.height()) / 400).max(1) as i32
}

fn draw_roi(img: &mut RgbImage, roi: &openpalm::Roi, _frame: &Frame) {
    let t = thickness(img);
    let c = roi.corners;
    for i in 0..4 {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        line(
            img,
            (a.x, a.y),
            (b.x, b.y),
            Rgb([40, 80, 255]),
            if i == 0 { t + 1 } else { t },
        );
    }
    let lm = &roi.landmarks;
    let colours = [Rgb([255, 0, 0]), Rgb([255, 255, 0]), Rgb([255, 0, 255])];
    for (v, col) in lm.valleys().iter().zip(colours) {
        put(img, v.x, v.y, col, 2 * t + 1);
    }
    put(
        img,
        lm.palm_center.x,
        lm.palm_center.y,
        Rgb([0, 255, 255]),
        2 * t + 1,
    );
}
