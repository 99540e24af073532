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
