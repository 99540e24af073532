//! The folder path and the in-process synthetic path give the same scores: a synthetic set is
//! exported as lossless PNG, evaluated with `--images`-style frame acquisition (decode → ROI
//! detection → features), and compared with the same set generated in process. Run it with
//! `cargo test --release --features synth --test eval_synthetic_folder`.

use openpalm::eval::dataset::{Dataset, DatasetLimits};
use openpalm::eval::experiment::{self, NonMatedPlan, Progress};
use openpalm::eval::frames::{self, DetectedRoi, SyntheticChannelKind, SyntheticSet};
use openpalm::features::OrientedCodeExtractor;
use openpalm::matching::MatchConfig;
use openpalm::sensor::Spectrum;

fn check(channel: SyntheticChannelKind, spectrum: Spectrum, extractor: OrientedCodeExtractor) {
    let (n, m) = (6, 3);
    let dir = std::env::temp_dir().join(format!(
        "openpalm-synth-folder-{}-{channel:?}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let set = SyntheticSet::new(n, m).unwrap();
    let hidden = Progress::hidden();
    assert_eq!(set.export(&dir, channel, &hidden).unwrap(), 18);

    let acquire = DetectedRoi::new(spectrum);
    let (in_process, lm_in) = set.extract_templates(channel, &acquire, &extractor, &hidden);
    let ds = Dataset::scan(&dir, &DatasetLimits::default()).unwrap();
    assert_eq!((ds.subjects.len(), ds.image_count()), (6, 18));
    let (folder, lm_folder) = frames::extract_frame_templates(&ds, &acquire, &extractor, &hidden);

    // Same samples, same order, same templates (or the same failure reasons).
    assert_eq!(in_process, folder);
    assert_eq!(lm_in, lm_folder);
    // The detector finds most synthetic hands (default capture options).
    let acquired = in_process.iter().filter(|e| e.template.is_ok()).count();
    assert!(acquired >= 15, "only {acquired} of 18 acquired");
    assert_eq!(lm_in.len(), acquired);

    let cfg = MatchConfig::default();
    let a = experiment::run_comparisons(&in_process, &cfg, NonMatedPlan::All, &hidden).unwrap();
    let b = experiment::run_comparisons(&folder, &cfg, NonMatedPlan::All, &hidden).unwrap();
    // Exactly the same distances (PNG is lossless).
    assert_eq!(a.records, b.records);
    assert!(a.records.iter().any(|r| r.mated) && a.records.iter().any(|r| !r.mated));
    let (ra, rb) = (a.report("x"), b.report("x"));
    let (va, vb) = (ra.verification.unwrap(), rb.verification.unwrap());
    assert_eq!(va.eer, vb.eer);
    // Mated pairs are closer than non-mated ones on average.
    assert!(ra.mated.unwrap().mean < ra.non_mated.unwrap().mean);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn crease_folder_equals_in_process() {
    check(
        SyntheticChannelKind::Visible,
        Spectrum::Visible,
        OrientedCodeExtractor::bocv(),
    );
}

#[test]
fn vein_folder_equals_in_process() {
    check(
        SyntheticChannelKind::NearInfrared,
        Spectrum::NearInfrared { wavelength_nm: 850 },
        OrientedCodeExtractor::vein_bocv(),
    );
}

/// Colour (RGB PNG), gray and NIR frame files are all acquired, and the landmarks agree with
/// the generator's ground truth (which puts pixel centres at `i + ½`, openpalm at integers).
#[test]
fn colour_gray_and_nir_files_are_acquired_at_the_true_valleys() {
    use openpalm::synth::{CaptureOptions, Generator, Identity};
    let generator = Generator::new(CaptureOptions {
        color: true,
        ..CaptureOptions::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("openpalm-synth-colour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Per channel (rgb, gray, nir): worst-valley error of each acquired frame, and FTAs.
    let mut errors = [Vec::new(), Vec::new(), Vec::new()];
    let mut failures = [0; 3];
    for seed in 10u64..16 {
        let cap = generator.capture(&Identity::from_seed(seed), 0);
        let rgb = dir.join(format!("{seed}_rgb.png"));
        let gray = dir.join(format!("{seed}_gray.png"));
        let nir = dir.join(format!("{seed}_nir.png"));
        cap.rgb.as_ref().unwrap().save(&rgb).unwrap();
        cap.visible.save(&gray).unwrap();
        cap.nir.save(&nir).unwrap();
        let truth = cap.truth.valleys;
        for (c, (path, spectrum)) in [
            (&rgb, Spectrum::Visible),
            (&gray, Spectrum::Visible),
            (&nir, Spectrum::NearInfrared { wavelength_nm: 850 }),
        ]
        .into_iter()
        .enumerate()
        {
            match DetectedRoi::new(spectrum).acquire_with_landmarks(path, 128) {
                Ok((roi, [im, rl])) => {
                    assert_eq!(roi.side(), 128);
                    let err =
                        |p: [f32; 2], t: [f32; 2]| (p[0] - (t[0] - 0.5)).hypot(p[1] - (t[1] - 0.5));
                    errors[c].push(err(im, truth[0]).max(err(rl, truth[2])));
                }
                Err(e) => {
                    // A typed detector (or quality) reason, never a decoding problem.
                    assert!(matches!(e, openpalm::Error::Roi(_)), "{e}");
                    failures[c] += 1;
                }
            }
        }
    }
    for (c, name) in ["rgb", "gray", "nir"].into_iter().enumerate() {
        let e = &mut errors[c];
        assert!(e.len() >= 4, "{name}: only {} of 6 acquired", e.len());
        assert_eq!(e.len() + failures[c], 6);
        e.sort_by(f32::total_cmp);
        let median = e[e.len() / 2];
        assert!(
            median < 3.0,
            "{name}: median worst-valley error {median} px ({e:?})"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--modality fused`: the `_vis` / `_nir` folder written by the generator and the in-process
/// pairs give the same templates, landmarks, fused scores and EER; the fusion parameters come
/// from the development half and every figure from the other half.
#[test]
fn fused_folder_equals_in_process() {
    use openpalm::eval::frames::ExtractorPair;
    use openpalm::eval::fusion::{self, FusionParameters};
    use openpalm::features::MaxCurvatureVein;
    let (n, m) = (12, 4);
    let dir = std::env::temp_dir().join(format!("openpalm-synth-fused-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let set = SyntheticSet::new(n, m).unwrap();
    let hidden = Progress::hidden();
    assert_eq!(set.export_fused(&dir, &hidden).unwrap(), 96);
    let acquire = [
        DetectedRoi::new(Spectrum::Visible),
        DetectedRoi::new(Spectrum::NearInfrared { wavelength_nm: 850 }),
    ];
    let make = || -> ExtractorPair {
        [
            Box::new(OrientedCodeExtractor::bocv()),
            Box::new(MaxCurvatureVein::default()),
        ]
    };
    let (in_process, lm_in) = set.extract_fused_templates(&acquire, &make, &hidden);
    let ds = Dataset::scan(&dir, &DatasetLimits::default()).unwrap();
    let (pairs, unused) = fusion::pair_frames(&ds);
    assert!(unused.is_empty(), "{unused:?}");
    assert_eq!(pairs.len(), 48);
    let (folder, lm_folder) =
        frames::extract_fused_frame_templates(&pairs, &acquire, &make, &hidden);
    assert_eq!(in_process, folder);
    assert_eq!(lm_in, lm_folder);
    // Landmarks of both frames: one row per acquired frame.
    let acquired_frames: usize = folder
        .iter()
        .map(|e| e.templates.iter().filter(|t| t.is_ok()).count())
        .sum();
    assert!(
        acquired_frames >= 88,
        "only {acquired_frames} of 96 frames acquired"
    );
    assert!(lm_folder.iter().any(|r| r.image.ends_with("_vis.png")));
    assert!(lm_folder.iter().any(|r| r.image.ends_with("_nir.png")));

    let cfg = MatchConfig::default();
    let run = |e| {
        fusion::run_fused(
            e,
            &cfg,
            NonMatedPlan::All,
            FusionParameters::Development,
            &hidden,
        )
        .unwrap()
    };
    let (a, b) = (run(&in_process), run(&folder));
    assert_eq!(a.result.records, b.result.records);
    assert_eq!(a.parameters, b.parameters);
    assert_eq!(
        (a.report.development_subjects, a.report.evaluation_subjects),
        (6, 6)
    );
    // Only evaluation subjects (s00006..s00011) are scored.
    assert!(
        a.result
            .records
            .iter()
            .all(|r| r.probe.as_str() >= "s00006" && r.reference.as_str() >= "s00006")
    );
    let (ra, rb) = (a.result.report("x"), b.result.report("x"));
    let (va, vb) = (ra.verification.unwrap(), rb.verification.unwrap());
    assert_eq!(va.eer, vb.eer);
    // Fusion separates at least as well as the better single modality on the same pairs (a
    // tolerance of one mated pair: 6 subjects × 6 mated pairs).
    let best_single = a
        .report
        .per_modality
        .iter()
        .filter_map(|r| r.eer)
        .fold(1.0f64, f64::min);
    assert!(
        va.eer.eer <= best_single + 1.0 / 36.0,
        "fused EER {} vs best single {best_single}",
        va.eer.eer
    );
    let _ = std::fs::remove_dir_all(&dir);
}
