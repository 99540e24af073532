//! End to end: a folder of ROI images (procedural line textures written as PNG, BMP-named-.jpg
//! and colour JPEG at other sizes) → dataset scan → parallel extraction → all comparisons →
//! output files.

use std::path::PathBuf;

use openpalm::FeatureExtractor;
use openpalm::eval::dataset::{Dataset, DatasetLimits, SkipReason};
use openpalm::eval::experiment::{self, NonMatedPlan, Progress, RoiFiles};
use openpalm::features::OrientedCodeExtractor;
use openpalm::features::pattern::{PatternKind, line_texture};
use openpalm::matching::MatchConfig;
use openpalm::sensor::Spectrum;

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("openpalm-eval-roi-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The texture as 8-bit gray.
fn gray(identity: u64, sample: u64, side: usize) -> image::GrayImage {
    let roi = line_texture(PatternKind::Crease, side, identity, sample, 3.0);
    let px = roi.pixel_slice();
    image::GrayImage::from_fn(side as u32, side as u32, |x, y| {
        image::Luma([(px[y as usize * side + x as usize].clamp(0.0, 1.0) * 255.0).round() as u8])
    })
}

#[test]
fn roi_folder_end_to_end() {
    let d = temp_dir();
    let root = d.join("rois");
    let (subjects, samples) = (4u64, 3u64);
    for s in 0..subjects {
        let dir = root.join(format!("subject{s}"));
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..samples {
            let g = gray(s + 1, k + 1, 128);
            match k {
                // Plain 128 px PNG.
                0 => g.save(dir.join("0.png")).unwrap(),
                // A BMP named .jpg: the format is detected from the content.
                1 => g
                    .save_with_format(dir.join("1.jpg"), image::ImageFormat::Bmp)
                    .unwrap(),
                // Colour, 192 px, written as TIFF: converted to gray and resampled.
                _ => {
                    let big = image::imageops::resize(
                        &g,
                        192,
                        192,
                        image::imageops::FilterType::Triangle,
                    );
                    image::DynamicImage::ImageLuma8(big)
                        .to_rgb8()
                        .save(dir.join("2.tif"))
                        .unwrap()
                }
            }
        }
    }
    // An unreadable image (failure to acquire) and an ignored text file.
    std::fs::write(root.join("subject0/broken.png"), b"not an image").unwrap();
    std::fs::write(root.join("subject1/notes.txt"), b"x").unwrap();

    let ds = Dataset::scan(&root, &DatasetLimits::default()).unwrap();
    assert_eq!(ds.subjects.len(), 4);
    assert_eq!(ds.image_count(), 13);
    assert_eq!(ds.skipped.len(), 1);
    assert_eq!(ds.skipped[0].reason, SkipReason::NotAnImageExtension);

    let extractor = OrientedCodeExtractor::bocv();
    let entries = experiment::extract_templates(
        &ds,
        &RoiFiles::new(Spectrum::Visible),
        &extractor,
        &Progress::hidden(),
    );
    assert_eq!(entries.len(), 13);
    let failed: Vec<_> = entries.iter().filter(|e| e.template.is_err()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].sample, "subject0/broken.png");
    let reason = failed[0].template.as_ref().unwrap_err();
    assert!(!reason.is_empty());
    for e in entries.iter().filter_map(|e| e.template.as_ref().ok()) {
        assert_eq!(e.algorithm(), extractor.algorithm());
    }

    let r = experiment::run_comparisons(
        &entries,
        &MatchConfig::default(),
        NonMatedPlan::All,
        &Progress::hidden(),
    )
    .unwrap();
    // 12 templates, 4 subjects × 3: mated 4 · 3 = 12, non-mated C(12, 2) − 12 = 54.
    assert_eq!((r.mated_pairs, r.non_mated_pairs), (12, 54));
    assert!(r.rejected.is_empty());
    let mean = |mated: bool| {
        let v: Vec<f64> = r
            .records
            .iter()
            .filter(|x| x.mated == mated)
            .map(|x| x.distance)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (m, nm) = (mean(true), mean(false));
    assert!(m + 0.1 < nm, "mated mean {m} vs non-mated mean {nm}");

    let out = d.join("out");
    let (report, written) = r.write_outputs(&out, "test", "textures").unwrap();
    assert_eq!(report.failures_to_acquire, 1);
    let v = report.verification.as_ref().unwrap();
    assert_eq!(v.acquisition.unwrap().fta(), 1.0 / 13.0);
    let mut names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    let mut want = vec!["fta.csv", "metrics.json", "rejected.csv", "scores.csv"];
    if cfg!(feature = "plot") {
        want.extend(["det.png", "det.svg", "histogram.png", "histogram.svg"]);
    }
    want.sort();
    assert_eq!(names, want);
    for p in &written {
        assert!(std::fs::metadata(p).unwrap().len() > 0, "{}", p.display());
    }
    let fta = std::fs::read_to_string(out.join("fta.csv")).unwrap();
    assert!(
        fta.starts_with("image,reason\nsubject0/broken.png,\""),
        "{fta}"
    );
    let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert_eq!(scores.lines().count(), 2 + 66);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(json["mated_pairs"], 12);
    assert_eq!(json["failures_to_acquire"], 1);
    std::fs::remove_dir_all(&d).unwrap();
}
