//! The error model.
//!
//! Every fallible public function returns [`Result<T>`](crate::Result) with the one top-level
//! [`Error`], or — where the caller benefits from matching on the details — the category's own
//! error type (for example [`TemplateError`] from [`PalmTemplate::from_bytes`]), which converts
//! into [`Error`] with `?`.
//!
//! Each category says **whose fault** a failure is, so that a deployment can route it: a
//! corrupt template is a storage problem, a template from another algorithm version means
//! re-enrolment, a bad configuration is the integrator's bug, a blurred capture is the user's
//! presentation and can simply be retried. Inner errors carry the measured value and the bound it
//! violated, so logs say *how far* off an input was, not only *that* it was.
//!
//! [`PalmTemplate::from_bytes`]: crate::PalmTemplate::from_bytes

use std::fmt;

pub use crate::features::FeatureError;
pub use crate::template::TemplateError;

/// Convenience alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error openpalm returns, by category.
///
/// The enum is `#[non_exhaustive]`: new categories may be added in minor releases, so match with
/// a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Template bytes or template construction were invalid.
    ///
    /// **Whose fault:** the stored data (corruption, truncation, tampering) or the deployment
    /// (a template made by an incompatible algorithm version: re-enrol the subject). See
    /// [`TemplateError::is_version_mismatch`].
    #[error("template: {0}")]
    Template(#[from] TemplateError),

    /// A region of interest could not be turned into a template.
    ///
    /// **Whose fault:** the caller that built the ROI (wrong size, non-finite pixels) — in the
    /// pipeline, the ROI detector; see [`FeatureError`].
    #[error("features: {0}")]
    Features(#[from] FeatureError),

    /// An input exceeded a configured resource limit (size, count, allocation).
    ///
    /// **Whose fault:** the input's producer — an untrusted or malformed input, or limits set
    /// too low for the deployment.
    #[error("limit exceeded: {0}")]
    Limit(#[from] LimitError),

    /// The configuration is invalid.
    ///
    /// **Whose fault:** the integrator. Every offending field is listed with its bound.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),

    /// A comparison or gallery operation was refused: probe and reference not comparable
    /// (geometry, modality or algorithm mismatch), a forced backend this CPU lacks, or a gallery
    /// id problem.
    ///
    /// **Whose fault:** the integrator (mixing templates of different kinds, forcing a backend,
    /// duplicate or unknown ids), or the deployment for `OutOfMemory`.
    #[error("matching: {0}")]
    Matching(#[from] crate::matching::MatchingError),
    /// Evaluation failed: a malformed score file (with its line number), non-finite or empty
    /// score sets, or invalid evaluation parameters.
    ///
    /// **Whose fault:** the evaluation input's producer (the score file or the experiment's
    /// protocol) or the caller's parameters; see [`EvalError`](crate::eval::EvalError).
    #[error("evaluation: {0}")]
    Eval(#[from] crate::eval::EvalError),
    /// Acquiring a frame failed: a device, driver or image file error, or a frame that is
    /// malformed or over the [`FrameLimits`](crate::FrameLimits).
    ///
    /// **Whose fault:** the device or its driver, the frame's producer (a corrupt or hostile
    /// file), or limits set too low for the camera. See [`SensorError`](crate::sensor::SensorError).
    #[error("sensor: {0}")]
    Sensor(#[from] crate::sensor::SensorError),

    /// No usable palm region in a frame: no hand, fingers closed, palm too small, ROI off the
    /// hand or out of the frame, blurred or badly exposed.
    ///
    /// **Whose fault:** the presentation (the user can retry), except
    /// [`RoiError::Frame`](crate::roi::RoiError::Frame) (a frame over the limits). Each variant
    /// carries the measured value and the bound.
    #[error("ROI: {0}")]
    Roi(#[from] crate::roi::RoiError),

    /// The pipeline refused a presentation, an enrolment or a gallery operation: a stage
    /// failed (with the modality and the stage's value and bound), enrolment captures that
    /// disagree or fail quality (naming the capture), metadata over its limit, unknown or
    /// duplicate subjects.
    ///
    /// **Whose fault:** mostly the presentation (retry or re-enrol); the integrator for stage
    /// combinations and gallery bookkeeping. See [`PipelineError`](crate::pipeline::PipelineError).
    #[error("pipeline: {0}")]
    Pipeline(#[from] crate::pipeline::PipelineError),

    /// Reading or writing a file or stream failed.
    ///
    /// **Whose fault:** the environment (missing file, permissions, full disk).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A resource limit was exceeded: what was measured, and the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is {value}, limit {limit}")]
pub struct LimitError {
    /// What was measured (for example `"frame width (px)"`).
    pub what: &'static str,
    /// The measured value.
    pub value: u64,
    /// The bound that was exceeded.
    pub limit: u64,
}

/// One invalid configuration value: the field, the value as text, and the bound it violates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} = {value}: {bound}")]
pub struct ConfigIssue {
    /// Dotted path of the field, e.g. `matching.max_shift_rows`.
    pub field: String,
    /// The offending value, formatted.
    pub value: String,
    /// The rule it violates, e.g. `must be ≤ 8`.
    pub bound: String,
}

/// An invalid configuration: every bad value, not only the first.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The offending values, in field order. Never empty.
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} invalid value(s)", self.issues.len())?;
        for (i, issue) in self.issues.iter().enumerate() {
            write!(f, "{}{}", if i == 0 { ": " } else { "; " }, issue)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// Collects issues; returns `Ok(())` when there are none.
    pub fn check(issues: Vec<ConfigIssue>) -> Result<(), ConfigError> {
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { issues })
        }
    }
}
