//! Full-pipeline accuracy (generator → ROI detection → features → matcher → fusion) on a small
//! synthetic set: 12 identities × 4 samples, all pairs; development split = identities 0..6,
//! evaluation split = identities 6..12 (36 mated, 240 non-mated pairs).
//!
//! Meant for `--release` (a few seconds there):
//! `cargo test --release --features synth --test accuracy_synthetic -- --nocapture`.
//!
//! Bounds are loose versions of what was measured on this exact set (2026-12-04, detected ROI):
//! every extractor had EER 0 %, non-mated mean 0.42–0.47 with σ 0.010–0.018, mated mean
//! 0.15–0.30 with σ 0.022–0.045, so the gap μ_nm − μ_m was ≥ 4.7 × the larger σ; one NIR capture
//! of 48 failed ROI detection (`RoiOutsideFrame`), none on the visible frames.

use openpalm::eval::synthetic::{self, AccuracyConfig, EXTRACTORS, RoiSource};

#[test]
fn full_pipeline_separates_mated_from_non_mated() {
    let cfg = AccuracyConfig {
        subjects: 12,
        samples: 4,
        ..AccuracyConfig::default()
    };
    assert_eq!(cfg.roi, RoiSource::Detected);
    let report = synthetic::run(&cfg).expect("run");
    println!("{}", report.table());
    assert_eq!(report.dev_identities, 6);
    assert_eq!(report.eval_identities, 6);
    assert_eq!(report.rows.len(), EXTRACTORS.len() + 2);

    // Acquisition: at most 3 of 48 captures fail per band (measured: 0 visible, 1 NIR).
    assert_eq!(report.fta.captures, 48);
    let roi_fail = |m: &std::collections::BTreeMap<String, u64>| m.values().sum::<u64>();
    assert!(roi_fail(&report.fta.roi_visible) <= 3, "{:?}", report.fta);
    assert!(roi_fail(&report.fta.roi_nir) <= 3, "{:?}", report.fta);

    for row in &report.rows {
        // Enough pairs were scored (36 mated, 240 non-mated before FTA exclusions).
        assert!(
            row.mated.n >= 28 && row.non_mated.n >= 180,
            "{}: {:?} {:?}",
            row.name,
            row.mated,
            row.non_mated
        );
        let gap = row.non_mated.mean - row.mated.mean;
        let sigma = row.mated.std.max(row.non_mated.std);
        assert!(gap > 3.0 * sigma, "{}: gap {gap} vs σ {sigma}", row.name);
        // One mated error among 36 is 2.8 %: allow up to two.
        assert!(row.eer <= 0.06, "{}: EER {}", row.name, row.eer);
    }
    for row in &report.rows[..EXTRACTORS.len()] {
        // Realistic non-mated distances: below 0.5 (codes correlate across palms) but not
        // collapsed.
        assert!(
            (0.38..0.49).contains(&row.non_mated.mean),
            "{}: non-mated mean {}",
            row.name,
            row.non_mated.mean
        );
        assert!(
            row.mated.mean < 0.36,
            "{}: mated mean {}",
            row.name,
            row.mated.mean
        );
    }
    // Fused rows: at most one mated error.
    for row in &report.rows[EXTRACTORS.len()..] {
        assert!(row.eer <= 0.03, "{}: EER {}", row.name, row.eer);
    }
    for f in &report.fusion {
        let s: f64 = f.weights.iter().sum();
        assert!(
            (s - 1.0).abs() < 1e-9 && f.weights.iter().all(|&w| w > 0.0),
            "{f:?}"
        );
        assert!(f.sigma.iter().all(|&s| s > 0.0), "{f:?}");
    }
    // The fused crease + vein pair is one crease and one vein extractor.
    let m = &report.fusion[0].members;
    assert_eq!(EXTRACTORS[m[0]].1, synthetic::Band::Visible);
    assert_eq!(EXTRACTORS[m[1]].1, synthetic::Band::Nir);
}
