//! Unit tests on hand-made templates (fast); the end-to-end checks on synthetic palms are in
//! `tests/pipeline_synth.rs`.

use super::*;
use crate::Geometry;
use crate::matching::MatchingError;

fn hash(x: u64) -> u64 {
    // splitmix64
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn stage(modality: Modality) -> (crate::Algorithm, Geometry) {
    match modality {
        Modality::Crease => {
            let e = OrientedCodeExtractor::bocv();
            (e.algorithm(), e.geometry())
        }
        Modality::Vein => {
            let e = MaxCurvatureVein::default();
            (e.algorithm(), e.geometry())
        }
    }
}

/// A template of "palm" `palm`, with a fraction `noise_pct`% of bits flipped by `noise`.
fn palm(modality: Modality, palm: u64, noise: u64, noise_pct: u64, valid: bool) -> PalmTemplate {
    let (algorithm, geometry) = stage(modality);
    PalmTemplate::from_fn(
        modality,
        algorithm,
        geometry,
        |p, r, c| {
            let cell = ((p as u64) << 40) ^ ((r as u64) << 20) ^ c as u64;
            let bit = hash(palm.wrapping_mul(0x1000_0000_0001) ^ cell) & 1 == 1;
            let flip = hash(noise.wrapping_mul(0x2000_0000_0003) ^ cell ^ 0xABCD) % 100 < noise_pct;
            bit ^ flip
        },
        |_, _| valid,
    )
}

fn probe_of(id: u64, noise: u64, pct: u64) -> ProbeTemplates {
    ProbeTemplates {
        crease: Some(palm(Modality::Crease, id, noise, pct, true)),
        vein: Some(palm(Modality::Vein, id, noise, pct, true)),
        crease_quality: None,
        vein_quality: None,
    }
}

fn enrolment_of(id: u64) -> Enrolment {
    Enrolment::from_references(
        (0..3)
            .map(|n| palm(Modality::Crease, id, 100 + n, 5, true))
            .collect(),
        (0..3)
            .map(|n| palm(Modality::Vein, id, 200 + n, 5, true))
            .collect(),
    )
    .unwrap()
}

/// Random codes: non-mated distances near 0.5 (a little lower after the shift search).
fn test_config() -> PipelineConfig {
    let mut c = PipelineConfig::default();
    for m in [&mut c.fusion.crease, &mut c.fusion.vein] {
        m.non_mated_mean_distance = 0.48;
        m.non_mated_std_distance = 0.02;
    }
    c.fusion.crease.weight = 0.25;
    c.fusion.vein.weight = 0.75;
    c.threshold = Threshold::fused_score(6.0);
    c
}

fn pipeline() -> Pipeline {
    Pipeline::default().with_config(test_config()).unwrap()
}

#[test]
fn verify_mated_is_a_match_with_per_modality_details() {
    let p = pipeline();
    let d = p.verify(&probe_of(7, 1, 10), &enrolment_of(7)).unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    assert!(d.is_match());
    assert_eq!(d.min_fused_score, 6.0);
    let mut zs = [0.0; 2];
    for (i, m) in MODALITIES.into_iter().enumerate() {
        let ModalityScore::Compared {
            comparison,
            z,
            reference,
        } = *d.modality(m).unwrap()
        else {
            panic!("{m} not compared");
        };
        assert!(reference < 3);
        assert!(comparison.distance < 0.25, "{comparison:?}");
        assert_eq!(comparison.shift, crate::matching::Shift { dy: 0, dx: 0 });
        assert!(comparison.overlap_cells > 0);
        assert_eq!(z, (0.48 - comparison.distance) / 0.02);
        zs[i] = z;
    }
    let fused = d.fused_score.unwrap();
    assert!((fused - (0.25 * zs[0] + 0.75 * zs[1])).abs() < 1e-12);
}

#[test]
fn verify_non_mated_is_a_non_match() {
    let p = pipeline();
    let d = p.verify(&probe_of(8, 1, 10), &enrolment_of(7)).unwrap();
    assert_eq!(d.verdict, Verdict::NonMatch);
    assert!(d.fused_score.unwrap() < 6.0);
}

#[test]
fn verify_takes_the_best_reference() {
    let p = pipeline();
    let e = Enrolment::from_references(
        vec![
            palm(Modality::Crease, 9, 0, 0, true),
            palm(Modality::Crease, 7, 0, 0, true),
        ],
        vec![],
    )
    .unwrap();
    let probe = probe_of(7, 0, 0);
    let d = p.verify(&probe, &e).unwrap();
    match d.crease.unwrap() {
        ModalityScore::Compared {
            comparison,
            reference,
            ..
        } => {
            assert_eq!(reference, 1);
            assert_eq!(comparison.distance, 0.0);
        }
        other => panic!("{other:?}"),
    }
    assert!(d.vein.is_none(), "no vein references");
    // Crease only: the fused score is the crease z-score.
    assert_eq!(d.fused_score, Some(0.48 / 0.02));
}

#[test]
fn verify_without_overlap_is_not_comparable() {
    let p = pipeline();
    let mut probe = probe_of(7, 0, 0);
    probe.crease = Some(palm(Modality::Crease, 7, 0, 0, false));
    probe.vein = Some(palm(Modality::Vein, 7, 0, 0, false));
    let d = p.verify(&probe, &enrolment_of(7)).unwrap();
    assert_eq!(d.verdict, Verdict::NotComparable);
    assert_eq!(d.fused_score, None);
    assert!(matches!(
        d.crease,
        Some(ModalityScore::InsufficientOverlap {
            best_overlap_cells: 0,
            required_cells
        }) if required_cells > 0
    ));
    // One modality without overlap: the other decides alone.
    let mut probe = probe_of(7, 1, 10);
    probe.crease = Some(palm(Modality::Crease, 7, 0, 0, false));
    let d = p.verify(&probe, &enrolment_of(7)).unwrap();
    assert_eq!(d.verdict, Verdict::Match);
    let ModalityScore::Compared { z, .. } = d.vein.unwrap() else {
        panic!()
    };
    assert_eq!(d.fused_score, Some(z));
}

#[test]
fn zero_weight_modality_does_not_count() {
    let mut c = test_config();
    c.fusion.crease.weight = 0.0;
    let p = Pipeline::default().with_config(c).unwrap();
    let d = p.verify(&probe_of(7, 1, 10), &enrolment_of(7)).unwrap();
    let ModalityScore::Compared { z, .. } = d.vein.unwrap() else {
        panic!()
    };
    assert_eq!(d.fused_score, Some(z));
    // A crease-only comparison then has no weighted score: not comparable.
    let mut probe = probe_of(7, 1, 10);
    probe.vein = None;
    let d = p.verify(&probe, &enrolment_of(7)).unwrap();
    assert_eq!(d.verdict, Verdict::NotComparable);
}

#[test]
fn verify_errors() {
    let p = pipeline();
    let mut crease_only = probe_of(7, 0, 0);
    crease_only.vein = None;
    let vein_enrolment =
        Enrolment::from_references(vec![], vec![palm(Modality::Vein, 7, 0, 0, true)]).unwrap();
    assert_eq!(
        p.verify(&crease_only, &vein_enrolment).unwrap_err(),
        PipelineError::NoCommonModality
    );
    // A crease reference of another geometry: not comparable.
    let (algorithm, _) = stage(Modality::Crease);
    let other = PalmTemplate::from_fn(
        Modality::Crease,
        algorithm,
        Geometry::new(8, 8, 6).unwrap(),
        |_, _, _| false,
        |_, _| true,
    );
    let e = Enrolment::from_references(vec![other], vec![]).unwrap();
    match p.verify(&crease_only, &e).unwrap_err() {
        PipelineError::Matching {
            modality: Modality::Crease,
            source: MatchingError::GeometryMismatch { .. },
        } => {}
        other => panic!("{other:?}"),
    }
    let top: crate::Error = PipelineError::NoCommonModality.into();
    assert!(matches!(top, crate::Error::Pipeline(_)));
}

#[test]
fn enrolment_from_references_checks_modalities() {
    let err =
        Enrolment::from_references(vec![palm(Modality::Vein, 1, 0, 0, true)], vec![]).unwrap_err();
    assert_eq!(
        err,
        PipelineError::ExtractorModality {
            slot: Modality::Crease,
            produced: Modality::Vein
        }
    );
    assert_eq!(
        Enrolment::from_references(vec![], vec![]).unwrap_err(),
        PipelineError::EmptyPresentation
    );
}

#[test]
fn extract_and_enrol_refuse_bad_input_before_any_work() {
    let mut p = pipeline();
    assert_eq!(
        p.extract(&Presentation::default()).unwrap_err(),
        PipelineError::EmptyPresentation
    );
    assert_eq!(
        p.enrol(&[Presentation::default(); 2]).unwrap_err(),
        PipelineError::CaptureCount {
            found: 2,
            min: 3,
            max: 5
        }
    );
    assert_eq!(
        p.enrol(&[Presentation::default(); 6]).unwrap_err(),
        PipelineError::CaptureCount {
            found: 6,
            min: 3,
            max: 5
        }
    );
    // Count passes, then capture 0 is empty.
    match p.enrol(&[Presentation::default(); 3]).unwrap_err() {
        PipelineError::Capture { capture: 0, source } => {
            assert_eq!(*source, PipelineError::EmptyPresentation)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn with_config_validates() {
    let mut c = test_config();
    c.schema_version = 2;
    let err = Pipeline::default().with_config(c).unwrap_err();
    assert_eq!(err.issues[0].field, "schema_version");
}

fn gallery_of(p: &Pipeline, ids: &[u64]) -> SubjectGallery {
    let mut g = p.new_gallery();
    for &id in ids {
        g.add_subject(
            SubjectId::Number(id),
            &enrolment_of(id),
            id.to_le_bytes().to_vec(),
        )
        .unwrap();
    }
    g
}

#[test]
fn exhausted_reference_ids_refuse_the_subject_and_roll_back() {
    let p = pipeline();
    let mut g = gallery_of(&p, &[1]);
    g.set_next_reference(u64::MAX - 1);
    // Three crease + three vein references need six ids; only two are left.
    let err = g
        .add_subject(SubjectId::Number(2), &enrolment_of(2), vec![])
        .unwrap_err();
    assert!(matches!(err, PipelineError::GalleryFull(_)), "{err}");
    assert!(!g.contains(&SubjectId::Number(2)));
    assert_eq!(g.len(), 1);
    assert_eq!(g.reference_count(Modality::Crease), 3);
    assert_eq!(g.reference_count(Modality::Vein), 3);
    let err = g
        .add_enrolment(&SubjectId::Number(1), &enrolment_of(1))
        .unwrap_err();
    assert!(matches!(err, PipelineError::GalleryFull(_)), "{err}");
    assert_eq!(g.enrolment_count(&SubjectId::Number(1)), Some(1));
    assert_eq!(g.reference_count(Modality::Crease), 3);
}

#[test]
fn identify_ranks_the_mated_subject_first() {
    let p = pipeline();
    let g = gallery_of(&p, &[1, 2, 3, 4, 5, 6]);
    assert_eq!(g.reference_count(Modality::Crease), 18);
    for id in [1, 4, 6] {
        let top = p.identify(&probe_of(id, 3, 10), &g, 3).unwrap();
        assert_eq!(top.len(), 3);
        assert_eq!(top[0].subject, SubjectId::Number(id));
        assert!(top[0].decision.is_match());
        assert!(top[1..].iter().all(|c| !c.decision.is_match()));
        // The same decision as verify against that subject's enrolment.
        assert_eq!(
            top[0].decision,
            p.verify(&probe_of(id, 3, 10), &enrolment_of(id)).unwrap()
        );
    }
    // A stranger: candidates, none a match.
    let top = p.identify(&probe_of(99, 3, 10), &g, 10).unwrap();
    assert_eq!(
        top.len(),
        6,
        "k above the subject count gives every subject"
    );
    assert!(top.iter().all(|c| !c.decision.is_match()));
    assert!(
        top.windows(2)
            .all(|w| w[0].decision.fused_score >= w[1].decision.fused_score)
    );
    assert!(p.identify(&probe_of(1, 3, 10), &g, 0).unwrap().is_empty());
    assert!(
        p.identify(&probe_of(1, 3, 10), &p.new_gallery(), 3)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn identify_with_one_modality_and_errors() {
    let p = pipeline();
    let g = gallery_of(&p, &[1, 2, 3]);
    let mut vein_only = probe_of(2, 3, 10);
    vein_only.crease = None;
    let top = p.identify(&vein_only, &g, 1).unwrap();
    assert_eq!(top[0].subject, SubjectId::Number(2));
    assert!(top[0].decision.crease.is_none());
    // A crease-only gallery and a vein-only probe.
    let mut crease_gallery = p.new_gallery();
    let e =
        Enrolment::from_references(vec![palm(Modality::Crease, 2, 0, 0, true)], vec![]).unwrap();
    crease_gallery.add_subject(2.into(), &e, vec![]).unwrap();
    assert_eq!(
        p.identify(&vein_only, &crease_gallery, 1).unwrap_err(),
        PipelineError::NoCommonModality
    );
}

#[test]
fn subjects_with_several_enrolments_and_string_ids() {
    let p = pipeline();
    let mut g = p.new_gallery();
    let id = SubjectId::from("customer-4711");
    g.add_subject(id.clone(), &enrolment_of(1), b"acct:1".to_vec())
        .unwrap();
    // The other hand, enrolled later.
    g.add_enrolment(&id, &enrolment_of(2)).unwrap();
    g.add_subject(3.into(), &enrolment_of(3), vec![]).unwrap();
    assert_eq!(g.enrolment_count(&id), Some(2));
    assert_eq!(g.len(), 2);
    for palm_id in [1, 2] {
        let top = p.identify(&probe_of(palm_id, 3, 10), &g, 2).unwrap();
        assert_eq!(top[0].subject, id);
        assert!(top[0].decision.is_match());
        assert_eq!(top[1].subject, SubjectId::Number(3));
    }
    // Reference indices count the subject's references over its enrolments.
    let top = p.identify(&probe_of(2, 0, 0), &g, 1).unwrap();
    let ModalityScore::Compared { reference, .. } = top[0].decision.crease.unwrap() else {
        panic!()
    };
    assert!((3..6).contains(&reference), "{reference}");
    assert_eq!(id.to_string(), "\"customer-4711\"");
    assert_eq!(SubjectId::Number(3).to_string(), "#3");
}

#[test]
fn metadata_round_trip_and_limit() {
    let mut c = test_config();
    c.max_metadata_bytes = 16;
    let p = Pipeline::default().with_config(c).unwrap();
    let mut g = p.new_gallery();
    let blob: Vec<u8> = (0..16u8).map(|b| b.wrapping_mul(37)).collect();
    g.add_subject(1.into(), &enrolment_of(1), blob.clone())
        .unwrap();
    assert_eq!(g.metadata(&1.into()), Some(&blob[..]));
    assert_eq!(
        g.add_subject(2.into(), &enrolment_of(2), vec![0; 17])
            .unwrap_err(),
        PipelineError::MetadataTooLarge {
            bytes: 17,
            limit: 16
        }
    );
    assert!(!g.contains(&2.into()), "nothing added on error");
    assert_eq!(g.reference_count(Modality::Vein), 3);
    assert_eq!(
        g.set_metadata(&1.into(), vec![0; 17]).unwrap_err(),
        PipelineError::MetadataTooLarge {
            bytes: 17,
            limit: 16
        }
    );
    assert_eq!(g.metadata(&1.into()), Some(&blob[..]), "unchanged on error");
    g.set_metadata(&1.into(), b"new".to_vec()).unwrap();
    assert_eq!(g.metadata(&1.into()), Some(&b"new"[..]));
    assert_eq!(
        g.set_metadata(&5.into(), vec![]).unwrap_err(),
        PipelineError::UnknownSubject(5.into())
    );
    assert_eq!(
        g.add_subject(1.into(), &enrolment_of(1), vec![])
            .unwrap_err(),
        PipelineError::DuplicateSubject(1.into())
    );
    assert_eq!(
        g.add_enrolment(&9.into(), &enrolment_of(9)).unwrap_err(),
        PipelineError::UnknownSubject(9.into())
    );
    assert_eq!(g.remove_subject(&1.into()).unwrap(), b"new".to_vec());
    assert!(g.is_empty());
    assert_eq!(g.reference_count(Modality::Crease), 0);
    assert_eq!(
        g.remove_subject(&1.into()).unwrap_err(),
        PipelineError::UnknownSubject(1.into())
    );
}

#[test]
fn failed_enrolment_into_a_gallery_adds_nothing() {
    let p = pipeline();
    let mut g = gallery_of(&p, &[1]);
    let (algorithm, _) = stage(Modality::Vein);
    let odd = PalmTemplate::from_fn(
        Modality::Vein,
        algorithm,
        Geometry::new(8, 8, 1).unwrap(),
        |_, _, _| false,
        |_, _| true,
    );
    // Crease references are fine, the vein one has another geometry.
    let e =
        Enrolment::from_references(vec![palm(Modality::Crease, 2, 0, 0, true)], vec![odd]).unwrap();
    match g.add_subject(2.into(), &e, vec![]).unwrap_err() {
        PipelineError::Matching {
            modality: Modality::Vein,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    assert!(!g.contains(&2.into()));
    assert_eq!(g.reference_count(Modality::Crease), 3, "rolled back");
    assert_eq!(g.enrolment_count(&1.into()), Some(1));
}

#[test]
fn fmr_threshold_decides_at_the_row_of_the_compared_modalities() {
    use super::calibration::CALIBRATION;
    let p = Pipeline::default(); // Threshold::fmr(1e-6), default fusion
    let both = p.verify(&probe_of(7, 1, 10), &enrolment_of(7)).unwrap();
    assert_eq!(
        Some(both.min_fused_score),
        CALIBRATION.min_fused_score(1e-6, ComparedModalities::Both)
    );
    assert_eq!(both.verdict, Verdict::Match, "{both:?}");
    for (drop_vein, compared) in [
        (true, ComparedModalities::Crease),
        (false, ComparedModalities::Vein),
    ] {
        let mut probe = probe_of(7, 1, 10);
        if drop_vein {
            probe.vein = None;
        } else {
            probe.crease = None;
        }
        let d = p.verify(&probe, &enrolment_of(7)).unwrap();
        assert_eq!(
            Some(d.min_fused_score),
            CALIBRATION.min_fused_score(1e-6, compared),
            "{compared:?}"
        );
        assert_eq!(d.verdict, Verdict::Match, "{compared:?}: {d:?}");
    }
    // Random codes of another palm: far below every calibrated threshold.
    let other = p.verify(&probe_of(8, 1, 10), &enrolment_of(7)).unwrap();
    assert_eq!(other.verdict, Verdict::NonMatch, "{other:?}");
}
