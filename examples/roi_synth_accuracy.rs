//! ROI detection accuracy against `openpalm::synth` ground truth: failure to acquire (FTA),
//! valley landmark error, ROI corner error, hand-side agreement, and time per frame.
//!
//! Run: `cargo run --release --features synth --example roi_synth_accuracy -- [IDENTITIES] [SAMPLES] [SPECTRUM] [MAX_ROT_DEG]`
//! (defaults 100 × 10 = 1 000 frames, `nir`, 180° = the full circle; SPECTRUM is `nir`, `gray`
//! or `rgb`). Also writes the first 6 frames as PNGs to `target/roi_synth/` for
//! `examples/roi_overlay`.

use image::GrayImage;
use openpalm::roi::{FullHandDetector, RoiDetector};
use openpalm::synth::{CaptureOptions, Dataset, Generator, HandSide};
use openpalm::{Frame, Spectrum};

fn pct(v: &mut [f32], p: f32) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f32 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let ids: u64 = a.first().map_or(Ok(100), |s| s.parse())?;
    let samples: u64 = a.get(1).map_or(Ok(10), |s| s.parse())?;
    let spectrum = a.get(2).cloned().unwrap_or_else(|| "nir".into());
    let rot: f32 = a.get(3).map_or(Ok(180.0), |s| s.parse())?;
    let opts = CaptureOptions {
        max_rotation_deg: rot,
        color: spectrum == "rgb",
        ..CaptureOptions::default()
    };
    let gen_ = Generator::new(opts)?;
    let det = FullHandDetector::default();
    std::fs::create_dir_all("target/roi_synth")?;
    let (mut n, mut fails, mut wrong_side, mut skipped) = (0, Vec::new(), 0, 0);
    let (mut lm_err, mut corner_err, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for cap in Dataset::new(&gen_, 0..ids, samples) {
        if !cap.truth.in_frame {
            skipped += 1;
            continue;
        }
        let frame = match spectrum.as_str() {
            "nir" => Frame::from_gray8(
                cap.nir.clone(),
                Spectrum::NearInfrared { wavelength_nm: 850 },
            )?,
            "rgb" => Frame::from_rgb8(cap.rgb.clone().expect("color on"), Spectrum::Visible)?,
            _ => Frame::from_gray8(cap.visible.clone(), Spectrum::Visible)?,
        };
        if n < 6 {
            let g: GrayImage = frame.to_gray8();
            g.save(format!("target/roi_synth/synth_{spectrum}_{n}.png"))?;
        }
        n += 1;
        let t0 = std::time::Instant::now();
        let res = det.detect(&frame);
        times.push(t0.elapsed().as_secs_f32() * 1e3);
        match res {
            Ok(roi) => {
                // synth puts pixel centres at i + 0.5, openpalm at integers.
                let sh = |p: [f32; 2]| (p[0] - 0.5, p[1] - 0.5);
                for (v, t) in roi.landmarks.valleys().iter().zip(cap.truth.valleys) {
                    let t = sh(t);
                    let e = (v.x - t.0).hypot(v.y - t.1);
                    if e > 6.0 && std::env::var_os("VERBOSE").is_some() {
                        let tr = &cap.truth;
                        println!(
                            "  id {} sample {}: error {e:.1} px, defocus {:.1}, motion {:?}, spread {:.2}, {:?}",
                            tr.identity,
                            tr.sample,
                            tr.defocus_sigma_px,
                            tr.motion_blur_px,
                            tr.finger_spread,
                            tr.accessories
                        );
                        frame.to_gray8().save(format!(
                            "target/roi_synth/bad_{}_{}.png",
                            tr.identity, tr.sample
                        ))?;
                        println!("    truth {:?}", tr.valleys);
                    }
                    lm_err.push(e);
                }
                let mut ce = 0.0f32;
                for (c, t) in roi.corners.iter().zip(cap.truth.roi.corners) {
                    let t = sh(t);
                    ce = ce.max((c.x - t.0).hypot(c.y - t.1));
                }
                corner_err.push(ce);
                let right = matches!(cap.truth.side, HandSide::Right);
                if roi.transform.mirrored == right {
                    wrong_side += 1;
                    if std::env::var_os("VERBOSE").is_some() {
                        let tr = &cap.truth;
                        println!(
                            "  wrong side: id {} sample {} rot {:.0} spread {:.2} {:?}",
                            tr.identity,
                            tr.sample,
                            tr.rotation_deg,
                            tr.finger_spread,
                            tr.accessories
                        );
                        frame.to_gray8().save(format!(
                            "target/roi_synth/side_{}_{}.png",
                            tr.identity, tr.sample
                        ))?;
                    }
                }
            }
            Err(e) => fails.push((cap.truth.identity, cap.truth.sample, e.to_string())),
        }
    }
    println!(
        "{n} frames ({spectrum}, rotation ±{rot}°, {skipped} skipped: truth outside the frame)\n\
         FTA: {}/{n} = {:.2} %\n\
         wrong hand side: {wrong_side}\n\
         valley error (px): median {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}\n\
         ROI worst-corner error (px): median {:.2}, p99 {:.2}\n\
         time per frame (ms, 1 thread, this machine): median {:.2}",
        fails.len(),
        100.0 * fails.len() as f32 / n.max(1) as f32,
        pct(&mut lm_err.clone(), 0.5),
        pct(&mut lm_err.clone(), 0.9),
        pct(&mut lm_err.clone(), 0.99),
        pct(&mut lm_err, 1.0),
        pct(&mut corner_err.clone(), 0.5),
        pct(&mut corner_err, 0.99),
        pct(&mut times, 0.5),
    );
    for f in fails.iter().take(15) {
        println!("  FTA identity {} sample {}: {}", f.0, f.1, f.2);
    }
    Ok(())
}
