//! Unit tests of the trace hooks with a stand-in detector (fast, no synthetic palms); the
//! end-to-end checks with the default pipeline are in `tests/pipeline_trace.rs`.

use super::*;
use crate::pipeline::{Enrolment, Presentation};
use crate::roi::RoiError;
use crate::{Frame, Spectrum};
use nalgebra::Similarity2;

/// Returns the same textured 128×128 ROI for every frame, and a 40×30 hand mask.
#[derive(Debug, Clone)]
struct FixedDetector {
    seed: u32,
}

fn hash(x: u32) -> u32 {
    let mut z = x.wrapping_mul(0x9E37_79B9);
    z ^= z >> 15;
    z = z.wrapping_mul(0x85EB_CA6B);
    z ^ (z >> 13)
}

impl RoiDetector for FixedDetector {
    fn detect(&self, _frame: &Frame) -> Result<Roi, RoiError> {
        let s = self.seed;
        // Smooth-ish texture: sum of a few oriented stripes, plus a little noise.
        let patch = GrayImage::from_fn(128, 128, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let a = (fx * 0.21 + fy * 0.07 + s as f32).sin();
            let b = (fx * 0.05 - fy * 0.19 + 2.0 * s as f32).sin();
            let n = (hash(x ^ (y << 8) ^ (s << 16)) % 16) as f32;
            image::Luma([(110.0 + 50.0 * a + 40.0 * b + n) as u8])
        });
        let mask = GrayImage::from_pixel(128, 128, image::Luma([255]));
        let p = |x, y| Point2::new(x, y);
        Ok(Roi {
            patch,
            mask,
            landmarks: Landmarks {
                index_middle: p(10.0, 5.0),
                middle_ring: p(20.0, 4.0),
                ring_little: p(30.0, 6.0),
                palm_center: p(20.0, 25.0),
                palm_radius_px: 12.0,
            },
            transform: RoiTransform {
                similarity: Similarity2::identity(),
                mirrored: false,
            },
            corners: [p(10.0, 10.0), p(30.0, 10.0), p(30.0, 30.0), p(10.0, 30.0)],
            quality: QualityReport {
                valley_distance_px: 20.0,
                palm_radius_px: 12.0,
                inside_fraction: 1.0,
                outside_frame_fraction: 0.0,
                focus: 0.5,
                mean_gray: 110.0,
                contrast: 40.0,
                clipped_fraction: 0.0,
                segmentation_separability: 0.9,
            },
        })
    }

    fn hand_segmentation(&self, _frame: &Frame) -> Option<Result<(GrayImage, u32), RoiError>> {
        Some(Ok((GrayImage::from_pixel(40, 30, image::Luma([255])), 2)))
    }
}

/// What a recording sink keeps of an artefact: its kind and a shape.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Frame(u32, u32),
    HandMask(u32, u32, u32),
    Landmarks,
    Quality,
    Patch(u32, u32),
    Mask(u32, u32),
    Template(Modality, usize),
    Comparison(bool),
    Score(bool),
    Decision(Verdict),
    Candidates(usize),
}

fn shape(a: &Artefact<'_>) -> Shape {
    match *a {
        Artefact::Frame(f) => Shape::Frame(f.width(), f.height()),
        Artefact::HandMask { mask, scale } => Shape::HandMask(mask.width(), mask.height(), scale),
        Artefact::Landmarks { .. } => Shape::Landmarks,
        Artefact::Quality(_) => Shape::Quality,
        Artefact::RoiPatch(p) => Shape::Patch(p.width(), p.height()),
        Artefact::RoiMask(m) => Shape::Mask(m.width(), m.height()),
        Artefact::Template(t) => Shape::Template(t.modality(), t.geometry().planes()),
        Artefact::Comparison(o) => Shape::Comparison(o.comparison().is_some()),
        Artefact::Score(s) => Shape::Score(s.comparison().is_some()),
        Artefact::Decision(d) => Shape::Decision(d.verdict),
        Artefact::Candidates(c) => Shape::Candidates(c.len()),
    }
}

/// Records every key (or only the accepted stages) with the artefact's shape.
#[derive(Default)]
struct Recorder {
    only: Option<Vec<Stage>>,
    log: Vec<(String, Shape)>,
}

impl TraceSink for Recorder {
    fn accepts(&self, key: &TraceKey) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(&key.stage))
    }
    fn record(&mut self, key: &TraceKey, artefact: Artefact<'_>) {
        assert!(self.accepts(key), "{key} recorded but not accepted");
        self.log.push((key.name(), shape(&artefact)));
    }
}

/// Accepts nothing; fails the test if anything arrives.
struct Refuser;

impl TraceSink for Refuser {
    fn accepts(&self, _key: &TraceKey) -> bool {
        false
    }
    fn record(&mut self, key: &TraceKey, _artefact: Artefact<'_>) {
        panic!("{key} recorded by a sink that accepts nothing");
    }
}

fn pipeline() -> Pipeline<FixedDetector> {
    Pipeline::default().with_roi_detector(FixedDetector { seed: 1 })
}

fn frames() -> (Frame, Frame) {
    let g = GrayImage::from_pixel(80, 60, image::Luma([100]));
    (
        Frame::from_gray8(g.clone(), Spectrum::Visible).unwrap(),
        Frame::from_gray8(g, Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap(),
    )
}

fn frame_keys(prefix: &str, m: Modality) -> Vec<(String, Shape)> {
    let planes = match m {
        Modality::Crease => crate::features::OrientedCodeExtractor::bocv()
            .geometry()
            .planes(),
        _ => crate::features::MaxCurvatureVein::default()
            .geometry()
            .planes(),
    };
    let k = |s: &str| format!("{prefix}{m}.{s}");
    vec![
        (k("frame"), Shape::Frame(80, 60)),
        (k("hand-mask"), Shape::HandMask(40, 30, 2)),
        (k("landmarks"), Shape::Landmarks),
        (k("quality"), Shape::Quality),
        (k("roi"), Shape::Patch(128, 128)),
        (k("roi-mask"), Shape::Mask(128, 128)),
        (k("code-planes"), Shape::Template(m, planes)),
    ]
}

#[test]
fn key_names_are_stable() {
    let cases = [
        (TraceKey::new(Stage::Decision), "decision"),
        (TraceKey::new(Stage::Candidates), "candidates"),
        (
            TraceKey::modality(Stage::Score, Modality::Vein),
            "vein.score",
        ),
        (
            TraceKey::capture(Stage::HandMask, Modality::Crease, None),
            "crease.hand-mask",
        ),
        (
            TraceKey::capture(Stage::RoiMask, Modality::Vein, Some(3)),
            "capture-3.vein.roi-mask",
        ),
        (
            TraceKey::reference(Stage::Comparison, Modality::Crease, 2),
            "crease.comparison.reference-2",
        ),
        (
            TraceKey::consistency(Modality::Vein, 0, 2),
            "capture-0.vein.consistency.capture-2",
        ),
    ];
    for (key, name) in cases {
        assert_eq!(key.name(), name);
    }
    let names: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "frame",
            "hand-mask",
            "landmarks",
            "quality",
            "roi",
            "roi-mask",
            "code-planes",
            "consistency",
            "comparison",
            "score",
            "decision",
            "candidates"
        ]
    );
    for &s in Stage::ALL {
        assert_eq!(Stage::from_name(s.name()), Some(s));
    }
    assert_eq!(Stage::from_name("Frame"), None);
}

#[test]
fn extract_and_verify_emit_every_key_in_order() {
    let mut p = pipeline();
    let (v, n) = frames();
    let mut sink = Recorder::default();
    let probe = p
        .extract_traced(&Presentation::new(&v, &n), &mut sink)
        .unwrap();
    let mut expected = frame_keys("", Modality::Crease);
    expected.extend(frame_keys("", Modality::Vein));
    assert_eq!(sink.log, expected);

    // Two references per modality: the probe's own templates and another palm's.
    let mut other = Pipeline::default().with_roi_detector(FixedDetector { seed: 7 });
    let o = other.extract(&Presentation::new(&v, &n)).unwrap();
    let enrolment = Enrolment::from_references(
        vec![probe.crease.clone().unwrap(), o.crease.unwrap()],
        vec![probe.vein.clone().unwrap(), o.vein.unwrap()],
    )
    .unwrap();
    let mut sink = Recorder::default();
    let d = p.verify_traced(&probe, &enrolment, &mut sink).unwrap();
    assert_eq!(d, p.verify(&probe, &enrolment).unwrap());
    let expected: Vec<(String, Shape)> = vec![
        (
            "crease.comparison.reference-0".into(),
            Shape::Comparison(true),
        ),
        (
            "crease.comparison.reference-1".into(),
            Shape::Comparison(true),
        ),
        ("crease.score".into(), Shape::Score(true)),
        (
            "vein.comparison.reference-0".into(),
            Shape::Comparison(true),
        ),
        (
            "vein.comparison.reference-1".into(),
            Shape::Comparison(true),
        ),
        ("vein.score".into(), Shape::Score(true)),
        ("decision".into(), Shape::Decision(d.verdict)),
    ];
    assert_eq!(sink.log, expected);
    // The probe's own template is reference 0: distance 0.
    assert_eq!(d.crease.unwrap().distance(), Some(0.0));
}

#[test]
fn enrol_keys_carry_the_capture_index_and_consistency_pairs() {
    let mut p = pipeline();
    let (v, n) = frames();
    let pres = [Presentation::new(&v, &n); 3];
    let mut sink = Recorder::default();
    let e = p.enrol_traced(&pres, &mut sink).unwrap();
    assert_eq!(e, p.enrol(&pres).unwrap());
    let mut expected = Vec::new();
    for c in 0..3 {
        for m in [Modality::Crease, Modality::Vein] {
            expected.extend(frame_keys(&format!("capture-{c}."), m));
        }
    }
    for m in ["crease", "vein"] {
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            expected.push((
                format!("capture-{a}.{m}.consistency.capture-{b}"),
                Shape::Comparison(true),
            ));
        }
    }
    assert_eq!(sink.log, expected);
}

#[test]
fn identify_emits_the_candidates() {
    let mut p = pipeline();
    let (v, n) = frames();
    let pres = [Presentation::new(&v, &n); 3];
    let e = p.enrol(&pres).unwrap();
    let mut g = p.new_gallery();
    g.add_subject("alice".into(), &e, Vec::new()).unwrap();
    let probe = p.extract(&Presentation::new(&v, &n)).unwrap();
    let mut sink = Recorder::default();
    let c = p.identify_traced(&probe, &g, 5, &mut sink).unwrap();
    assert_eq!(c, p.identify(&probe, &g, 5).unwrap());
    assert_eq!(sink.log, [("candidates".into(), Shape::Candidates(1))]);
}

#[test]
fn a_sink_that_accepts_nothing_receives_nothing() {
    let mut p = pipeline();
    let (v, n) = frames();
    let pres = Presentation::new(&v, &n);
    let mut refuser = Refuser;
    let traced = p.extract_traced(&pres, &mut refuser).unwrap();
    assert_eq!(traced, p.extract(&pres).unwrap());
    let e = p
        .enrol_traced(&[pres; 3], &mut refuser as &mut dyn TraceSink)
        .unwrap();
    let d = p.verify_traced(&traced, &e, &mut refuser).unwrap();
    assert_eq!(d, p.verify(&traced, &e).unwrap());
}

#[test]
fn a_selective_sink_gets_only_its_stages_and_the_mask_is_not_computed_otherwise() {
    /// Panics if the pipeline asks for the segmentation.
    struct NoMask(FixedDetector);
    impl RoiDetector for NoMask {
        fn detect(&self, frame: &Frame) -> Result<Roi, RoiError> {
            self.0.detect(frame)
        }
        fn hand_segmentation(&self, _: &Frame) -> Option<Result<(GrayImage, u32), RoiError>> {
            panic!("hand mask computed although no sink wanted it")
        }
    }
    let mut p = Pipeline::default().with_roi_detector(NoMask(FixedDetector { seed: 1 }));
    let (v, _) = frames();
    let mut sink = Recorder {
        only: Some(vec![Stage::Roi, Stage::Quality]),
        ..Recorder::default()
    };
    p.extract_traced(&Presentation::visible_only(&v), &mut sink)
        .unwrap();
    assert_eq!(
        sink.log,
        [
            ("crease.quality".into(), Shape::Quality),
            ("crease.roi".into(), Shape::Patch(128, 128))
        ]
    );
    // The untraced path never asks either.
    p.extract(&Presentation::visible_only(&v)).unwrap();
}

#[test]
fn a_failing_roi_ends_the_stream_after_the_frame_and_hand_mask() {
    /// The default detector without its segmentation hook.
    struct Opaque(crate::FullHandDetector);
    impl RoiDetector for Opaque {
        fn detect(&self, frame: &Frame) -> Result<Roi, RoiError> {
            self.0.detect(frame)
        }
    }
    // A bright disc on a dark background: a "hand" with no fingers.
    let disc = GrayImage::from_fn(160, 120, |x, y| {
        let (dx, dy) = (x as f32 - 80.0, y as f32 - 60.0);
        image::Luma([if dx * dx + dy * dy < 900.0 { 200 } else { 20 }])
    });
    let v = Frame::from_gray8(disc, Spectrum::Visible).unwrap();
    let mut p = Pipeline::default();
    let mut sink = Recorder::default();
    let err = p
        .extract_traced(&Presentation::visible_only(&v), &mut sink)
        .unwrap_err();
    assert!(matches!(err, PipelineError::Roi { .. }), "{err}");
    let keys: Vec<&str> = sink.log.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["crease.frame", "crease.hand-mask"], "{err}");
    // A detector without a segmentation stage: the frame only, and the same error.
    let mut p = Pipeline::default().with_roi_detector(Opaque(Default::default()));
    let mut sink = Recorder::default();
    let err2 = p
        .extract_traced(&Presentation::visible_only(&v), &mut sink)
        .unwrap_err();
    assert_eq!(err, err2);
    assert_eq!(sink.log, [("crease.frame".into(), Shape::Frame(160, 120))]);
}

#[test]
fn a_quality_rejection_still_shows_the_rejected_roi() {
    /// Rejects every frame on quality, and exposes the ROI it rejected.
    struct Rejects(FixedDetector, bool);
    impl RoiDetector for Rejects {
        fn detect(&self, _: &Frame) -> Result<Roi, RoiError> {
            Err(RoiError::Clipped {
                clipped_fraction: 0.5,
                max: 0.1,
            })
        }
        fn unchecked_roi(&self, frame: &Frame) -> Option<Result<Roi, RoiError>> {
            assert!(self.1, "unchecked ROI computed although no sink wanted it");
            Some(self.0.detect(frame))
        }
    }
    let (v, _) = frames();
    let pres = Presentation::visible_only(&v);
    let mut p = Pipeline::default().with_roi_detector(Rejects(FixedDetector { seed: 1 }, true));
    let mut sink = Recorder::default();
    let err = p.extract_traced(&pres, &mut sink).unwrap_err();
    assert!(
        matches!(
            err,
            PipelineError::Roi {
                source: RoiError::Clipped { .. },
                ..
            }
        ),
        "{err}"
    );
    let mut expected = frame_keys("", Modality::Crease);
    expected.truncate(6); // no code planes
    expected.remove(1); // this detector has no segmentation stage
    assert_eq!(sink.log, expected);
    // Not computed for sinks that want none of the ROI keys, nor untraced.
    let mut p = Pipeline::default().with_roi_detector(Rejects(FixedDetector { seed: 1 }, false));
    let mut sink = Recorder {
        only: Some(vec![Stage::Frame, Stage::HandMask, Stage::CodePlanes]),
        ..Recorder::default()
    };
    assert_eq!(p.extract_traced(&pres, &mut sink).unwrap_err(), err);
    assert_eq!(sink.log, [("crease.frame".into(), Shape::Frame(80, 60))]);
    assert_eq!(p.extract(&pres).unwrap_err(), err);
}

/// A fresh folder under the system temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "openpalm-trace-{name}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn folder_sink_writes_one_set_of_files_per_key() {
    let dir = temp_dir("unit");
    let mut p = pipeline();
    let (v, n) = frames();
    let mut sink = FolderSink::new(&dir).unwrap();
    sink.set_subfolder(Some("probe")).unwrap();
    let probe = p
        .extract_traced(&Presentation::new(&v, &n), &mut sink)
        .unwrap();
    sink.set_subfolder(None).unwrap();
    let e = Enrolment::from_references(vec![probe.crease.clone().unwrap()], vec![]).unwrap();
    p.verify_traced(&probe, &e, &mut sink).unwrap();
    let written = sink.finish().unwrap();
    let mut names: Vec<String> = written
        .iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    names.sort();
    let mut expected = Vec::new();
    for m in ["crease", "vein"] {
        for f in [
            "frame.png",
            "hand-mask.png",
            "hand-mask.json",
            "landmarks.json",
            "landmarks.png",
            "quality.json",
            "roi.png",
            "roi-mask.png",
            "code-planes.png",
            "code-planes.mask.png",
            "code-planes.json",
            "code-planes.oplm",
        ] {
            expected.push(format!("probe/{m}.{f}"));
        }
    }
    expected.extend(
        [
            "crease.comparison.reference-0.json",
            "crease.score.json",
            "decision.json",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(names, expected);
    for path in &written {
        assert!(std::fs::metadata(path).unwrap().len() > 0, "{path:?}");
    }
    // Files are what they say: the template round-trips, the images decode at their sizes.
    let t = PalmTemplate::from_bytes(
        &std::fs::read(dir.join("probe/crease.code-planes.oplm")).unwrap(),
    )
    .unwrap();
    assert_eq!(Some(&t), probe.crease.as_ref());
    let roi = image::open(dir.join("probe/vein.roi.png")).unwrap();
    assert_eq!((roi.width(), roi.height()), (128, 128));
    let planes = image::open(dir.join("probe/crease.code-planes.png")).unwrap();
    let g = t.geometry();
    assert_eq!(
        planes.width(),
        g.planes() as u32 * g.cols() as u32 * CELL_PX + (g.planes() as u32 - 1) * PLANE_GAP_PX
    );
    let decision: Value =
        serde_json::from_slice(&std::fs::read(dir.join("decision.json")).unwrap()).unwrap();
    assert_eq!(decision["crease"]["distance"], json!(0.0));
    assert_eq!(decision["vein"], Value::Null);
    let lm: Value =
        serde_json::from_slice(&std::fs::read(dir.join("probe/crease.landmarks.json")).unwrap())
            .unwrap();
    assert_eq!(lm["index_middle_px"], json!([10.0, 5.0]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn folder_sink_only_writes_the_stages_asked_for() {
    let dir = temp_dir("only");
    let mut p = pipeline();
    let (v, _) = frames();
    let mut sink = FolderSink::new(&dir).unwrap().only(&[Stage::Roi]);
    p.extract_traced(&Presentation::visible_only(&v), &mut sink)
        .unwrap();
    assert_eq!(sink.finish().unwrap(), [dir.join("crease.roi.png")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn folder_sink_errors_are_typed_and_kept() {
    let dir = temp_dir("errors");
    std::fs::create_dir_all(&dir).unwrap();
    // A folder below a regular file cannot be created (even by root).
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = FolderSink::new(file.join("sub")).unwrap_err();
    assert!(
        matches!(&err, TraceError::Folder { path, .. } if *path == file.join("sub")),
        "{err}"
    );

    let mut sink = FolderSink::new(dir.join("out")).unwrap();
    for bad in [
        "",
        "../x",
        "a/b",
        "a b",
        &"x".repeat(MAX_SUBFOLDER_NAME_BYTES + 1),
    ] {
        let e = sink.set_subfolder(Some(bad)).unwrap_err();
        assert!(
            matches!(&e, TraceError::SubfolderName { name } if name == bad),
            "{e}"
        );
    }
    sink.set_subfolder(Some("ok_sub-1")).unwrap();
    // The folder disappears and a file takes its place: every write fails, none is dropped.
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out"), b"not a folder").unwrap();
    let mut p = pipeline();
    let (v, _) = frames();
    p.extract_traced(&Presentation::visible_only(&v), &mut sink)
        .unwrap();
    assert!(sink.written().is_empty());
    let n = sink.failures().len();
    assert_eq!(n, 12, "{:?}", sink.failures());
    let err = sink.finish().unwrap_err();
    assert_eq!(err.failures.len(), 12);
    assert!(err.written.is_empty());
    for f in &err.failures {
        assert!(matches!(f, TraceError::Write { .. }), "{f}");
    }
    assert!(
        err.to_string()
            .starts_with("12 trace file(s) could not be written"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_numbers_are_the_shortest_f32_form() {
    assert_eq!(num(0.1), json!(0.1));
    assert_eq!(num(219.477_57), json!(219.47757));
    assert_eq!(num(f32::NAN), Value::Null);
    assert_eq!(num(f32::INFINITY), Value::Null);
}
