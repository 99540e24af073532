//! The pipeline a terminal integrates: frames in, enrolment, verification (1:1) and
//! identification (1:N) out.
//!
//! ```text
//! Presentation (visible and/or NIR frame)
//!   → RoiDetector (quality-gated ROI per frame)
//!   → FeatureExtractor (crease code from the visible ROI, vein code from the NIR ROI)
//!   → ProbeTemplates
//!   → enrol (several presentations, consistency check) → Enrolment
//!   → verify(probe, enrolment) → Decision      identify(probe, gallery, k) → Vec<Candidate>
//! ```
//!
//! [`Pipeline`] is statically typed over its stages; [`Pipeline::default`] uses the
//! [`FullHandDetector`], the BOCV crease coder and the maximum-curvature vein coder, and the
//! builder methods ([`Pipeline::with_roi_detector`], [`Pipeline::with_crease_extractor`],
//! [`Pipeline::with_vein_extractor`]) swap any of them. Everything it decides with is data in
//! [`PipelineConfig`].
//!
//! **Scores.** Each modality gives a fractional Hamming distance (best over the shift window and
//! over the enrolment's references). It is z-normalised against the non-mated distribution,
//! `z = (μ_nonmated − d) / σ_nonmated`, and the modalities are fused as a weighted mean of their
//! z-scores ([`FusionConfig`]); the [`Threshold`] decides on the fused score. Either modality may
//! be absent (crease-only or vein-only deployments): the fusion uses those compared.
//!
//! **Transparency.** Every stage's output can be streamed to a [`TraceSink`] under stable keys
//! ([`Pipeline::extract_traced`], [`Pipeline::enrol_traced`], [`Pipeline::verify_traced`],
//! [`Pipeline::identify_traced`]); [`FolderSink`] writes them as PNG and JSON files. The
//! untraced methods run the same code with [`NoTrace`], which compiles away (see [`trace`]).
//!
//! **Cost.** The probe is prepared once per modality per call ([`Matcher`]); 1:N searches run
//! on [`matching::Gallery`](crate::matching::Gallery).
//!
//! **Operating points.** [`Threshold::fmr`] (default `1e-6`) maps a target false-match rate to
//! a fused-score threshold through the measured [`CALIBRATION`] table; [`Threshold::fpir`]
//! accounts for the gallery size in identification (FPIR ≈ N · FMR); see [`calibration`].

pub mod calibration;
mod config;
mod gallery;
pub mod trace;

pub use calibration::{CALIBRATION, ComparedModalities};
pub use config::{
    DEFAULT_CONSISTENCY_PAIR_FMR, EnrolmentConfig, FusionConfig, MAX_ENROLMENT_CAPTURES,
    MAX_METADATA_BYTES_LIMIT, ModalityFusion, PIPELINE_CONFIG_SCHEMA_VERSION, PipelineConfig,
    Threshold,
};
pub use gallery::{Candidate, SubjectGallery, SubjectId};
pub use trace::{
    Artefact, FolderSink, FolderSinkError, NoTrace, Stage, TraceError, TraceKey, TraceSink,
};

use crate::Spectrum;
use crate::features::{FeatureError, FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor};
use crate::matching::{Comparison, ComparisonOutcome, Matcher, MatchingError};
use crate::roi::{QualityReport, RoiError};
use crate::{ConfigError, Frame, FullHandDetector, Modality, PalmTemplate, RoiDetector, RoiImage};

/// The two modalities, in the order the pipeline reports them.
pub const MODALITIES: [Modality; 2] = [Modality::Crease, Modality::Vein];

/// Why the pipeline refused a presentation, an enrolment or a gallery operation.
///
/// Stage errors carry the modality and the stage's own error (which carries the measured value
/// and the bound); enrolment errors also name the capture(s).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The presentation had neither a visible nor a NIR frame. **Whose fault:** the caller.
    #[error("empty presentation: no visible and no NIR frame")]
    EmptyPresentation,
    /// A frame was given in the wrong slot (a NIR frame as the visible one, or the reverse).
    /// **Whose fault:** the caller or the sensor adapter.
    #[error("the {modality} slot needs a {expected} frame, got {found:?}")]
    WrongSpectrum {
        /// The slot (crease = visible, vein = NIR).
        modality: Modality,
        /// What the slot needs (`"visible"` or `"near-infrared"`).
        expected: &'static str,
        /// The frame's spectrum.
        found: Spectrum,
    },
    /// No usable palm region: the presentation's fault (retry), with value and bound.
    #[error("{modality} ROI: {source}")]
    Roi {
        /// The modality whose frame failed.
        modality: Modality,
        /// The detector's error.
        source: RoiError,
    },
    /// The ROI could not be encoded (the detector and the extractor disagree on the ROI, or a
    /// non-finite pixel). **Whose fault:** the integrator's stage combination.
    #[error("{modality} features: {source}")]
    Features {
        /// The modality whose extraction failed.
        modality: Modality,
        /// The extractor's error.
        source: FeatureError,
    },
    /// The extractor in a slot produced templates of the other modality. **Whose fault:** the
    /// integrator (a vein extractor given to `with_crease_extractor`).
    #[error("the {slot} extractor produced {produced} templates")]
    ExtractorModality {
        /// The slot.
        slot: Modality,
        /// What its extractor produced.
        produced: Modality,
    },
    /// A comparison or gallery operation was refused (templates not comparable with each
    /// other or with the gallery, duplicate reference ids). **Whose fault:** the integrator
    /// (mixing templates of different algorithms or stage settings).
    #[error("{modality} matching: {source}")]
    Matching {
        /// The modality compared.
        modality: Modality,
        /// The matcher's or gallery's error.
        source: MatchingError,
    },
    /// An enrolment got too few or too many captures. **Whose fault:** the caller.
    #[error("enrolment needs {min}..={max} captures, got {found}")]
    CaptureCount {
        /// Captures given.
        found: usize,
        /// [`EnrolmentConfig::captures_min`].
        min: u32,
        /// [`EnrolmentConfig::captures_max`].
        max: u32,
    },
    /// One enrolment capture failed (quality, ROI, features): `capture` is its index.
    /// **Whose fault:** that presentation (retake it).
    #[error("enrolment capture {capture}: {source}")]
    Capture {
        /// Index of the failed capture in the enrolment's input.
        capture: usize,
        /// Why it failed.
        source: Box<PipelineError>,
    },
    /// Enrolment captures do not all have the same modalities (one has a NIR frame, another
    /// not). **Whose fault:** the caller.
    #[error("enrolment capture {capture} has {found} template(s), capture 0 has {expected}")]
    ModalitiesDiffer {
        /// The first capture that differs from capture 0.
        capture: usize,
        /// Modalities of capture 0 (`"crease+vein"`, `"crease"`, `"vein"`).
        expected: &'static str,
        /// Modalities of that capture.
        found: &'static str,
    },
    /// Two enrolment captures do not match each other: different palms, or one capture is
    /// poor. **Whose fault:** the presentation (retake the enrolment).
    #[error(
        "enrolment captures {first} and {second} disagree ({modality}): distance {distance:.4}, bound {max_distance:.4}"
    )]
    InconsistentCaptures {
        /// The modality that disagrees.
        modality: Modality,
        /// Index of the first capture of the pair.
        first: usize,
        /// Index of the second capture of the pair.
        second: usize,
        /// Their distance.
        distance: f64,
        /// [`EnrolmentConfig::max_consistency_distance`].
        max_distance: f64,
    },
    /// Two enrolment captures cannot even be compared: too little of the palm is valid in both.
    #[error(
        "enrolment captures {first} and {second} overlap too little ({modality}): {best_overlap_cells} cells, need {required_cells}"
    )]
    CapturesOverlap {
        /// The modality.
        modality: Modality,
        /// Index of the first capture of the pair.
        first: usize,
        /// Index of the second capture of the pair.
        second: usize,
        /// Largest overlap any shift had, in cells.
        best_overlap_cells: u32,
        /// Overlap required, in cells.
        required_cells: u32,
    },
    /// A probe and an enrolment (or gallery) share no modality: nothing to compare.
    /// **Whose fault:** the integrator (a vein-only probe against a crease-only enrolment).
    #[error("probe and reference share no modality")]
    NoCommonModality,
    /// Subject metadata over [`PipelineConfig::max_metadata_bytes`]. **Whose fault:** the caller.
    #[error("subject metadata is {bytes} bytes, limit {limit}")]
    MetadataTooLarge {
        /// Size given.
        bytes: usize,
        /// The limit.
        limit: u32,
    },
    /// A subject id is already in the gallery. **Whose fault:** the caller.
    #[error("subject {0} is already in the gallery")]
    DuplicateSubject(SubjectId),
    /// A subject id is not in the gallery. **Whose fault:** the caller.
    #[error("subject {0} is not in the gallery")]
    UnknownSubject(SubjectId),
    /// The gallery's reference numbering (one `u64` counter over all modalities, never reused)
    /// is exhausted; nothing was added. **Whose fault:** nobody's in practice (2⁶⁴ references);
    /// reported rather than wrapped so that a reference id is never given out twice.
    #[error("the gallery is full: reference id {0} is the last one")]
    GalleryFull(u64),
}

/// One presentation of a hand: a visible frame (crease) and/or a NIR frame (vein), taken
/// together. Either may be absent, not both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presentation<'a> {
    /// Visible-light frame ([`Spectrum::Visible`]), for the crease code.
    pub visible: Option<&'a Frame>,
    /// Near-infrared frame ([`Spectrum::NearInfrared`]), for the vein code.
    pub nir: Option<&'a Frame>,
}

impl<'a> Presentation<'a> {
    /// Both frames.
    pub fn new(visible: &'a Frame, nir: &'a Frame) -> Self {
        Self {
            visible: Some(visible),
            nir: Some(nir),
        }
    }
    /// A visible frame only (crease-only deployment).
    pub fn visible_only(visible: &'a Frame) -> Self {
        Self {
            visible: Some(visible),
            nir: None,
        }
    }
    /// A NIR frame only (vein-only deployment).
    pub fn nir_only(nir: &'a Frame) -> Self {
        Self {
            visible: None,
            nir: Some(nir),
        }
    }
}

/// The templates of one presentation, with the ROI quality of each frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTemplates {
    /// Crease template, if the presentation had a visible frame.
    pub crease: Option<PalmTemplate>,
    /// Vein template, if the presentation had a NIR frame.
    pub vein: Option<PalmTemplate>,
    /// ROI quality of the visible frame.
    pub crease_quality: Option<QualityReport>,
    /// ROI quality of the NIR frame.
    pub vein_quality: Option<QualityReport>,
}

impl ProbeTemplates {
    /// The template of a modality.
    pub fn template(&self, modality: Modality) -> Option<&PalmTemplate> {
        match modality {
            Modality::Crease => self.crease.as_ref(),
            Modality::Vein => self.vein.as_ref(),
        }
    }
}

fn modality_set(crease: bool, vein: bool) -> &'static str {
    match (crease, vein) {
        (true, true) => "crease+vein",
        (true, false) => "crease",
        (false, true) => "vein",
        (false, false) => "none",
    }
}

/// An enrolment record: several references per modality from one enrolment session.
///
/// Built by [`Pipeline::enrol`] (quality-gated, consistency-checked) or, for templates enrolled
/// earlier and stored as bytes, by [`Enrolment::from_references`].
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    crease: Vec<PalmTemplate>,
    vein: Vec<PalmTemplate>,
}

impl Enrolment {
    /// An enrolment from stored references (no consistency check: they were checked when
    /// enrolled). Every template must be of the list's modality; at least one template overall.
    pub fn from_references(
        crease: Vec<PalmTemplate>,
        vein: Vec<PalmTemplate>,
    ) -> Result<Self, PipelineError> {
        for (slot, list) in [(Modality::Crease, &crease), (Modality::Vein, &vein)] {
            if let Some(t) = list.iter().find(|t| t.modality() != slot) {
                return Err(PipelineError::ExtractorModality {
                    slot,
                    produced: t.modality(),
                });
            }
        }
        if crease.is_empty() && vein.is_empty() {
            return Err(PipelineError::EmptyPresentation);
        }
        Ok(Self { crease, vein })
    }

    /// The references of a modality (empty if the enrolment has none).
    pub fn references(&self, modality: Modality) -> &[PalmTemplate] {
        match modality {
            Modality::Crease => &self.crease,
            Modality::Vein => &self.vein,
        }
    }
}

/// The score of one modality in a [`Decision`] or [`Candidate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModalityScore {
    /// Compared: the best comparison over the references.
    Compared {
        /// The best comparison (distance, overlap, best shift).
        comparison: Comparison,
        /// Index of the reference that gave it, within the enrolment's references of this
        /// modality (in a gallery: within the subject's references, in insertion order).
        reference: usize,
        /// Its z-score, `(μ_nonmated − distance) / σ_nonmated`.
        z: f64,
    },
    /// No reference had enough overlap with the probe: this modality gives no score.
    InsufficientOverlap {
        /// The largest overlap any shift of any reference had, in cells.
        best_overlap_cells: u32,
        /// The overlap required, in cells.
        required_cells: u32,
    },
}

impl ModalityScore {
    /// The comparison, if any.
    pub fn comparison(&self) -> Option<&Comparison> {
        match self {
            ModalityScore::Compared { comparison, .. } => Some(comparison),
            ModalityScore::InsufficientOverlap { .. } => None,
        }
    }
    /// The distance, if compared.
    pub fn distance(&self) -> Option<f64> {
        self.comparison().map(|c| c.distance)
    }
}

/// What a verification decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The fused score reached the threshold: same palm.
    Match,
    /// The fused score is below the threshold.
    NonMatch,
    /// No modality could be compared (insufficient overlap everywhere): no score, not a match.
    NotComparable,
}

/// The result of comparing a probe with one enrolment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The decision at the configured operating point.
    pub verdict: Verdict,
    /// Fused score (weighted mean of the compared modalities' z-scores); `None` when nothing
    /// could be compared. Higher is more similar.
    pub fused_score: Option<f64>,
    /// The smallest fused score the threshold accepted for this decision's compared
    /// modalities (for [`Threshold::fmr`], the calibrated row of crease, vein or both;
    /// `+∞` for an FMR target the table cannot support).
    pub min_fused_score: f64,
    /// Crease score, if both sides have crease templates.
    pub crease: Option<ModalityScore>,
    /// Vein score, if both sides have vein templates.
    pub vein: Option<ModalityScore>,
}

impl Decision {
    /// Whether the verdict is [`Verdict::Match`].
    pub fn is_match(&self) -> bool {
        self.verdict == Verdict::Match
    }
    /// The score of a modality.
    pub fn modality(&self, modality: Modality) -> Option<&ModalityScore> {
        match modality {
            Modality::Crease => self.crease.as_ref(),
            Modality::Vein => self.vein.as_ref(),
        }
    }
}

/// The palm pipeline: ROI detector `D`, crease extractor `C` (visible frames), vein extractor
/// `V` (NIR frames), and a [`PipelineConfig`].
///
/// Extraction takes `&mut self` because extractors own scratch buffers; clone one pipeline per
/// thread (cloning is cheap next to an extraction). Comparison methods take `&self`.
#[derive(Debug, Clone)]
pub struct Pipeline<D = FullHandDetector, C = OrientedCodeExtractor, V = MaxCurvatureVein> {
    detector: D,
    crease: C,
    vein: V,
    config: PipelineConfig,
}

impl Default for Pipeline {
    /// [`FullHandDetector::default`], [`OrientedCodeExtractor::bocv`],
    /// [`MaxCurvatureVein::default`] and [`PipelineConfig::default`].
    fn default() -> Self {
        Pipeline {
            detector: FullHandDetector::default(),
            crease: OrientedCodeExtractor::bocv(),
            vein: MaxCurvatureVein::default(),
            config: PipelineConfig::default(),
        }
    }
}

impl<D: RoiDetector, C: FeatureExtractor, V: FeatureExtractor> Pipeline<D, C, V> {
    /// A pipeline from its stages and a configuration (validated).
    pub fn new(
        detector: D,
        crease: C,
        vein: V,
        config: PipelineConfig,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            detector,
            crease,
            vein,
            config,
        })
    }

    /// Replaces the configuration (validated).
    pub fn with_config(mut self, config: PipelineConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        self.config = config;
        Ok(self)
    }

    /// Replaces the ROI detector (used for both frames).
    pub fn with_roi_detector<D2: RoiDetector>(self, detector: D2) -> Pipeline<D2, C, V> {
        Pipeline {
            detector,
            crease: self.crease,
            vein: self.vein,
            config: self.config,
        }
    }

    /// Replaces the crease extractor (visible frames; must produce crease templates).
    pub fn with_crease_extractor<C2: FeatureExtractor>(self, crease: C2) -> Pipeline<D, C2, V> {
        Pipeline {
            detector: self.detector,
            crease,
            vein: self.vein,
            config: self.config,
        }
    }

    /// Replaces the vein extractor (NIR frames; must produce vein templates).
    pub fn with_vein_extractor<V2: FeatureExtractor>(self, vein: V2) -> Pipeline<D, C, V2> {
        Pipeline {
            detector: self.detector,
            crease: self.crease,
            vein,
            config: self.config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The ROI detector.
    pub fn roi_detector(&self) -> &D {
        &self.detector
    }

    fn extract_one<S: TraceSink + ?Sized>(
        &mut self,
        modality: Modality,
        frame: &Frame,
        capture: Option<u32>,
        sink: &mut S,
    ) -> Result<(PalmTemplate, QualityReport), PipelineError> {
        let key = |stage| TraceKey::capture(stage, modality, capture);
        trace::emit_frame(&self.detector, frame, key, sink);
        let spectrum_ok = matches!(
            (modality, frame.spectrum()),
            (Modality::Crease, Spectrum::Visible) | (Modality::Vein, Spectrum::NearInfrared { .. })
        );
        if !spectrum_ok {
            return Err(PipelineError::WrongSpectrum {
                modality,
                expected: match modality {
                    Modality::Crease => "visible",
                    Modality::Vein => "near-infrared",
                },
                found: frame.spectrum(),
            });
        }
        let roi = match self.detector.detect(frame) {
            Ok(roi) => roi,
            Err(source) => {
                trace::emit_rejected_roi(&self.detector, frame, key, sink);
                return Err(PipelineError::Roi { modality, source });
            }
        };
        trace::emit_roi(frame, &roi, key, sink);
        let features = |source| PipelineError::Features { modality, source };
        let image = RoiImage::from_gray(&roi.patch, Some(&roi.mask)).map_err(features)?;
        let template = match modality {
            Modality::Crease => self.crease.extract(&image),
            Modality::Vein => self.vein.extract(&image),
        }
        .map_err(features)?;
        if template.modality() != modality {
            return Err(PipelineError::ExtractorModality {
                slot: modality,
                produced: template.modality(),
            });
        }
        trace::emit(sink, key(Stage::CodePlanes), Artefact::Template(&template));
        Ok((template, roi.quality))
    }

    /// Detects the ROI in each frame of the presentation and encodes it: crease from the visible
    /// frame, vein from the NIR frame. Fails on the first stage error, naming the modality.
    pub fn extract(
        &mut self,
        presentation: &Presentation<'_>,
    ) -> Result<ProbeTemplates, PipelineError> {
        self.extract_traced(presentation, &mut NoTrace)
    }

    /// [`Pipeline::extract`], streaming each stage's output to `sink` (keys without a capture
    /// index; see [`trace`]).
    pub fn extract_traced<S: TraceSink + ?Sized>(
        &mut self,
        presentation: &Presentation<'_>,
        sink: &mut S,
    ) -> Result<ProbeTemplates, PipelineError> {
        self.extract_capture(presentation, None, sink)
    }

    fn extract_capture<S: TraceSink + ?Sized>(
        &mut self,
        presentation: &Presentation<'_>,
        capture: Option<u32>,
        sink: &mut S,
    ) -> Result<ProbeTemplates, PipelineError> {
        if presentation.visible.is_none() && presentation.nir.is_none() {
            return Err(PipelineError::EmptyPresentation);
        }
        let crease = presentation
            .visible
            .map(|f| self.extract_one(Modality::Crease, f, capture, sink))
            .transpose()?;
        let vein = presentation
            .nir
            .map(|f| self.extract_one(Modality::Vein, f, capture, sink))
            .transpose()?;
        let (crease, crease_quality) = crease.unzip();
        let (vein, vein_quality) = vein.unzip();
        Ok(ProbeTemplates {
            crease,
            vein,
            crease_quality,
            vein_quality,
        })
    }

    /// Enrols a hand from several presentations ([`EnrolmentConfig::captures_min`] ..=
    /// [`EnrolmentConfig::captures_max`]).
    ///
    /// Each presentation goes through [`Pipeline::extract`] (so the ROI quality policy gates
    /// it; a failure is [`PipelineError::Capture`] with the index). All must have the same
    /// modalities. Then every pair of captures is compared per modality and must be within
    /// [`EnrolmentConfig::max_consistency_distance`]; the first pair that is not is reported
    /// with its distance and the bound. On success, every capture becomes a reference.
    pub fn enrol(
        &mut self,
        presentations: &[Presentation<'_>],
    ) -> Result<Enrolment, PipelineError> {
        self.enrol_traced(presentations, &mut NoTrace)
    }

    /// [`Pipeline::enrol`], streaming each capture's stages (keys with its capture index) and
    /// each consistency comparison to `sink` (see [`trace`]).
    pub fn enrol_traced<S: TraceSink + ?Sized>(
        &mut self,
        presentations: &[Presentation<'_>],
        sink: &mut S,
    ) -> Result<Enrolment, PipelineError> {
        let e = &self.config.enrolment;
        if presentations.len() < e.captures_min as usize
            || presentations.len() > e.captures_max as usize
        {
            return Err(PipelineError::CaptureCount {
                found: presentations.len(),
                min: e.captures_min,
                max: e.captures_max,
            });
        }
        let mut probes = Vec::with_capacity(presentations.len());
        for (capture, p) in presentations.iter().enumerate() {
            let index = Some(capture as u32);
            let t =
                self.extract_capture(p, index, sink)
                    .map_err(|source| PipelineError::Capture {
                        capture,
                        source: Box::new(source),
                    })?;
            probes.push(t);
        }
        let has = |t: &ProbeTemplates| modality_set(t.crease.is_some(), t.vein.is_some());
        let expected = has(&probes[0]);
        if let Some(capture) = probes.iter().position(|t| has(t) != expected) {
            return Err(PipelineError::ModalitiesDiffer {
                capture,
                expected,
                found: has(&probes[capture]),
            });
        }
        let mut lists: [Vec<PalmTemplate>; 2] = [Vec::new(), Vec::new()];
        for (m, modality) in MODALITIES.into_iter().enumerate() {
            let refs: Vec<PalmTemplate> = probes
                .iter()
                .filter_map(|t| t.template(modality).cloned())
                .collect();
            let bound = self.config.enrolment.max_consistency_distance(modality);
            let matching = |source| PipelineError::Matching { modality, source };
            for first in 0..refs.len() {
                let matcher =
                    Matcher::new(&refs[first], &self.config.matching).map_err(matching)?;
                for (second, reference) in refs.iter().enumerate().skip(first + 1) {
                    let outcome = matcher.compare(reference).map_err(matching)?;
                    let key = TraceKey::consistency(modality, first as u32, second as u32);
                    trace::emit(sink, key, Artefact::Comparison(&outcome));
                    match outcome {
                        ComparisonOutcome::Compared(c) if c.distance <= bound => {}
                        ComparisonOutcome::Compared(c) => {
                            return Err(PipelineError::InconsistentCaptures {
                                modality,
                                first,
                                second,
                                distance: c.distance,
                                max_distance: bound,
                            });
                        }
                        ComparisonOutcome::InsufficientOverlap {
                            best_overlap_cells,
                            required_cells,
                        } => {
                            return Err(PipelineError::CapturesOverlap {
                                modality,
                                first,
                                second,
                                best_overlap_cells,
                                required_cells,
                            });
                        }
                    }
                }
            }
            lists[m] = refs;
        }
        let [crease, vein] = lists;
        Ok(Enrolment { crease, vein })
    }

    /// Compares a probe with an enrolment: per modality the best comparison over the
    /// enrolment's references (the probe prepared once per modality), z-normalised, fused, and
    /// decided at the configured threshold.
    ///
    /// Errors: [`PipelineError::NoCommonModality`] when probe and enrolment share no modality,
    /// [`PipelineError::Matching`] when their templates are not comparable (different algorithm
    /// or geometry).
    pub fn verify(
        &self,
        probe: &ProbeTemplates,
        enrolment: &Enrolment,
    ) -> Result<Decision, PipelineError> {
        self.verify_traced(probe, enrolment, &mut NoTrace)
    }

    /// [`Pipeline::verify`], streaming every probe–reference comparison, each modality's score
    /// and the decision to `sink` (see [`trace`]).
    pub fn verify_traced<S: TraceSink + ?Sized>(
        &self,
        probe: &ProbeTemplates,
        enrolment: &Enrolment,
        sink: &mut S,
    ) -> Result<Decision, PipelineError> {
        let mut scores = [None, None];
        for (m, modality) in MODALITIES.into_iter().enumerate() {
            let (Some(p), refs) = (probe.template(modality), enrolment.references(modality)) else {
                continue;
            };
            if refs.is_empty() {
                continue;
            }
            let matching = |source| PipelineError::Matching { modality, source };
            let matcher = Matcher::new(p, &self.config.matching).map_err(matching)?;
            let mut best = BestOf::default();
            for (i, r) in refs.iter().enumerate() {
                let outcome = matcher.compare(r).map_err(matching)?;
                let key = TraceKey::reference(Stage::Comparison, modality, i as u32);
                trace::emit(sink, key, Artefact::Comparison(&outcome));
                best.push(i, outcome);
            }
            scores[m] = best.score(self.config.fusion.modality(modality));
            if let Some(score) = &scores[m] {
                trace::emit(
                    sink,
                    TraceKey::modality(Stage::Score, modality),
                    Artefact::Score(score),
                );
            }
        }
        if scores.iter().all(Option::is_none) {
            return Err(PipelineError::NoCommonModality);
        }
        let decision = self.decide(scores);
        trace::emit(
            sink,
            TraceKey::new(Stage::Decision),
            Artefact::Decision(&decision),
        );
        Ok(decision)
    }

    /// Fuses modality scores and decides at the threshold of the compared modalities.
    fn decide(&self, [crease, vein]: [Option<ModalityScore>; 2]) -> Decision {
        let fused_score = fuse(&self.config.fusion, crease.as_ref(), vein.as_ref());
        let compared = compared_modalities(crease.as_ref(), vein.as_ref());
        // `validate` guarantees a supported FMR target; an unsupported one accepts nothing.
        let min_fused_score = self
            .config
            .threshold
            .min_fused_score(compared.unwrap_or(ComparedModalities::Both))
            .unwrap_or(f64::INFINITY);
        let verdict = match fused_score {
            None => Verdict::NotComparable,
            Some(s) if s >= min_fused_score => Verdict::Match,
            Some(_) => Verdict::NonMatch,
        };
        Decision {
            verdict,
            fused_score,
            min_fused_score,
            crease,
            vein,
        }
    }
}

/// The pipeline's fusion rule, [`FusionConfig::fuse`], on the compared modalities.
fn fuse(
    fusion: &FusionConfig,
    crease: Option<&ModalityScore>,
    vein: Option<&ModalityScore>,
) -> Option<f64> {
    let compared = |s: Option<&ModalityScore>| s.and_then(ModalityScore::distance);
    fusion.fuse(compared(crease), compared(vein))
}

/// Which modalities were compared (have a distance), if any.
fn compared_modalities(
    crease: Option<&ModalityScore>,
    vein: Option<&ModalityScore>,
) -> Option<ComparedModalities> {
    let has = |s: Option<&ModalityScore>| s.and_then(ModalityScore::distance).is_some();
    match (has(crease), has(vein)) {
        (true, true) => Some(ComparedModalities::Both),
        (true, false) => Some(ComparedModalities::Crease),
        (false, true) => Some(ComparedModalities::Vein),
        (false, false) => None,
    }
}

/// Best comparison over several references.
#[derive(Default)]
struct BestOf {
    best: Option<(usize, Comparison)>,
    best_overlap_cells: u32,
    required_cells: u32,
}

impl BestOf {
    fn push(&mut self, index: usize, outcome: ComparisonOutcome) {
        match outcome {
            ComparisonOutcome::Compared(c) => {
                if self
                    .best
                    .as_ref()
                    .is_none_or(|(_, b)| c.cmp_distance(b).is_lt())
                {
                    self.best = Some((index, c));
                }
            }
            ComparisonOutcome::InsufficientOverlap {
                best_overlap_cells,
                required_cells,
            } => {
                self.best_overlap_cells = self.best_overlap_cells.max(best_overlap_cells);
                self.required_cells = required_cells;
            }
        }
    }

    /// `None` if nothing was pushed.
    fn score(self, fusion: &ModalityFusion) -> Option<ModalityScore> {
        match self.best {
            Some((reference, comparison)) => Some(ModalityScore::Compared {
                comparison,
                reference,
                z: fusion.z(comparison.distance),
            }),
            None if self.required_cells > 0 => Some(ModalityScore::InsufficientOverlap {
                best_overlap_cells: self.best_overlap_cells,
                required_cells: self.required_cells,
            }),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests;
