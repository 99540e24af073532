//! ROI detection against `openpalm::synth` ground truth on a small set (the full figures come
//! from `examples/roi_synth_accuracy`).
//!
//! Issue 5's bounds are FTA ≤ 0.5 %, valley error median ≤ 2 px and 99th percentile ≤ 6 px at
//! 640×480. Measured on 1 000 frames each at any rotation, NIR meets them all (FTA 0.4 %) and
//! so does visible RGB (FTA 0.3 %, p99 6.0 px); visible gray meets the median but not FTA
//! (4.1 %: textured backgrounds as bright as the hand in places still merge with the fingers
//! where the local-contrast cut cannot separate them) nor p99 (7.2 px). This test guards what is
//! achieved, with margin: FTA ≤ 10 % on these small sets, hand side wrong in ≤ 4 %, median
//! ≤ 2 px, 90th percentile ≤ 4 px, 99th percentile ≤ 6 px.
//! Run: `cargo test --release --features synth --test roi_synth -- --nocapture`.

use openpalm::roi::{FullHandDetector, RoiDetector};
use openpalm::synth::{CaptureOptions, Dataset, Generator, HandSide};
use openpalm::{Frame, Spectrum};

fn pct(v: &mut [f32], p: f32) -> f32 {
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f32 * p).round() as usize]
}

fn run(spectrum: &str, ids: std::ops::Range<u64>, samples: u64) {
    let opts = CaptureOptions {
        max_rotation_deg: 180.0,
        color: spectrum == "rgb",
        ..CaptureOptions::default()
    };
    let g = Generator::new(opts).unwrap();
    let det = FullHandDetector::default();
    let (mut n, mut fails, mut wrong_side, mut errs) = (0, Vec::new(), 0, Vec::new());
    for cap in Dataset::new(&g, ids, samples) {
        if !cap.truth.in_frame {
            continue;
        }
        n += 1;
        let frame = match spectrum {
            "nir" => Frame::from_gray8(cap.nir, Spectrum::NearInfrared { wavelength_nm: 850 }),
            "rgb" => Frame::from_rgb8(cap.rgb.unwrap(), Spectrum::Visible),
            _ => Frame::from_gray8(cap.visible, Spectrum::Visible),
        }
        .unwrap();
        match det.detect(&frame) {
            Ok(roi) => {
                if roi.transform.mirrored == matches!(cap.truth.side, HandSide::Right) {
                    wrong_side += 1;
                }
                for (v, t) in roi.landmarks.valleys().iter().zip(cap.truth.valleys) {
                    // synth pixel centres are at i + 0.5, openpalm's at i.
                    errs.push((v.x - (t[0] - 0.5)).hypot(v.y - (t[1] - 0.5)));
                }
            }
            Err(e) => fails.push((cap.truth.identity, cap.truth.sample, e)),
        }
    }
    let (med, p90, p99) = (
        pct(&mut errs, 0.5),
        pct(&mut errs, 0.9),
        pct(&mut errs, 0.99),
    );
    println!(
        "synth {spectrum}: {n} frames, FTA {}, wrong side {wrong_side}, valley error median {med:.2} px, p90 {p90:.2} px, p99 {p99:.2} px",
        fails.len()
    );
    assert!(n >= 20, "too few in-frame captures: {n}");
    // Measured FTA (examples/roi_synth_accuracy, 1 000 frames each): NIR 0.4 %, visible RGB
    // 0.3 %, gray 4.1 %; on these small sets allow at most one frame in ten.
    assert!(
        fails.len() * 10 <= n,
        "{spectrum}: failures to acquire: {fails:?}"
    );
    assert!(
        wrong_side * 25 <= n,
        "{spectrum}: hand side wrong in {wrong_side} of {n}"
    );
    assert!(med <= 2.0, "{spectrum}: median {med}");
    assert!(p90 <= 4.0, "{spectrum}: p90 {p90}");
    assert!(p99 <= 6.0, "{spectrum}: p99 {p99}");
}

#[test]
fn synthetic_nir_any_rotation() {
    run("nir", 1000..1010, 5);
}

#[test]
fn synthetic_visible_gray_any_rotation() {
    run("gray", 2000..2006, 5);
}

#[test]
fn synthetic_visible_rgb_any_rotation() {
    run("rgb", 3000..3006, 5);
}
