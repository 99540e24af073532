//! ROI acquisition on the real development frames in `../shared/realdev/` (phone photos and
//! contactless NIR vein frames). Skipped, with a printed reason, when the folder is absent;
//! `OPENPALM_REALDEV` points elsewhere. Run: `cargo test --release --test realdev -- --nocapture`.

use std::path::PathBuf;

use openpalm::Spectrum;
use openpalm::roi::{FullHandDetector, RoiDetector};
use openpalm::sensor::ImageFileSensor;

fn root() -> PathBuf {
    std::env::var_os("OPENPALM_REALDEV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdev")))
}

#[test]
fn every_real_frame_is_acquired_with_landmarks_on_the_finger_gaps() {
    let root = root();
    if !root.is_dir() {
        println!(
            "SKIPPED: real development frames not found at {}",
            root.display()
        );
        return;
    }
    let det = FullHandDetector::default();
    let nir = Spectrum::NearInfrared { wavelength_nm: 850 };
    let mut n = 0;
    for (dir, spectrum) in [
        ("phone-rgb/tommy", Spectrum::Visible),
        ("phone-rgb/eddy", Spectrum::Visible),
        ("nir-vein/raw", nir),
    ] {
        let mut s = ImageFileSensor::from_dir(root.join(dir), spectrum).unwrap();
        while s.remaining() > 0 {
            let (path, frame) = s.next_frame().unwrap();
            n += 1;
            let roi = det
                .detect(&frame)
                .unwrap_or_else(|e| panic!("{}: failed to acquire: {e}", path.display()));
            // Each valley lies on the hand contour: its neighbourhood in the hand mask holds
            // both hand and background. Where fingers touch near their bases (NIR), the valley
            // follows the dark seam between them beyond the mask's gap, by up to 0.4 R.
            let (mask, f) = det.hand_mask(&frame).unwrap();
            let reach = ((0.4 * roi.landmarks.palm_radius_px / f as f32).round() as i64 + 1).max(3);
            for v in roi.landmarks.valleys() {
                let (cx, cy) = (
                    (v.x / f as f32).round() as i64,
                    (v.y / f as f32).round() as i64,
                );
                let (mut fg, mut bg) = (0, 0);
                for dy in -reach..=reach {
                    for dx in -reach..=reach {
                        let (x, y) = (cx + dx, cy + dy);
                        if x >= 0 && y >= 0 && x < mask.width() as i64 && y < mask.height() as i64 {
                            if mask.get_pixel(x as u32, y as u32).0[0] != 0 {
                                fg += 1;
                            } else {
                                bg += 1;
                            }
                        }
                    }
                }
                assert!(
                    fg > 0 && bg > 0,
                    "{}: valley {v:?} is not on the contour",
                    path.display()
                );
            }
            // Valleys in order along the k1→k2 axis, with the middle one between the others.
            let [a, b, c] = roi.landmarks.valleys();
            let u = (c - a).normalize();
            let t = (b - a).dot(&u) / (c - a).norm();
            assert!(
                (0.15..0.85).contains(&t),
                "{}: middle valley at {t:.2} along k1k2",
                path.display()
            );
            // The ROI is a palm-sized square: valley distance vs palm radius.
            let q = roi.quality;
            let ratio = q.valley_distance_px / q.palm_radius_px;
            assert!(
                (0.8..2.5).contains(&ratio),
                "{}: d / R = {ratio:.2}",
                path.display()
            );
            println!(
                "{}: d = {:.0} px, R = {:.0} px, mirrored = {}, inside = {:.2}",
                path.file_name().unwrap().to_string_lossy(),
                q.valley_distance_px,
                q.palm_radius_px,
                roi.transform.mirrored,
                q.inside_fraction
            );
        }
    }
    assert_eq!(n, 18, "expected the 18 development frames");
}
