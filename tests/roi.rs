//! ROI detection on drawn hands with known valleys (any rotation, left/right, scale, gradient,
//! noise, texture, rings). Run in release: `cargo test --release --test roi -- --nocapture`.

mod common;

use common::hand::{HandPose, random_pose, render};
use image::GrayImage;
use openpalm::roi::{FullHandDetector, RoiDetector, RoiError};
use openpalm::{Frame, Spectrum};

fn frame(pose: &HandPose) -> (Frame, [(f32, f32); 3]) {
    let (px, gt) = render(pose);
    let img = GrayImage::from_raw(pose.width, pose.height, px).unwrap();
    (
        Frame::from_gray8(img, Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap(),
        gt,
    )
}

fn percentile(v: &mut [f32], p: f32) -> f32 {
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f32 * p).round() as usize]
}

#[test]
fn upright_hand_landmarks_match_ground_truth() {
    let det = FullHandDetector::default();
    for mirrored in [false, true] {
        let pose = HandPose {
            mirrored,
            ..HandPose::default_640()
        };
        let (f, gt) = frame(&pose);
        let roi = det.detect(&f).unwrap();
        assert_eq!(roi.transform.mirrored, mirrored);
        for (v, g) in roi.landmarks.valleys().iter().zip(gt) {
            let e = (v.x - g.0).hypot(v.y - g.1);
            assert!(
                e < 2.5,
                "mirrored={mirrored}: valley {v:?} vs truth {g:?}: {e:.2} px"
            );
        }
        // The transform maps ROI corners to the reported corners.
        let n = roi.patch.width() as f32;
        let c0 = roi.transform.to_frame(nalgebra::Point2::new(0.0, 0.0));
        let c2 = roi.transform.to_frame(nalgebra::Point2::new(n, n));
        assert!((c0 - roi.corners[0]).norm() < 1e-3 && (c2 - roi.corners[2]).norm() < 1e-3);
        let back = roi.transform.to_roi(roi.corners[1]);
        assert!((back.x - n).abs() < 1e-2 && back.y.abs() < 1e-2, "{back:?}");
        assert!(roi.quality.inside_fraction > 0.95, "{:?}", roi.quality);
    }
}

/// FTA and landmark error over random drawn poses (simple hands, so stricter than synth):
/// issue 5's bounds (FTA ≤ 0.5 %, median ≤ 2 px, p99 ≤ 6 px at 640×480) on 120 frames, at most
/// one failure to acquire.
#[test]
fn random_poses_fta_and_landmark_error() {
    let det = FullHandDetector::default();
    let n = 120u64;
    let (mut errs, mut fails, mut wrong_side) = (Vec::new(), Vec::new(), 0);
    for seed in 0..n {
        let pose = random_pose(seed, 640, 480);
        let (f, gt) = frame(&pose);
        match det.detect(&f) {
            Ok(roi) => {
                if roi.transform.mirrored != pose.mirrored {
                    wrong_side += 1;
                }
                for (v, g) in roi.landmarks.valleys().iter().zip(gt) {
                    let e = (v.x - g.0).hypot(v.y - g.1);
                    if e > 6.0 {
                        println!("seed {seed}: valley {v:?} vs truth {g:?} ({e:.1} px)");
                    }
                    errs.push(e);
                }
            }
            Err(e) => fails.push((seed, e)),
        }
    }
    let med = percentile(&mut errs, 0.5);
    let p99 = percentile(&mut errs, 0.99);
    let max = percentile(&mut errs, 1.0);
    println!(
        "drawn hands 640×480: {n} frames, FTA {}/{n}, wrong hand side {wrong_side}, valley error median {med:.2} px, p99 {p99:.2} px, max {max:.2} px; failures {fails:?}",
        fails.len()
    );
    assert!(fails.len() <= 1, "FTA {} of {n}: {fails:?}", fails.len());
    assert_eq!(wrong_side, 0);
    assert!(med <= 2.0, "median {med}");
    assert!(p99 <= 6.0, "p99 {p99}");
}

#[test]
fn large_frame_is_detected_on_a_downscaled_copy() {
    let pose = HandPose {
        width: 3200,
        height: 2400,
        scale_px: 300.0,
        center: (1600.0, 1300.0),
        rotation_deg: 100.0,
        ..HandPose::default_640()
    };
    let (f, gt) = frame(&pose);
    let roi = FullHandDetector::default().detect(&f).unwrap();
    for (v, g) in roi.landmarks.valleys().iter().zip(gt) {
        let e = (v.x - g.0).hypot(v.y - g.1);
        assert!(
            e < 8.0,
            "{e:.2} px at 3200×2400 (0.5 % of the valley distance is ~1.4 px)"
        );
    }
}

#[test]
fn closed_fingers_and_empty_frames_are_typed_errors() {
    let det = FullHandDetector::default();
    let black = Frame::from_gray8(GrayImage::new(640, 480), Spectrum::Visible).unwrap();
    assert!(matches!(det.detect(&black), Err(RoiError::NoHand { .. })));
    // A plain disc: a "hand" without fingers.
    let disc = GrayImage::from_fn(320, 240, |x, y| {
        let d = (x as f32 - 160.0).hypot(y as f32 - 120.0);
        image::Luma([if d < 70.0 { 200 } else { 20 }])
    });
    let f = Frame::from_gray8(disc, Spectrum::Visible).unwrap();
    assert!(matches!(
        det.detect(&f),
        Err(RoiError::TooFewValleys { required: 3, .. })
    ));
    // A hand too small for the policy (valley distance ≈ 62 px, minimum raised to 100 px).
    let mut cfg = openpalm::roi::RoiConfig::default();
    cfg.policy.min_valley_distance_px = 100.0;
    let strict = FullHandDetector::new(cfg).unwrap();
    let (f, _) = frame(&HandPose::default_640());
    match strict.detect(&f) {
        Err(RoiError::PalmTooSmall { width_px, min }) => {
            assert_eq!(min, 100.0);
            assert!((55.0..70.0).contains(&width_px), "{width_px}");
        }
        other => panic!("expected PalmTooSmall, got {:?}", other.map(|r| r.quality)),
    }
}

/// Writes drawn hands as PNGs for `examples/roi_overlay` (`DUMP_HANDS=dir`); ignored by default.
#[test]
#[ignore]
fn dump_drawn_hands() {
    let dir = std::env::var("DUMP_HANDS").unwrap_or_else(|_| "target/drawn_hands".into());
    std::fs::create_dir_all(&dir).unwrap();
    let mut poses = vec![HandPose::default_640()];
    poses.extend([0, 45, 48, 63].map(|s| random_pose(s, 640, 480)));
    for (i, p) in poses.iter().enumerate() {
        let (px, gt) = render(p);
        GrayImage::from_raw(p.width, p.height, px)
            .unwrap()
            .save(format!("{dir}/hand{i:02}.png"))
            .unwrap();
        println!("hand{i:02}: truth {gt:?}");
    }
}
