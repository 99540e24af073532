//! # openpalm
//!
//! Palm biometrics in Rust: camera frame of a hand in, "who is this?" out.
//!
//! The crate is organised by stage, each in its own module:
//!
//! - [`sensor`]: the [`PalmSensor`] trait, [`Frame`] and sensor adapters.
//! - [`roi`]: palm ROI detection ([`RoiDetector`], [`FullHandDetector`]): finger valleys,
//!   normalised patch, quality.
//! - [`features`]: feature extractors: [`RoiImage`] in, crease and vein codes out.
//! - [`template`]: [`PalmTemplate`], the versioned, checksummed binary template format.
//! - [`matching`]: masked Hamming distance with shift search, SIMD kernels, 1:N
//!   [`Gallery`](matching::Gallery).
//! - [`pipeline`]: the integrator's entry point: [`Pipeline`] (frames → templates), enrolment
//!   with a consistency check, `verify` (1:1), `identify` (1:N over a [`SubjectGallery`]),
//!   crease + vein score fusion, and transparency (every stage's output streamed to a
//!   [`TraceSink`](pipeline::TraceSink); [`FolderSink`](pipeline::FolderSink) writes PNG/JSON).
//! - [`eval`]: evaluation — image-folder experiments (`DIR/<subject>/<sample>`), score files,
//!   FMR/FNMR, EER, DET, FNMR at fixed FMR, CMC, FPIR/FNIR, and DET/histogram plots (feature
//!   `plot`).
//! - [`error`]: the error model; [`Error`] and its categories.
//! - `synth` (feature `synth`): synthetic palms — deterministic hands, visible and NIR
//!   captures with ground truth, for tests, examples and benchmarks.
//!
//! Vocabulary follows ISO/IEC 2382-37: a *probe* is compared with a *reference*, giving a
//! *comparison score* (here a fractional Hamming *distance*: lower is more similar); pairs are
//! *mated* (same palm) or *non-mated*; errors are *FMR*, *FNMR* and *FTA*.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod error;
pub mod eval;
pub mod features;
pub mod matching;
pub mod pipeline;
mod rng;
pub mod roi;
pub mod sensor;
#[cfg(feature = "synth")]
#[cfg_attr(docsrs, doc(cfg(feature = "synth")))]
pub mod synth;
pub mod template;

pub use error::{ConfigError, ConfigIssue, Error, LimitError, Result};
pub use eval::EvalError;
pub use features::{FeatureError, FeatureExtractor, RoiImage};
pub use pipeline::{
    Decision, Enrolment, Pipeline, PipelineConfig, PipelineError, Presentation, ProbeTemplates,
    SubjectGallery, SubjectId,
};
pub use roi::{FullHandDetector, Roi, RoiDetector};
pub use sensor::{Frame, FrameLayout, FrameLimits, PalmSensor, PixelFormat, Spectrum};
pub use template::{
    Algorithm, AlgorithmVersion, Geometry, Modality, PalmTemplate, TemplateError, TemplateLimits,
};
