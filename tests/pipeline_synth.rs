//! End-to-end pipeline checks on synthetic palms (`openpalm::synth`): enrolment, verification
//! and identification through the default pipeline, and the measurement behind the default
//! fusion parameters and threshold.
//!
//! ```text
//! cargo test --release --features synth --test pipeline_synth
//! cargo test --release --features synth --test pipeline_synth -- --ignored --nocapture measure_fusion
//! ```

use openpalm::matching::{MatchConfig, Matcher};
use openpalm::pipeline::{
    Candidate, Enrolment, MODALITIES, PipelineConfig, PipelineError, Presentation, ProbeTemplates,
    SubjectGallery, SubjectId, Threshold, Verdict,
};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, Modality, Pipeline, Spectrum};
use rayon::prelude::*;

fn generator() -> Generator {
    Generator::new(CaptureOptions::default()).unwrap()
}

/// The visible and NIR frames of capture `sample` of identity `seed`.
fn frames(g: &Generator, seed: u64, sample: u64) -> (Frame, Frame) {
    let c = g.capture(&Identity::from_seed(seed), sample);
    (
        Frame::from_gray8(c.visible, Spectrum::Visible).unwrap(),
        Frame::from_gray8(c.nir, Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap(),
    )
}

/// Templates of capture `sample` of `seed`, or `None` on a failure to acquire.
fn probe(p: &mut Pipeline, g: &Generator, seed: u64, sample: u64) -> Option<ProbeTemplates> {
    let (v, n) = frames(g, seed, sample);
    p.extract(&Presentation::new(&v, &n)).ok()
}

/// Enrols `seed` from `count` captures the way a terminal does: when the consistency check
/// names a pair, the later capture of the pair is retaken (next sample), up to 10 retakes.
fn enrol(p: &mut Pipeline, g: &Generator, seed: u64, count: usize) -> Enrolment {
    let mut samples: Vec<u64> = (0..count as u64).collect();
    for next in (count as u64..).take(10) {
        let all: Vec<(Frame, Frame)> = samples.iter().map(|&s| frames(g, seed, s)).collect();
        let pres: Vec<Presentation<'_>> =
            all.iter().map(|(v, n)| Presentation::new(v, n)).collect();
        match p.enrol(&pres) {
            Ok(e) => return e,
            Err(PipelineError::InconsistentCaptures { second, .. })
            | Err(PipelineError::CapturesOverlap { second, .. }) => {
                samples[second] = next;
            }
            Err(PipelineError::Capture { capture, .. }) => samples[capture] = next,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("identity {seed}: no consistent enrolment in 10 retakes")
}

// Test identities: seeds below 1000 (the development set of the measurement uses 500_000..).
const ALICE: u64 = 1;
const BOB: u64 = 2;
const CAROL: u64 = 3;
const PROBE_SAMPLE: u64 = 100;

#[test]
fn enrol_success_gives_one_reference_per_capture_and_modality() {
    let (mut p, g) = (Pipeline::default(), generator());
    let e = enrol(&mut p, &g, ALICE, 3);
    for m in MODALITIES {
        assert_eq!(e.references(m).len(), 3, "{m}");
        assert!(e.references(m).iter().all(|t| t.modality() == m));
    }
}

#[test]
fn enrol_rejects_captures_of_different_people() {
    let (mut p, g) = (Pipeline::default(), generator());
    let a0 = frames(&g, ALICE, 0);
    let a1 = frames(&g, ALICE, 1);
    let b = frames(&g, BOB, 0);
    let pres = [
        Presentation::new(&a0.0, &a0.1),
        Presentation::new(&a1.0, &a1.1),
        Presentation::new(&b.0, &b.1),
    ];
    match p.enrol(&pres).unwrap_err() {
        PipelineError::InconsistentCaptures {
            modality,
            first,
            second,
            distance,
            max_distance,
        } => {
            assert_eq!(modality, Modality::Crease, "crease is checked first");
            assert_eq!((first, second), (0, 2), "capture 2 is the stranger");
            assert!(distance > max_distance);
            assert_eq!(
                max_distance,
                p.config().enrolment.crease_max_consistency_distance
            );
        }
        other => panic!("expected InconsistentCaptures, got {other:?}"),
    }
    // Vein-only: the vein check names the same pair.
    let pres = [
        Presentation::nir_only(&a0.1),
        Presentation::nir_only(&a1.1),
        Presentation::nir_only(&b.1),
    ];
    match p.enrol(&pres).unwrap_err() {
        PipelineError::InconsistentCaptures {
            modality: Modality::Vein,
            first: 0,
            second: 2,
            ..
        } => {}
        other => panic!("expected vein InconsistentCaptures (0, 2), got {other:?}"),
    }
}

#[test]
fn enrol_reports_the_capture_that_fails_quality() {
    let (mut p, g) = (Pipeline::default(), generator());
    let a0 = frames(&g, ALICE, 0);
    let a1 = frames(&g, ALICE, 1);
    // A dark, empty frame: no hand.
    let blank = Frame::from_gray8(image::GrayImage::new(640, 480), Spectrum::Visible).unwrap();
    let pres = [
        Presentation::new(&a0.0, &a0.1),
        Presentation::new(&blank, &a1.1),
        Presentation::new(&a1.0, &a1.1),
    ];
    match p.enrol(&pres).unwrap_err() {
        PipelineError::Capture { capture, source } => {
            assert_eq!(capture, 1);
            assert!(
                matches!(
                    *source,
                    PipelineError::Roi {
                        modality: Modality::Crease,
                        ..
                    }
                ),
                "{source:?}"
            );
        }
        other => panic!("expected Capture, got {other:?}"),
    }
}

#[test]
fn verify_accepts_mated_and_rejects_non_mated() {
    let (mut p, g) = (Pipeline::default(), generator());
    let alice = enrol(&mut p, &g, ALICE, 3);
    let mated = probe(&mut p, &g, ALICE, PROBE_SAMPLE).unwrap();
    let d = p.verify(&mated, &alice).unwrap();
    assert_eq!(d.verdict, Verdict::Match, "{d:?}");
    assert!(d.fused_score.unwrap() >= d.min_fused_score);
    for m in MODALITIES {
        let s = d.modality(m).unwrap();
        let c = s.comparison().unwrap();
        assert!(c.overlap_cells > 0 && c.distance < 0.5, "{m}: {c:?}");
    }
    for stranger in [BOB, CAROL] {
        let other = probe(&mut p, &g, stranger, PROBE_SAMPLE).unwrap();
        let d = p.verify(&other, &alice).unwrap();
        assert_eq!(d.verdict, Verdict::NonMatch, "{stranger}: {d:?}");
        assert!(d.fused_score.unwrap() < d.min_fused_score);
    }
    // Single-modality probes against the two-modality enrolment.
    for (keep_crease, keep_vein) in [(true, false), (false, true)] {
        let mut half = mated.clone();
        if !keep_crease {
            half.crease = None;
        }
        if !keep_vein {
            half.vein = None;
        }
        let d = p.verify(&half, &alice).unwrap();
        assert_eq!(d.verdict, Verdict::Match, "{d:?}");
        assert_eq!(d.crease.is_some(), keep_crease);
        assert_eq!(d.vein.is_some(), keep_vein);
    }
}

#[test]
fn identify_ranks_the_right_subject_first_and_keeps_metadata() {
    let (mut p, g) = (Pipeline::default(), generator());
    let mut gallery = p.new_gallery();
    let people = [ALICE, BOB, CAROL];
    for &seed in &people {
        let e = enrol(&mut p, &g, seed, 3);
        let meta = format!("tok_{seed}").into_bytes();
        gallery
            .add_subject(SubjectId::Number(seed), &e, meta)
            .unwrap();
    }
    for &seed in &people {
        let probe = probe(&mut p, &g, seed, PROBE_SAMPLE).unwrap();
        let top: Vec<Candidate> = p.identify(&probe, &gallery, 2).unwrap();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].subject, SubjectId::Number(seed));
        assert!(top[0].decision.is_match(), "{:?}", top[0]);
        assert!(!top[1].decision.is_match(), "{:?}", top[1]);
        assert!(top[0].decision.fused_score > top[1].decision.fused_score);
        let meta = gallery.metadata(&top[0].subject).unwrap();
        assert_eq!(meta, format!("tok_{seed}").as_bytes());
    }
    // A never-enrolled person: no candidate is a match.
    let stranger = probe(&mut p, &g, 777, PROBE_SAMPLE).unwrap();
    let top = p.identify(&stranger, &gallery, 3).unwrap();
    assert_eq!(top.len(), 3);
    assert!(top.iter().all(|c| !c.decision.is_match()), "{top:?}");
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Measures the default fusion parameters, consistency bounds and threshold on a development
/// set of synthetic identities (seeds 500_000.., disjoint from every test identity).
#[test]
#[ignore = "measurement: run in --release with --nocapture"]
fn measure_fusion() {
    const DEV_SEED: u64 = 500_000;
    const PEOPLE: u64 = 30;
    const SAMPLES: u64 = 4;
    let g = generator();
    let jobs: Vec<(u64, u64)> = (0..PEOPLE)
        .flat_map(|s| (0..SAMPLES).map(move |k| (DEV_SEED + s, k)))
        .collect();
    let captures: Vec<(u64, u64, ProbeTemplates)> = jobs
        .par_iter()
        .filter_map(|&(seed, k)| {
            let mut p = Pipeline::default();
            probe(&mut p, &g, seed, k).map(|t| (seed, k, t))
        })
        .collect();
    println!(
        "development set: {PEOPLE} identities × {SAMPLES} captures, {} acquired",
        captures.len()
    );
    let config = MatchConfig::default();
    let mut fusion = PipelineConfig::default().fusion;
    let mut dprime = [0.0; 2];
    for (mi, m) in MODALITIES.into_iter().enumerate() {
        let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
        for (i, (si, _, ti)) in captures.iter().enumerate() {
            let matcher = Matcher::new(ti.template(m).unwrap(), &config).unwrap();
            for (sj, _, tj) in &captures[i + 1..] {
                if let Some(d) = matcher.compare(tj.template(m).unwrap()).unwrap().distance() {
                    if si == sj { &mut mated } else { &mut non_mated }.push(d);
                }
            }
        }
        let (mu_n, sd_n) = mean_std(&non_mated);
        let (mu_m, sd_m) = mean_std(&mated);
        let d = (mu_n - mu_m).abs() / ((sd_n * sd_n + sd_m * sd_m) / 2.0).sqrt();
        dprime[mi] = d;
        let min_n = non_mated.iter().cloned().fold(f64::INFINITY, f64::min);
        let max_m = mated.iter().cloned().fold(0.0, f64::max);
        let mated_over = mated.iter().filter(|&&x| x >= min_n).count();
        println!(
            "{m}: non-mated n={} mean={mu_n:.4} std={sd_n:.4} min={min_n:.4}; mated n={} mean={mu_m:.4} std={sd_m:.4} max={max_m:.4} ({mated_over} ≥ min non-mated); d'={d:.3}",
            non_mated.len(),
            mated.len()
        );
        let f = if mi == 0 {
            &mut fusion.crease
        } else {
            &mut fusion.vein
        };
        f.non_mated_mean_distance = mu_n;
        f.non_mated_std_distance = sd_n;
    }
    let total = dprime[0] + dprime[1];
    fusion.crease.weight = dprime[0] / total;
    fusion.vein.weight = dprime[1] / total;
    println!(
        "weights ∝ d': crease {:.4}, vein {:.4}",
        fusion.crease.weight, fusion.vein.weight
    );

    // Fused scores through verify: enrolment = samples 0..3 as references, probe = last sample.
    let mut cfg = PipelineConfig {
        fusion,
        ..PipelineConfig::default()
    };
    cfg.threshold = Threshold::fused_score(0.0);
    let p = Pipeline::default().with_config(cfg).unwrap();
    let mut enrolments = Vec::new();
    let mut probes = Vec::new();
    for s in 0..PEOPLE {
        let seed = DEV_SEED + s;
        let mine: Vec<&(u64, u64, ProbeTemplates)> =
            captures.iter().filter(|c| c.0 == seed).collect();
        let refs: Vec<&ProbeTemplates> = mine
            .iter()
            .filter(|c| c.1 + 1 < SAMPLES)
            .map(|c| &c.2)
            .collect();
        if let Some(last) = mine.iter().find(|c| c.1 + 1 == SAMPLES) {
            probes.push((seed, &last.2));
        }
        if !refs.is_empty() {
            let e = Enrolment::from_references(
                refs.iter().map(|t| t.crease.clone().unwrap()).collect(),
                refs.iter().map(|t| t.vein.clone().unwrap()).collect(),
            )
            .unwrap();
            enrolments.push((seed, e));
        }
    }
    let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
    for (ps, probe) in &probes {
        for (es, e) in &enrolments {
            let d = p.verify(probe, e).unwrap();
            if let Some(s) = d.fused_score {
                if ps == es { &mut mated } else { &mut non_mated }.push(s);
            }
        }
    }
    let max_n = non_mated.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min_m = mated.iter().cloned().fold(f64::INFINITY, f64::min);
    let (mu_n, sd_n) = mean_std(&non_mated);
    println!(
        "fused (probe vs {}-reference enrolment): non-mated n={} mean={mu_n:.3} std={sd_n:.3} max={max_n:.3}; mated n={} min={min_m:.3}",
        SAMPLES - 1,
        non_mated.len(),
        mated.len()
    );
}

#[test]
fn frames_in_the_wrong_slot_are_refused() {
    let (mut p, g) = (Pipeline::default(), generator());
    let (v, n) = frames(&g, ALICE, 0);
    match p.extract(&Presentation::new(&n, &v)).unwrap_err() {
        PipelineError::WrongSpectrum { modality, .. } => assert_eq!(modality, Modality::Crease),
        other => panic!("{other:?}"),
    }
    match p.extract(&Presentation::nir_only(&v)).unwrap_err() {
        PipelineError::WrongSpectrum { modality, .. } => assert_eq!(modality, Modality::Vein),
        other => panic!("{other:?}"),
    }
    let gallery = SubjectGallery::new(8);
    assert!(gallery.is_empty());
}

#[test]
fn enrol_refuses_captures_with_different_modalities() {
    let (mut p, g) = (Pipeline::default(), generator());
    let a0 = frames(&g, ALICE, 0);
    let a1 = frames(&g, ALICE, 1);
    let pres = [
        Presentation::new(&a0.0, &a0.1),
        Presentation::visible_only(&a1.0),
        Presentation::new(&a1.0, &a1.1),
    ];
    assert_eq!(
        p.enrol(&pres).unwrap_err(),
        PipelineError::ModalitiesDiffer {
            capture: 1,
            expected: "crease+vein",
            found: "crease",
        }
    );
}

/// A crease extractor that accepts only 64 px ROIs (an integrator's extractor whose ROI size
/// does not match the detector's 128 px patches).
struct Narrow(openpalm::features::OrientedCodeExtractor);

impl openpalm::features::FeatureExtractor for Narrow {
    fn modality(&self) -> Modality {
        self.0.modality()
    }
    fn algorithm(&self) -> openpalm::Algorithm {
        self.0.algorithm()
    }
    fn geometry(&self) -> openpalm::Geometry {
        self.0.geometry()
    }
    fn roi_side(&self) -> usize {
        64
    }
    fn extract_into(
        &mut self,
        roi: &openpalm::features::RoiImage,
        code: &mut [u64],
        mask: &mut [u64],
    ) -> Result<(), openpalm::features::FeatureError> {
        if roi.side() != 64 {
            return Err(openpalm::features::FeatureError::SideOutOfRange {
                side: roi.side(),
                min: 64,
                max: 64,
            });
        }
        self.0.extract_into(roi, code, mask)
    }
}

/// The stage-combination errors an integrator can make with the builder are reported with the
/// modality and the stage's own error, for extract and for enrol, before anything is stored.
#[test]
fn mismatched_stages_give_typed_errors() {
    let g = generator();
    let (v, n) = frames(&g, ALICE, 0);
    let presentation = Presentation::new(&v, &n);

    let mut narrow = Pipeline::default()
        .with_crease_extractor(Narrow(openpalm::features::OrientedCodeExtractor::bocv()));
    match narrow.extract(&presentation) {
        Err(PipelineError::Features { modality, source }) => {
            assert_eq!(modality, Modality::Crease);
            assert_eq!(
                source,
                openpalm::features::FeatureError::SideOutOfRange {
                    side: 128,
                    min: 64,
                    max: 64
                }
            );
        }
        other => panic!("expected a Features error, got {other:?}"),
    }
    // A NIR-only presentation never reaches the crease slot, so it still works.
    assert!(narrow.extract(&Presentation::nir_only(&n)).is_ok());

    let mut swapped =
        Pipeline::default().with_crease_extractor(openpalm::features::MaxCurvatureVein::default());
    assert_eq!(
        swapped.extract(&presentation).unwrap_err(),
        PipelineError::ExtractorModality {
            slot: Modality::Crease,
            produced: Modality::Vein,
        }
    );
    let frames3: Vec<(Frame, Frame)> = (0..3).map(|s| frames(&g, ALICE, s)).collect();
    let pres: Vec<Presentation<'_>> = frames3
        .iter()
        .map(|(v, n)| Presentation::new(v, n))
        .collect();
    match swapped.enrol(&pres) {
        Err(PipelineError::Capture { capture, source }) => {
            assert_eq!(capture, 0);
            assert!(
                matches!(*source, PipelineError::ExtractorModality { .. }),
                "{source}"
            );
        }
        other => panic!("expected a Capture error, got {other:?}"),
    }
}
