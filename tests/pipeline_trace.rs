//! Transparency end to end: the default pipeline on synthetic palms, traced into a recording
//! sink and into a `FolderSink`.
//!
//! ```text
//! cargo test --release --features synth --test pipeline_trace
//! ```
#![cfg(feature = "synth")]

use std::path::PathBuf;

use openpalm::pipeline::{
    Artefact, FolderSink, NoTrace, Presentation, Stage, TraceKey, TraceSink, Verdict,
};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, Modality, Pipeline, Spectrum};

fn frames(g: &Generator, seed: u64, sample: u64) -> (Frame, Frame) {
    let c = g.capture(&Identity::from_seed(seed), sample);
    (
        Frame::from_gray8(c.visible, Spectrum::Visible).unwrap(),
        Frame::from_gray8(c.nir, Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap(),
    )
}

/// Keeps every key, and checks each artefact's shape against the frame it came from.
#[derive(Default)]
struct Recorder {
    keys: Vec<TraceKey>,
    frame_size: Option<(u32, u32)>,
}

impl TraceSink for Recorder {
    fn record(&mut self, key: &TraceKey, artefact: Artefact<'_>) {
        match artefact {
            Artefact::Frame(f) => {
                assert_eq!(key.stage, Stage::Frame);
                let want = match key.modality {
                    Some(Modality::Crease) => Spectrum::Visible,
                    _ => Spectrum::NearInfrared { wavelength_nm: 850 },
                };
                assert_eq!(f.spectrum(), want, "{key}");
                self.frame_size = Some((f.width(), f.height()));
            }
            Artefact::HandMask { mask, scale } => {
                assert_eq!(key.stage, Stage::HandMask);
                let (w, h) = self.frame_size.unwrap();
                assert!(scale >= 1);
                // The mask covers the frame at 1/scale (integer downscale, rounded down).
                assert_eq!(
                    (mask.width(), mask.height()),
                    (w / scale, h / scale),
                    "{key}"
                );
                assert!(mask.pixels().any(|p| p.0[0] == 255) && mask.pixels().any(|p| p.0[0] == 0));
            }
            Artefact::Landmarks {
                frame,
                landmarks,
                corners,
                ..
            } => {
                assert_eq!(key.stage, Stage::Landmarks);
                let inside = |p: &nalgebra::Point2<f32>| {
                    (0.0..frame.width() as f32).contains(&p.x)
                        && (0.0..frame.height() as f32).contains(&p.y)
                };
                assert!(landmarks.valleys().iter().all(inside), "{key}");
                assert!(corners.iter().all(inside), "{key}");
            }
            Artefact::Quality(q) => {
                assert_eq!(key.stage, Stage::Quality);
                assert!(q.valley_distance_px > 0.0);
            }
            Artefact::RoiPatch(p) | Artefact::RoiMask(p) => {
                assert!(matches!(key.stage, Stage::Roi | Stage::RoiMask));
                assert_eq!(p.dimensions(), (128, 128), "{key}");
            }
            Artefact::Template(t) => {
                assert_eq!(key.stage, Stage::CodePlanes);
                assert_eq!(Some(t.modality()), key.modality);
                assert!(t.valid_cells() > 0);
            }
            Artefact::Comparison(o) => {
                assert!(matches!(key.stage, Stage::Comparison | Stage::Consistency));
                assert!(o.distance().is_some(), "{key}");
            }
            Artefact::Score(s) => {
                assert_eq!(key.stage, Stage::Score);
                assert!(s.distance().is_some());
            }
            Artefact::Decision(_) => assert_eq!(key.stage, Stage::Decision),
            Artefact::Candidates(c) => {
                assert_eq!(key.stage, Stage::Candidates);
                assert!(!c.is_empty());
            }
            _ => panic!("{key}: an artefact this test does not know"),
        }
        self.keys.push(*key);
    }
}

fn frame_stages() -> [Stage; 7] {
    [
        Stage::Frame,
        Stage::HandMask,
        Stage::Landmarks,
        Stage::Quality,
        Stage::Roi,
        Stage::RoiMask,
        Stage::CodePlanes,
    ]
}

#[test]
fn every_documented_key_is_emitted_in_order_with_the_default_pipeline() {
    let g = Generator::new(CaptureOptions::default()).unwrap();
    let mut p = Pipeline::default();
    let enrol_frames: Vec<(Frame, Frame)> = (1..4).map(|s| frames(&g, 4, s)).collect();
    let pres: Vec<Presentation<'_>> = enrol_frames
        .iter()
        .map(|(v, n)| Presentation::new(v, n))
        .collect();
    let (v, n) = frames(&g, 4, 0);

    let mut sink = Recorder::default();
    let enrolment = p.enrol_traced(&pres, &mut sink).unwrap();
    let probe = p
        .extract_traced(&Presentation::new(&v, &n), &mut sink)
        .unwrap();
    let decision = p.verify_traced(&probe, &enrolment, &mut sink).unwrap();
    let mut gallery = p.new_gallery();
    gallery
        .add_subject("four".into(), &enrolment, b"account".to_vec())
        .unwrap();
    let candidates = p.identify_traced(&probe, &gallery, 3, &mut sink).unwrap();

    // Tracing changes nothing.
    assert_eq!(enrolment, p.enrol_traced(&pres, &mut NoTrace).unwrap());
    assert_eq!(probe, p.extract(&Presentation::new(&v, &n)).unwrap());
    assert_eq!(decision, p.verify(&probe, &enrolment).unwrap());
    assert_eq!(candidates, p.identify(&probe, &gallery, 3).unwrap());
    assert_eq!(decision.verdict, Verdict::Match);

    let mut expected = Vec::new();
    for c in 0..3 {
        for m in [Modality::Crease, Modality::Vein] {
            expected.extend(frame_stages().map(|s| TraceKey::capture(s, m, Some(c))));
        }
    }
    for m in [Modality::Crease, Modality::Vein] {
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            expected.push(TraceKey::consistency(m, a, b));
        }
    }
    for m in [Modality::Crease, Modality::Vein] {
        expected.extend(frame_stages().map(|s| TraceKey::capture(s, m, None)));
    }
    for m in [Modality::Crease, Modality::Vein] {
        expected.extend((0..3).map(|r| TraceKey::reference(Stage::Comparison, m, r)));
        expected.push(TraceKey::modality(Stage::Score, m));
    }
    expected.push(TraceKey::new(Stage::Decision));
    expected.push(TraceKey::new(Stage::Candidates));
    assert_eq!(sink.keys, expected);
    for &stage in Stage::ALL {
        assert!(
            sink.keys.iter().any(|k| k.stage == stage),
            "{stage} never emitted"
        );
    }
}

#[test]
fn folder_sink_writes_the_whole_trace_through_a_dyn_sink() {
    let g = Generator::new(CaptureOptions::default()).unwrap();
    let mut p = Pipeline::default();
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "openpalm-pipeline-trace-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let mut folder = FolderSink::new(&dir).unwrap();
    let (v, n) = frames(&g, 5, 0);
    folder.set_subfolder(Some("probe")).unwrap();
    let sink: &mut dyn TraceSink = &mut folder;
    let probe = p.extract_traced(&Presentation::new(&v, &n), sink).unwrap();
    assert!(probe.crease.is_some() && probe.vein.is_some());
    let written = folder.finish().unwrap();
    // 12 files per frame: frame, hand mask (+json), landmarks (json + overlay), quality, roi,
    // roi mask, code planes (+ mask, json, template bytes).
    assert_eq!(written.len(), 24);
    for m in ["crease", "vein"] {
        let overlay = image::open(dir.join(format!("probe/{m}.landmarks.png"))).unwrap();
        assert_eq!((overlay.width(), overlay.height()), (v.width(), v.height()));
        let q: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("probe/{m}.quality.json"))).unwrap(),
        )
        .unwrap();
        assert!(q["valley_distance_px"].as_f64().unwrap() > 0.0);
        let t = std::fs::read(dir.join(format!("probe/{m}.code-planes.oplm"))).unwrap();
        let t = openpalm::PalmTemplate::from_bytes(&t).unwrap();
        assert_eq!(
            Some(&t),
            probe.template(if m == "crease" {
                Modality::Crease
            } else {
                Modality::Vein
            })
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
