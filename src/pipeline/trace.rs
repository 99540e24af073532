//! Transparency: every stage's output, streamed to a sink under stable keys.
//!
//! The traced methods — [`Pipeline::extract_traced`], [`Pipeline::enrol_traced`],
//! [`Pipeline::verify_traced`], [`Pipeline::identify_traced`] — hand each intermediate result
//! to a [`TraceSink`] as a typed, borrowed [`Artefact`] under a [`TraceKey`]. The sink first
//! says whether it wants a key ([`TraceSink::accepts`]); an artefact nobody wants is not even
//! built (the hand mask, the one artefact that costs extra work, is computed only on demand).
//! [`FolderSink`] is a ready sink that writes PNG and JSON files into a folder.
//!
//! **No cost when absent.** The untraced methods ([`Pipeline::extract`], [`Pipeline::enrol`],
//! [`Pipeline::verify`]) are the traced ones called with [`NoTrace`]. The methods are generic
//! over the sink, so with `NoTrace` every hook is `if false { … }` after inlining and the
//! compiler removes it: the untraced path does the same work as before tracing existed. A
//! `&mut dyn TraceSink` also works (one virtual `accepts` call per key: seven per frame, a few
//! per verification, nothing per pixel).
//!
//! Measured (`cargo bench --features synth --bench trace`, thread CPU time, one 640×480
//! visible and NIR presentation, a shared 2-core machine under load, 2026-12-04). In the
//! release build the untraced `extract` and `enrol` bodies are the same instruction sequence as
//! on the commit before tracing (61fc4ef), `verify` has the same instruction count (other register choices), and the
//! per-frame helper calls the same functions (its error path is laid out differently). Timing
//! is within the machine's noise: `extract` 9.40 ms untraced against 9.15 and 9.92 ms for the
//! code before tracing in runs just before and after; `verify` 28.7 µs against 29.2 and
//! 35.5 µs. Through a `dyn` sink that accepts nothing: 8.75 ms and 29.0 µs. A sink that accepts
//! every key: 13.9 ms per presentation, the difference being the hand segmentation,
//! recomputed for `hand-mask`.
//!
//! # Keys
//!
//! A key is a [`Stage`] qualified by the modality (`crease` for the visible frame, `vein` for
//! the NIR frame), by the enrolment capture index (keys emitted by [`Pipeline::enrol_traced`])
//! and by a reference or second-capture index. Its [`name`](TraceKey::name) joins the present
//! parts with `.` in the order `capture-C`, modality, stage, `reference-R` (or `capture-R` for
//! a consistency pair): `crease.roi`, `capture-2.vein.code-planes`,
//! `crease.comparison.reference-1`, `capture-0.vein.consistency.capture-2`, `decision`. Names
//! are stable across releases; new stages may be added.
//!
//! | stage name | artefact | qualified by | emitted |
//! |---|---|---|---|
//! | `frame` | [`Artefact::Frame`] | modality, capture | for each frame of a presentation, before any check |
//! | `hand-mask` | [`Artefact::HandMask`] | modality, capture | when the detector exposes its segmentation ([`RoiDetector::hand_segmentation`]) and it succeeds; even if the ROI then fails |
//! | `landmarks` | [`Artefact::Landmarks`] | modality, capture | when landmarks were found: the accepted ROI, or the one the quality policy rejected (if the detector exposes it, [`RoiDetector::unchecked_roi`]; the stream then ends) |
//! | `quality` | [`Artefact::Quality`] | modality, capture | with `landmarks` |
//! | `roi` | [`Artefact::RoiPatch`] | modality, capture | with `landmarks` |
//! | `roi-mask` | [`Artefact::RoiMask`] | modality, capture | with `landmarks` |
//! | `code-planes` | [`Artefact::Template`] (code planes and validity mask) | modality, capture | when the extractor's template is accepted |
//! | `consistency` | [`Artefact::Comparison`] | modality, first and second capture | enrolment: each pair compared, before the bound is checked |
//! | `comparison` | [`Artefact::Comparison`] | modality, reference index | verification: each probe–reference comparison |
//! | `score` | [`Artefact::Score`] | modality | verification: each modality with a score (best over the references, z-score) |
//! | `decision` | [`Artefact::Decision`] | — | verification: the fused decision |
//! | `candidates` | [`Artefact::Candidates`] | — | identification: the ranked candidates |
//!
//! Order: per presentation, the visible frame's keys (`frame` … `code-planes`) then the NIR
//! frame's; per enrolment, the captures in order, then the consistency pairs (crease, then
//! vein; `(0,1), (0,2), …, (1,2), …`); per verification, crease comparisons and score, vein
//! comparisons and score, then the decision. A stage that fails ends the stream at that point
//! (the error goes to the caller as usual); a frame the quality policy rejects still shows its
//! ROI (`landmarks` … `roi-mask`) first, so the rejection can be seen.
//!
//! Identification searches the gallery with the prepared probe; its per-reference comparisons
//! are not traced (they number in the millions), only the candidates.
//!
//! # Example
//!
//! ```no_run
//! use openpalm::pipeline::{FolderSink, Presentation};
//! use openpalm::{Frame, Pipeline, Spectrum};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let visible = Frame::from_gray8(image::GrayImage::new(640, 480), Spectrum::Visible)?;
//! let mut pipeline = Pipeline::default();
//! let mut sink = FolderSink::new("trace-out")?;
//! let probe = pipeline.extract_traced(&Presentation::visible_only(&visible), &mut sink);
//! for path in sink.finish()? {
//!     println!("wrote {}", path.display());
//! }
//! # let _ = probe;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, Rgb, RgbImage};
use nalgebra::Point2;
use serde_json::{Value, json};

use super::{Candidate, Decision, ModalityScore, Pipeline, PipelineError, ProbeTemplates};
use super::{SubjectGallery, Verdict};
use crate::features::FeatureExtractor;
use crate::matching::{Comparison, ComparisonOutcome};
use crate::roi::{Landmarks, QualityReport, Roi, RoiTransform};
use crate::{Frame, Modality, PalmTemplate, RoiDetector};

/// A pipeline stage whose output can be traced. [`Stage::name`] is the stable name used in
/// keys and file names (see the [module docs](self) for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Stage {
    /// The input frame (`frame`).
    Frame,
    /// The detector's hand segmentation (`hand-mask`).
    HandMask,
    /// Finger-valley landmarks, palm circle, ROI corners and transform (`landmarks`).
    Landmarks,
    /// The ROI quality report (`quality`).
    Quality,
    /// The normalised palm patch (`roi`).
    Roi,
    /// The patch's validity mask (`roi-mask`).
    RoiMask,
    /// The template: code bit planes and cell validity mask (`code-planes`).
    CodePlanes,
    /// An enrolment consistency comparison between two captures (`consistency`).
    Consistency,
    /// A probe–reference comparison in verification (`comparison`).
    Comparison,
    /// A modality's score in verification (`score`).
    Score,
    /// The verification decision (`decision`).
    Decision,
    /// The identification candidates (`candidates`).
    Candidates,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: &'static [Stage] = &[
        Stage::Frame,
        Stage::HandMask,
        Stage::Landmarks,
        Stage::Quality,
        Stage::Roi,
        Stage::RoiMask,
        Stage::CodePlanes,
        Stage::Consistency,
        Stage::Comparison,
        Stage::Score,
        Stage::Decision,
        Stage::Candidates,
    ];

    /// The stable name (`"frame"`, `"hand-mask"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Frame => "frame",
            Stage::HandMask => "hand-mask",
            Stage::Landmarks => "landmarks",
            Stage::Quality => "quality",
            Stage::Roi => "roi",
            Stage::RoiMask => "roi-mask",
            Stage::CodePlanes => "code-planes",
            Stage::Consistency => "consistency",
            Stage::Comparison => "comparison",
            Stage::Score => "score",
            Stage::Decision => "decision",
            Stage::Candidates => "candidates",
        }
    }

    /// The stage with this name, if any.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.iter().copied().find(|s| s.name() == name)
    }
}

// `FolderSink` keeps the stages it writes as bits of a `u32`.
const _: () = assert!(Stage::ALL.len() <= 32);

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an artefact comes from: a [`Stage`] and its qualifiers. Cheap to build and compare
/// (`Copy`, no allocation); [`TraceKey::name`] gives the stable string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceKey {
    /// The stage.
    pub stage: Stage,
    /// The modality (crease: the visible frame; vein: the NIR frame), for per-modality stages.
    pub modality: Option<Modality>,
    /// The enrolment capture index (keys emitted during [`Pipeline::enrol_traced`]); for a
    /// consistency pair, the first capture.
    pub capture: Option<u32>,
    /// For `comparison`: the reference index within the enrolment's references of this
    /// modality. For `consistency`: the second capture of the pair.
    pub reference: Option<u32>,
}

impl TraceKey {
    /// A key with no qualifier (`decision`, `candidates`).
    pub const fn new(stage: Stage) -> Self {
        Self {
            stage,
            modality: None,
            capture: None,
            reference: None,
        }
    }

    /// A per-modality key (`crease.score`).
    pub const fn modality(stage: Stage, modality: Modality) -> Self {
        Self {
            modality: Some(modality),
            ..Self::new(stage)
        }
    }

    /// A per-frame key, with the enrolment capture index if any (`capture-1.vein.roi`).
    pub const fn capture(stage: Stage, modality: Modality, capture: Option<u32>) -> Self {
        Self {
            capture,
            ..Self::modality(stage, modality)
        }
    }

    /// A verification comparison with reference `reference` (`crease.comparison.reference-2`).
    pub const fn reference(stage: Stage, modality: Modality, reference: u32) -> Self {
        Self {
            reference: Some(reference),
            ..Self::modality(stage, modality)
        }
    }

    /// An enrolment consistency comparison of captures `first` and `second`
    /// (`capture-0.crease.consistency.capture-2`).
    pub const fn consistency(modality: Modality, first: u32, second: u32) -> Self {
        Self {
            stage: Stage::Consistency,
            modality: Some(modality),
            capture: Some(first),
            reference: Some(second),
        }
    }

    /// The stable string form: the present parts joined by `.` in the order `capture-C`,
    /// modality, stage, `reference-R` (`capture-R` for `consistency`). Safe as a file name
    /// (ASCII letters, digits, `-` and `.`).
    pub fn name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TraceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.capture {
            write!(f, "capture-{c}.")?;
        }
        if let Some(m) = self.modality {
            write!(f, "{m}.")?;
        }
        f.write_str(self.stage.name())?;
        if let Some(r) = self.reference {
            let what = if self.stage == Stage::Consistency {
                "capture"
            } else {
                "reference"
            };
            write!(f, ".{what}-{r}")?;
        }
        Ok(())
    }
}

/// One stage's output, borrowed from the pipeline for the duration of
/// [`TraceSink::record`]. Copy what you keep.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Artefact<'a> {
    /// `frame`: the input frame, as given.
    Frame(&'a Frame),
    /// `hand-mask`: binary hand mask (255 = hand) at the detector's working resolution.
    HandMask {
        /// The mask.
        mask: &'a GrayImage,
        /// Frame pixels per mask pixel (the detector's integer downscale factor).
        scale: u32,
    },
    /// `landmarks`: in frame pixels, with the frame they refer to (for overlays).
    Landmarks {
        /// The frame.
        frame: &'a Frame,
        /// Finger valleys and palm circle, frame px.
        landmarks: &'a Landmarks,
        /// ROI corners, frame px (order as in [`Roi::corners`]).
        corners: &'a [Point2<f32>; 4],
        /// ROI ↔ frame map.
        transform: &'a RoiTransform,
    },
    /// `quality`: the ROI's quality measurements.
    Quality(&'a QualityReport),
    /// `roi`: the normalised palm patch, 8-bit gray.
    RoiPatch(&'a GrayImage),
    /// `roi-mask`: the patch validity mask (255 = valid).
    RoiMask(&'a GrayImage),
    /// `code-planes`: the template (code bit planes and cell validity mask).
    Template(&'a PalmTemplate),
    /// `comparison` and `consistency`: one comparison's outcome.
    Comparison(&'a ComparisonOutcome),
    /// `score`: a modality's score in a verification.
    Score(&'a ModalityScore),
    /// `decision`: the verification decision.
    Decision(&'a Decision),
    /// `candidates`: the identification candidates, best first.
    Candidates(&'a [Candidate]),
}

/// Receives the pipeline's intermediate results. See the [module docs](self) for the keys.
///
/// `record` is infallible: a sink that can fail (files, network) keeps its errors and reports
/// them when asked (as [`FolderSink::finish`] does), so tracing never changes what the
/// pipeline decides.
pub trait TraceSink {
    /// Whether the sink wants the artefact under `key`. The pipeline asks before building an
    /// artefact and skips it on `false`. The default accepts everything.
    fn accepts(&self, key: &TraceKey) -> bool {
        let _ = key;
        true
    }

    /// Receives an artefact the sink accepted.
    fn record(&mut self, key: &TraceKey, artefact: Artefact<'_>);
}

/// The sink that wants nothing: what the untraced methods use. Every hook compiles away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoTrace;

impl TraceSink for NoTrace {
    #[inline(always)]
    fn accepts(&self, _key: &TraceKey) -> bool {
        false
    }
    #[inline(always)]
    fn record(&mut self, _key: &TraceKey, _artefact: Artefact<'_>) {}
}

/// Records `artefact` under `key` if the sink accepts it.
#[inline(always)]
pub(crate) fn emit<S: TraceSink + ?Sized>(sink: &mut S, key: TraceKey, artefact: Artefact<'_>) {
    if sink.accepts(&key) {
        sink.record(&key, artefact);
    }
}

/// `frame`, then `hand-mask` (computed only if accepted).
#[inline(always)]
pub(crate) fn emit_frame<D: RoiDetector, S: TraceSink + ?Sized>(
    detector: &D,
    frame: &Frame,
    key: impl Fn(Stage) -> TraceKey,
    sink: &mut S,
) {
    emit(sink, key(Stage::Frame), Artefact::Frame(frame));
    let k = key(Stage::HandMask);
    if sink.accepts(&k)
        && let Some(Ok((mask, scale))) = detector.hand_segmentation(frame)
    {
        sink.record(&k, Artefact::HandMask { mask: &mask, scale });
    }
}

/// `landmarks`, `quality`, `roi`, `roi-mask`.
#[inline(always)]
pub(crate) fn emit_roi<S: TraceSink + ?Sized>(
    frame: &Frame,
    roi: &Roi,
    key: impl Fn(Stage) -> TraceKey,
    sink: &mut S,
) {
    let landmarks = Artefact::Landmarks {
        frame,
        landmarks: &roi.landmarks,
        corners: &roi.corners,
        transform: &roi.transform,
    };
    emit(sink, key(Stage::Landmarks), landmarks);
    emit(sink, key(Stage::Quality), Artefact::Quality(&roi.quality));
    emit(sink, key(Stage::Roi), Artefact::RoiPatch(&roi.patch));
    emit(sink, key(Stage::RoiMask), Artefact::RoiMask(&roi.mask));
}

/// On a rejected frame: the ROI before the quality policy, if the detector exposes it and
/// a sink wants any of its keys.
#[inline(always)]
pub(crate) fn emit_rejected_roi<D: RoiDetector, S: TraceSink + ?Sized>(
    detector: &D,
    frame: &Frame,
    key: impl Fn(Stage) -> TraceKey,
    sink: &mut S,
) {
    let wanted = [Stage::Landmarks, Stage::Quality, Stage::Roi, Stage::RoiMask]
        .into_iter()
        .any(|s| sink.accepts(&key(s)));
    if wanted && let Some(Ok(roi)) = detector.unchecked_roi(frame) {
        emit_roi(frame, &roi, key, sink);
    }
}

impl<D: RoiDetector, C: FeatureExtractor, V: FeatureExtractor> Pipeline<D, C, V> {
    /// [`Pipeline::identify`], then the candidates to `sink` under `candidates`. The gallery
    /// search itself is not traced (see the [module docs](self)).
    pub fn identify_traced<S: TraceSink + ?Sized>(
        &self,
        probe: &ProbeTemplates,
        gallery: &SubjectGallery,
        k: usize,
        sink: &mut S,
    ) -> Result<Vec<Candidate>, PipelineError> {
        let candidates = self.identify(probe, gallery, k)?;
        emit(
            sink,
            TraceKey::new(Stage::Candidates),
            Artefact::Candidates(&candidates),
        );
        Ok(candidates)
    }
}

// ---------------------------------------------------------------------------------------------
// FolderSink

/// Why a [`FolderSink`] could not create its folder or write a file. Carries the path.
///
/// **Whose fault:** the deployment (a folder that cannot be created or written, a full disk).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The output folder (or a subfolder) could not be created.
    #[error("cannot create trace folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A subfolder name that is not a single safe path component.
    #[error(
        "trace subfolder name {name:?} ({len} bytes): needs 1..={max} ASCII letters, digits, '-' or '_'",
        len = name.len(),
        max = MAX_SUBFOLDER_NAME_BYTES
    )]
    SubfolderName {
        /// The name given.
        name: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An image could not be encoded as PNG.
    #[error("cannot encode {path}: {source}")]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
}

/// The files a [`FolderSink`] could not write, returned by [`FolderSink::finish`].
#[derive(Debug, thiserror::Error)]
#[error(
    "{} trace file(s) could not be written ({} written); first: {}",
    failures.len(),
    written.len(),
    failures.first().map(ToString::to_string).unwrap_or_default()
)]
pub struct FolderSinkError {
    /// Every failure, in order (never empty).
    pub failures: Vec<TraceError>,
    /// The files that were written.
    pub written: Vec<PathBuf>,
}

/// Longest subfolder name [`FolderSink::set_subfolder`] accepts, in bytes.
pub const MAX_SUBFOLDER_NAME_BYTES: usize = 64;

/// A [`TraceSink`] that writes each artefact as files named after its key
/// ([`TraceKey::name`]), in a folder or one of its subfolders ([`FolderSink::set_subfolder`]):
///
/// | stage | files (`K` = key name) |
/// |---|---|
/// | `frame` | `K.png` (8- or 16-bit gray, or RGB(A), as the frame) |
/// | `hand-mask` | `K.png`, `K.json` (size, downscale factor) |
/// | `landmarks` | `K.json` (valleys, palm circle, ROI corners, transform; frame px), `K.png` (overlay on the frame: ROI square blue with its near edge cyan, valleys red / yellow / magenta, palm circle green) |
/// | `quality` | `K.json` |
/// | `roi`, `roi-mask` | `K.png` |
/// | `code-planes` | `K.png` (planes side by side, 8 px per cell: white = 1, black = 0, gray = invalid), `K.mask.png` (white = valid cell), `K.json` (modality, algorithm, geometry, valid cells), `K.oplm` (the template bytes) |
/// | `consistency`, `comparison`, `score`, `decision`, `candidates` | `K.json` |
///
/// Files are overwritten. A write that fails is kept as a [`TraceError`] and the sink goes on
/// with the next artefact; [`FolderSink::finish`] returns them all. [`FolderSink::only`]
/// restricts the stages written (the pipeline then skips the others).
#[derive(Debug)]
pub struct FolderSink {
    root: PathBuf,
    dir: PathBuf,
    stages: u32,
    written: Vec<PathBuf>,
    failures: Vec<TraceError>,
}

impl FolderSink {
    /// A sink writing into `dir`, created (with its parents) if missing.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, TraceError> {
        let root = dir.into();
        std::fs::create_dir_all(&root).map_err(|source| TraceError::Folder {
            path: root.clone(),
            source,
        })?;
        Ok(Self {
            dir: root.clone(),
            root,
            stages: u32::MAX,
            written: Vec::new(),
            failures: Vec::new(),
        })
    }

    /// Writes only these stages.
    pub fn only(mut self, stages: &[Stage]) -> Self {
        self.stages = stages.iter().fold(0, |m, &s| m | 1 << s as u32);
        self
    }

    /// Writes the next artefacts into subfolder `name` of the sink's folder (created if
    /// missing), or back into the folder itself with `None`: e.g. `probe` and `enrolment` for
    /// two extractions whose keys would otherwise collide. `name`: 1 to
    /// [`MAX_SUBFOLDER_NAME_BYTES`] ASCII letters, digits, `-` or `_`.
    pub fn set_subfolder(&mut self, name: Option<&str>) -> Result<(), TraceError> {
        let Some(name) = name else {
            self.dir = self.root.clone();
            return Ok(());
        };
        let ok = (1..=MAX_SUBFOLDER_NAME_BYTES).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(TraceError::SubfolderName { name: name.into() });
        }
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).map_err(|source| TraceError::Folder {
            path: dir.clone(),
            source,
        })?;
        self.dir = dir;
        Ok(())
    }

    /// The sink's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The files written so far, in order.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// The failures so far, in order.
    pub fn failures(&self) -> &[TraceError] {
        &self.failures
    }

    /// Ends tracing: the files written, or every failure (with the files that were written).
    pub fn finish(self) -> Result<Vec<PathBuf>, FolderSinkError> {
        if self.failures.is_empty() {
            Ok(self.written)
        } else {
            Err(FolderSinkError {
                failures: self.failures,
                written: self.written,
            })
        }
    }

    fn write_bytes(&mut self, path: PathBuf, bytes: &[u8]) {
        match std::fs::write(&path, bytes) {
            Ok(()) => self.written.push(path),
            Err(source) => self.failures.push(TraceError::Write { path, source }),
        }
    }

    fn write_png(&mut self, path: PathBuf, image: &DynamicImage) {
        let mut buf = Vec::new();
        match image.write_to(&mut Cursor::new(&mut buf), image::ImageFormat::Png) {
            Ok(()) => self.write_bytes(path, &buf),
            Err(source) => self.failures.push(TraceError::Encode { path, source }),
        }
    }

    fn write_json(&mut self, path: PathBuf, value: &Value) {
        // Serialising a `Value` to memory cannot fail (string keys only).
        let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
        text.push('\n');
        self.write_bytes(path, text.as_bytes());
    }
}

impl TraceSink for FolderSink {
    fn accepts(&self, key: &TraceKey) -> bool {
        self.stages & (1 << key.stage as u32) != 0
    }

    fn record(&mut self, key: &TraceKey, artefact: Artefact<'_>) {
        let name = key.name();
        let file = |ext: &str| self.dir.join(format!("{name}.{ext}"));
        let (png, json) = (file("png"), file("json"));
        match artefact {
            Artefact::Frame(frame) => self.write_png(png, &frame.to_dynamic()),
            Artefact::HandMask { mask, scale } => {
                let meta = json!({
                    "width_px": mask.width(),
                    "height_px": mask.height(),
                    "frame_px_per_mask_px": scale,
                });
                self.write_png(png, &DynamicImage::ImageLuma8(mask.clone()));
                self.write_json(json, &meta);
            }
            Artefact::Landmarks {
                frame,
                landmarks,
                corners,
                transform,
            } => {
                self.write_json(json, &landmarks_json(landmarks, corners, transform));
                let overlay = landmarks_overlay(frame, landmarks, corners);
                self.write_png(png, &DynamicImage::ImageRgb8(overlay));
            }
            Artefact::Quality(q) => self.write_json(json, &quality_json(q)),
            Artefact::RoiPatch(img) | Artefact::RoiMask(img) => {
                self.write_png(png, &DynamicImage::ImageLuma8(img.clone()))
            }
            Artefact::Template(t) => {
                let mask = file("mask.png");
                let bytes = file("oplm");
                let (planes, valid) = code_images(t);
                self.write_png(png, &DynamicImage::ImageLuma8(planes));
                self.write_png(mask, &DynamicImage::ImageLuma8(valid));
                self.write_json(json, &template_json(t));
                self.write_bytes(bytes, &t.to_bytes());
            }
            Artefact::Comparison(o) => self.write_json(json, &outcome_json(o)),
            Artefact::Score(s) => self.write_json(json, &score_json(s)),
            Artefact::Decision(d) => self.write_json(json, &decision_json(d)),
            Artefact::Candidates(c) => {
                let list: Vec<Value> = c
                    .iter()
                    .enumerate()
                    .map(|(rank, c)| {
                        json!({
                            "rank": rank + 1,
                            "subject": c.subject.to_string(),
                            "decision": decision_json(&c.decision),
                        })
                    })
                    .collect();
                self.write_json(json, &Value::Array(list));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON and images

/// An `f32` as its shortest decimal form (`219.47757`, not the widened `219.47756958007812`);
/// `null` when not finite.
fn num(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

fn point(p: &Point2<f32>) -> Value {
    json!([num(p.x), num(p.y)])
}

fn landmarks_json(l: &Landmarks, corners: &[Point2<f32>; 4], t: &RoiTransform) -> Value {
    let tr = t.similarity.isometry.translation.vector;
    json!({
        "units": "frame pixels, pixel centres at integer coordinates",
        "index_middle_px": point(&l.index_middle),
        "middle_ring_px": point(&l.middle_ring),
        "ring_little_px": point(&l.ring_little),
        "palm_center_px": point(&l.palm_center),
        "palm_radius_px": num(l.palm_radius_px),
        "roi_corners_px": corners.iter().map(point).collect::<Vec<_>>(),
        "transform": {
            "frame_px_per_roi_px": num(t.scale()),
            "rotation_rad": num(t.similarity.isometry.rotation.angle()),
            "translation_px": [num(tr.x), num(tr.y)],
            "mirrored": t.mirrored,
        },
    })
}

fn quality_json(q: &QualityReport) -> Value {
    json!({
        "valley_distance_px": num(q.valley_distance_px),
        "palm_radius_px": num(q.palm_radius_px),
        "inside_fraction": num(q.inside_fraction),
        "outside_frame_fraction": num(q.outside_frame_fraction),
        "focus": num(q.focus),
        "mean_gray": num(q.mean_gray),
        "contrast": num(q.contrast),
        "clipped_fraction": num(q.clipped_fraction),
        "segmentation_separability": num(q.segmentation_separability),
    })
}

fn template_json(t: &PalmTemplate) -> Value {
    let g = t.geometry();
    json!({
        "modality": t.modality().name(),
        "algorithm": t.algorithm().to_string(),
        "rows": g.rows(),
        "cols": g.cols(),
        "planes": g.planes(),
        "valid_cells": t.valid_cells(),
        "encoded_bytes": t.encoded_len(),
    })
}

fn comparison_json(c: &Comparison) -> Value {
    json!({
        "outcome": "compared",
        "distance": c.distance,
        "differing_bits": c.differing_bits,
        "overlap_cells": c.overlap_cells,
        "overlap_bits": c.overlap_bits,
        "shift_cells": { "dy": c.shift.dy, "dx": c.shift.dx },
    })
}

fn insufficient_json(best_overlap_cells: u32, required_cells: u32) -> Value {
    json!({
        "outcome": "insufficient-overlap",
        "best_overlap_cells": best_overlap_cells,
        "required_cells": required_cells,
    })
}

fn outcome_json(o: &ComparisonOutcome) -> Value {
    match *o {
        ComparisonOutcome::Compared(ref c) => comparison_json(c),
        ComparisonOutcome::InsufficientOverlap {
            best_overlap_cells,
            required_cells,
        } => insufficient_json(best_overlap_cells, required_cells),
    }
}

fn score_json(s: &ModalityScore) -> Value {
    match *s {
        ModalityScore::Compared {
            ref comparison,
            reference,
            z,
        } => {
            let mut v = comparison_json(comparison);
            v["reference"] = json!(reference);
            v["z"] = json!(z);
            v
        }
        ModalityScore::InsufficientOverlap {
            best_overlap_cells,
            required_cells,
        } => insufficient_json(best_overlap_cells, required_cells),
    }
}

fn decision_json(d: &Decision) -> Value {
    json!({
        "verdict": match d.verdict {
            Verdict::Match => "match",
            Verdict::NonMatch => "non-match",
            Verdict::NotComparable => "not-comparable",
        },
        "fused_score": d.fused_score,
        "min_fused_score": d.min_fused_score,
        "crease": d.crease.as_ref().map(score_json),
        "vein": d.vein.as_ref().map(score_json),
    })
}

/// Pixels per template cell in the `code-planes` images.
const CELL_PX: u32 = 8;
/// Gap between planes, pixels.
const PLANE_GAP_PX: u32 = 4;

/// (planes side by side: white = 1, black = 0, gray = invalid cell; validity mask).
fn code_images(t: &PalmTemplate) -> (GrayImage, GrayImage) {
    let g = t.geometry();
    let (rows, cols, planes) = (g.rows() as u32, g.cols() as u32, g.planes() as u32);
    let pw = cols * CELL_PX;
    let width = planes * pw + (planes - 1) * PLANE_GAP_PX;
    let planes_img = GrayImage::from_fn(width, rows * CELL_PX, |x, y| {
        let (p, xin) = (x / (pw + PLANE_GAP_PX), x % (pw + PLANE_GAP_PX));
        if xin >= pw {
            return image::Luma([64]);
        }
        let (r, c) = ((y / CELL_PX) as usize, (xin / CELL_PX) as usize);
        let v = if !t.is_valid(r, c) {
            128
        } else if t.bit(p as usize, r, c) {
            255
        } else {
            0
        };
        image::Luma([v])
    });
    let mask_img = GrayImage::from_fn(pw, rows * CELL_PX, |x, y| {
        let valid = t.is_valid((y / CELL_PX) as usize, (x / CELL_PX) as usize);
        image::Luma([if valid { 255 } else { 0 }])
    });
    (planes_img, mask_img)
}

fn landmarks_overlay(frame: &Frame, l: &Landmarks, corners: &[Point2<f32>; 4]) -> RgbImage {
    let mut img = frame.to_dynamic().into_rgb8();
    let r = (img.width().max(img.height()) / 400).max(1) as i32;
    let blue = Rgb([40, 90, 255]);
    for i in 0..4 {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        // The near edge (corners 0–1, next to the finger valleys) in cyan.
        let c = if i == 0 { Rgb([0, 230, 230]) } else { blue };
        line(&mut img, a, b, c, r);
    }
    let n = 256;
    for i in 0..n {
        let a = i as f32 / n as f32 * std::f32::consts::TAU;
        let p = Point2::new(
            l.palm_center.x + l.palm_radius_px * a.cos(),
            l.palm_center.y + l.palm_radius_px * a.sin(),
        );
        dot(&mut img, p, Rgb([60, 220, 60]), r - 1);
    }
    let colours = [Rgb([255, 40, 40]), Rgb([255, 230, 0]), Rgb([255, 0, 255])];
    for (v, c) in l.valleys().iter().zip(colours) {
        let d = 4.0 * r as f32;
        line(
            &mut img,
            *v - nalgebra::Vector2::new(d, 0.0),
            *v + nalgebra::Vector2::new(d, 0.0),
            c,
            r,
        );
        line(
            &mut img,
            *v - nalgebra::Vector2::new(0.0, d),
            *v + nalgebra::Vector2::new(0.0, d),
            c,
            r,
        );
    }
    dot(&mut img, l.palm_center, Rgb([60, 220, 60]), 2 * r);
    img
}

fn dot(img: &mut RgbImage, p: Point2<f32>, c: Rgb<u8>, r: i32) {
    if !(p.x.is_finite() && p.y.is_finite()) {
        return;
    }
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (cx, cy) = (p.x.round() as i64, p.y.round() as i64);
    let r = r.max(0) as i64;
    for y in (cy - r).max(0)..=(cy + r).min(h - 1) {
        for x in (cx - r).max(0)..=(cx + r).min(w - 1) {
            img.put_pixel(x as u32, y as u32, c);
        }
    }
}

fn line(img: &mut RgbImage, a: Point2<f32>, b: Point2<f32>, c: Rgb<u8>, r: i32) {
    let len = (b - a).norm();
    if !len.is_finite() {
        return;
    }
    // Landmarks lie near the frame; bound the work for any input anyway.
    let steps = (len.ceil() as usize).clamp(1, 4 * (img.width() + img.height()) as usize);
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        dot(img, a + (b - a) * t, c, r / 2);
    }
}

#[cfg(test)]
mod tests;
