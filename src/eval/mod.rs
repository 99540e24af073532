//! Evaluation: comparison scores, verification error rates (FMR/FNMR, EER, DET, FNMR at fixed
//! FMR), identification rates (CMC, FPIR/FNIR), score files and plots.
//!
//! # Conventions
//!
//! - **Distances, lower = more similar.** Every score in this module is a *distance* (for
//!   openpalm a fractional Hamming distance in [0, 1], but any finite value is accepted).
//! - **Decision rule: accept if `distance ≤ threshold`.** Ties exactly at the threshold are
//!   *accepted*, for mated and non-mated comparisons alike. Hence
//!   - FMR(t)  = #{non-mated d ≤ t} / #non-mated (false matches),
//!   - FNMR(t) = #{mated d > t} / #mated (false non-matches).
//!
//!   FMR is non-decreasing and FNMR non-increasing in t; both only change at observed distances,
//!   so every operating point of a score set is obtained at one of its *distinct* distances.
//! - Everything is **exact**: the distances are sorted once (O(n log n)); rates at a threshold
//!   are two binary searches; the DET curve is one merge pass. No binning, no interpolation
//!   except where stated (the EER, see [`Eer`]).
//! - Vocabulary follows ISO/IEC 2382-37 and ISO/IEC 19795-1 (probe, reference, mated/non-mated,
//!   FMR/FNMR, FTA, FAR/FRR, FPIR/FNIR, CMC).
//!
//! # Overview
//!
//! - [`ScoreSet`]: sorted mated and non-mated distances; [`ScoreSet::fmr`], [`ScoreSet::fnmr`],
//!   [`ScoreSet::det`], [`ScoreSet::eer`], [`ScoreSet::fnmr_at_fmr`].
//! - [`Acquisition`] and [`TransactionRates`]: failure to acquire and the ISO/IEC 19795-1
//!   generalised FAR/FRR.
//! - [`identification`]: CMC rank-k and open-set FPIR/FNIR from a probe × gallery distance
//!   matrix or candidate lists.
//! - [`scores`]: the CSV score file (`probe,reference,mated,distance`) and bob's 4-column format.
//! - [`report`]: [`VerificationReport`], the `metrics.json` content.
//! - [`dataset`] and [`experiment`]: image folders `DIR/<subject>/<sample>.<ext>` → templates
//!   (parallel) → all mated and all or a seeded sample of non-mated comparisons, with FTA and
//!   insufficient-overlap accounting (the `evaluate --images` example); [`frames`]: frame-level
//!   acquisition with ROI detection and valley landmarks, and in-process synthetic data sets;
//!   [`fusion`]: crease + vein experiments fused at score level with parameters from a
//!   development split.
//! - [`bootstrap`]: subject-level bootstrap confidence intervals (seeded) for the EER and FNMR
//!   at fixed FMR.
//! - `plot` (cargo feature `plot`, on by default): DET curves on normal-deviate axes and
//!   distance histograms, as SVG and PNG.
//!
//! ```
//! use openpalm::eval::ScoreSet;
//! let s = ScoreSet::new(vec![0.10, 0.20, 0.30], vec![0.25, 0.40, 0.50])?;
//! assert_eq!(s.fmr(0.25), 1.0 / 3.0); // the non-mated 0.25 is accepted at t = 0.25
//! assert_eq!(s.fnmr(0.25), 1.0 / 3.0); // the mated 0.30 is rejected
//! let eer = s.eer();
//! assert!((eer.eer - 1.0 / 3.0).abs() < 1e-12);
//! # Ok::<(), openpalm::eval::EvalError>(())
//! ```

pub mod bootstrap;
pub mod dataset;
pub mod experiment;
pub mod frames;
pub mod fusion;
pub mod identification;
mod metrics;
#[cfg(feature = "plot")]
pub mod plot;
pub mod report;
pub mod scores;
#[cfg(feature = "synth")]
#[cfg_attr(docsrs, doc(cfg(feature = "synth")))]
pub mod synthetic;

pub use identification::{Cmc, Identification, OpenSetRates, ProbeOutcome};
pub use metrics::{
    Acquisition, DetIter, Eer, FnmrAtFmr, GeneralisedRates, OperatingPoint, STANDARD_FMR_TARGETS,
    ScoreSet, TransactionRates, probit, rule_of_three_min_trials,
};
pub use report::VerificationReport;
pub use scores::{ScoreFileError, ScoreFileIssue, ScoreRecord};

/// Errors of the evaluation toolkit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A score file could not be parsed: the line and what was wrong.
    #[error(transparent)]
    ScoreFile(#[from] ScoreFileError),

    /// A distance was NaN or infinite.
    #[error("{what}[{index}] = {value} is not a finite distance")]
    NonFinite {
        /// Which input (`"mated"`, `"non-mated"`, `"distance matrix"`…).
        what: &'static str,
        /// Index of the offending value in that input.
        index: usize,
        /// The value.
        value: f64,
    },

    /// An input that must not be empty was empty.
    #[error("no {what}: at least one is needed")]
    Empty {
        /// What is missing (`"mated distances"`, `"non-mated distances"`…).
        what: &'static str,
    },

    /// A parameter was outside its valid range.
    #[error("{name} = {value}: {bound}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// The rule it violates.
        bound: &'static str,
    },

    /// Two inputs that must have matching sizes do not.
    #[error("{what}: {left} vs {right}")]
    ShapeMismatch {
        /// What was compared (e.g. `"distance matrix rows vs probe ids"`).
        what: &'static str,
        /// The first size.
        left: usize,
        /// The second size.
        right: usize,
    },

    /// Drawing a plot failed (the plotting backend's message).
    #[error("plot: {0}")]
    Plot(String),

    /// Reading or writing a file failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),

    /// An image folder could not be scanned ([`dataset::Dataset::scan`]).
    #[error("dataset: {0}")]
    Dataset(#[from] dataset::DatasetError),

    /// A comparison in an experiment was refused (templates of different kinds, bad matcher
    /// configuration).
    #[error("matching: {0}")]
    Matching(#[from] crate::matching::MatchingError),
}

/// Checks that every value is finite.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), EvalError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(EvalError::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}
