//! Calibrated operating points: target FMR → fused-score threshold, measured on synthetic data.
//!
//! [`Threshold::fmr`](super::Threshold::fmr) does not ask the integrator for a score: it asks
//! for a false-match rate, and the pipeline looks the score up in [`CALIBRATION`], a table
//! measured with [`crate::eval`] through the default pipeline (synthetic sensor → ROI detection
//! → BOCV crease / maximum-curvature vein codes → masked Hamming with shift search → best of the
//! enrolment's references → z-normalisation and fusion with
//! [`FusionConfig::default`](super::FusionConfig)). The measured numbers, the data set and the command that regenerates
//! them are on [`CALIBRATION`]; the same table, with the data-set description, is in
//! `testdata/calibration/calibration.json` (a test checks that the two agree).
//!
//! # How a level is measured
//!
//! For each target FMR `p` and each set of compared modalities, the threshold is the one
//! [`ScoreSet::fnmr_at_fmr`](crate::eval::ScoreSet::fnmr_at_fmr) picks on the non-mated
//! probe-vs-enrolment scores: the **smallest** accepted fused score with at most `⌊p · n⌋` of
//! the `n` non-mated comparisons accepted. A level is only claimed when
//! `n ≥ 3 / p` (rule of three: zero errors in `n` trials bound the rate by ≈ `3/n` at 95 %
//! confidence); otherwise the table says [`CalibrationPoint::NotSupported`] and gives the
//! counts. Nothing is extrapolated.
//!
//! # Which row a decision uses
//!
//! A decision's fused score is made of the modalities actually compared (a modality with too
//! little overlap, or absent from the probe or the enrolment, is left out). The threshold is
//! taken from the table of that set: [`CalibrationTable::crease`] for crease alone,
//! [`CalibrationTable::vein`] for vein alone, [`CalibrationTable::fused`] for both. A target
//! between two levels uses the next **stricter** level (`Threshold::fmr(5e-5)` decides at the
//! 1e-5 row).
//!
//! # Identification and gallery size
//!
//! In 1:N identification a never-enrolled probe is falsely identified when **any** of the `N`
//! enrolled subjects scores above the threshold. With independent comparisons at a
//! per-comparison false-match rate FMR,
//!
//! ```text
//! FPIR = 1 − (1 − FMR)^N  ≈  N · FMR      (for N · FMR ≪ 1)
//! ```
//!
//! so a gallery of 10 000 people at FMR 1e-6 falsely identifies about 1 % of strangers.
//! [`Threshold::fpir`](super::Threshold::fpir) inverts this: for a target FPIR and a gallery
//! size it picks `FMR = 1 − (1 − FPIR)^(1/N)` and then the calibrated row as above. The
//! relation is checked on synthetic data by `tests/pipeline_fpir.rs` and in the calibration run
//! (the figures are in `testdata/calibration/calibration.json`, key `fpir_check`).
//!
//! **Synthetic figures only.** The table describes the synthetic generator's population, not a
//! real sensor's: re-measure on captures of the target device before quoting an FMR to anyone
//! (the `calibrate` example shows how).

use serde::{Deserialize, Serialize};

#[path = "calibration_data.rs"]
mod data;

pub use data::CALIBRATION;

/// The FMR levels the table is measured at, strictest last.
pub const CALIBRATED_FMR_LEVELS: [f64; 5] = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/// One operating point of a calibration table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum CalibrationPoint {
    /// Enough non-mated comparisons for a claim at `target_fmr`.
    Measured {
        /// The FMR level.
        target_fmr: f64,
        /// The threshold. In the probe-vs-enrolment tables: the smallest accepted fused score
        /// (z units, accept when `score ≥ threshold`); in the capture-pair tables: the largest
        /// accepted fractional Hamming distance (accept when `distance ≤ threshold`).
        threshold: f64,
        /// Non-mated comparisons accepted at the threshold.
        false_matches: u64,
        /// `false_matches / non_mated` (≤ `target_fmr`).
        fmr: f64,
        /// Fraction of the mated comparisons rejected at the threshold.
        fnmr: f64,
    },
    /// Too few non-mated comparisons: `needed = ⌈3 / target_fmr⌉` (rule of three).
    NotSupported {
        /// The FMR level.
        target_fmr: f64,
        /// Non-mated comparisons measured.
        non_mated: u64,
        /// Non-mated comparisons a claim would need.
        needed: u64,
    },
}

impl CalibrationPoint {
    /// The FMR level of this point.
    pub fn target_fmr(&self) -> f64 {
        match *self {
            CalibrationPoint::Measured { target_fmr, .. }
            | CalibrationPoint::NotSupported { target_fmr, .. } => target_fmr,
        }
    }

    /// The threshold, when measured.
    pub fn threshold(&self) -> Option<f64> {
        match *self {
            CalibrationPoint::Measured { threshold, .. } => Some(threshold),
            CalibrationPoint::NotSupported { .. } => None,
        }
    }
}

/// The operating points of one score (one set of compared modalities), at
/// [`CALIBRATED_FMR_LEVELS`], with the counts behind them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreCalibration {
    /// Mated comparisons measured.
    pub mated: u64,
    /// Non-mated comparisons measured.
    pub non_mated: u64,
    /// Equal error rate (interpolated, see [`crate::eval::Eer`]).
    pub eer: f64,
    /// One point per level of [`CALIBRATED_FMR_LEVELS`], in that order.
    pub points: [CalibrationPoint; 5],
}

impl ScoreCalibration {
    /// The measured point of the strictest level that is at most `fmr` (the level itself when
    /// `fmr` is one of [`CALIBRATED_FMR_LEVELS`]), or `None` when that level is not supported
    /// or `fmr` is below every level.
    pub fn point_for(&self, fmr: f64) -> Option<&CalibrationPoint> {
        // Tolerate the binary representation of decimal levels (1e-4 · (1 + 1e-12)).
        let p = self
            .points
            .iter()
            .find(|p| p.target_fmr() <= fmr * (1.0 + 1e-9))?;
        p.threshold().map(|_| p)
    }
}

/// The sets of modalities a comparison may have compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparedModalities {
    /// Crease only.
    Crease,
    /// Vein only.
    Vein,
    /// Crease and vein, fused.
    Both,
}

impl ComparedModalities {
    /// All three sets.
    pub const ALL: [ComparedModalities; 3] = [
        ComparedModalities::Crease,
        ComparedModalities::Vein,
        ComparedModalities::Both,
    ];
}

/// Single capture-vs-capture distances of one modality (no best-of-references, no fusion):
/// what the enrolment consistency check compares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturePairCalibration {
    /// Crease capture pairs.
    pub crease: ScoreCalibration,
    /// Vein capture pairs.
    pub vein: ScoreCalibration,
}

/// A calibration table: operating points per set of compared modalities, and the single
/// capture-pair distances behind the enrolment consistency bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationTable {
    /// Probe vs enrolment, crease compared alone (fused score = crease z-score).
    pub crease: ScoreCalibration,
    /// Probe vs enrolment, vein compared alone (fused score = vein z-score).
    pub vein: ScoreCalibration,
    /// Probe vs enrolment, both modalities compared and fused.
    pub fused: ScoreCalibration,
    /// Capture vs capture, per modality (distance thresholds).
    pub capture_pairs: CapturePairCalibration,
}

impl CalibrationTable {
    /// The table of a set of compared modalities.
    pub fn scores(&self, compared: ComparedModalities) -> &ScoreCalibration {
        match compared {
            ComparedModalities::Crease => &self.crease,
            ComparedModalities::Vein => &self.vein,
            ComparedModalities::Both => &self.fused,
        }
    }

    /// The smallest fused score accepted at target `fmr` for a comparison of `compared`
    /// (the strictest calibrated level ≤ `fmr`), or `None` when the table cannot support it.
    pub fn min_fused_score(&self, fmr: f64, compared: ComparedModalities) -> Option<f64> {
        self.scores(compared)
            .point_for(fmr)
            .and_then(CalibrationPoint::threshold)
    }
}

/// The per-comparison FMR that gives a false-positive identification rate `fpir` in a gallery
/// of `gallery_size` subjects, assuming independent comparisons:
/// `FMR = 1 − (1 − FPIR)^(1/N)` (≈ `FPIR / N`). `gallery_size = 0` is treated as 1.
pub fn fmr_for_fpir(fpir: f64, gallery_size: u64) -> f64 {
    let n = gallery_size.max(1) as f64;
    -((-fpir).ln_1p() / n).exp_m1()
}

/// The FPIR predicted for a per-comparison `fmr` and a gallery of `gallery_size` subjects:
/// `1 − (1 − FMR)^N`.
pub fn fpir_for_fmr(fmr: f64, gallery_size: u64) -> f64 {
    -((-fmr).ln_1p() * gallery_size as f64).exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fpir_and_fmr_are_inverse_and_near_linear() {
        for n in [1u64, 10, 300, 1_000_000] {
            for fpir in [1e-4, 1e-3, 1e-2, 0.1] {
                let fmr = fmr_for_fpir(fpir, n);
                assert!((fpir_for_fmr(fmr, n) - fpir).abs() < 1e-12 * fpir.max(1e-3));
                // N · FMR ≈ FPIR from above, within the quadratic term.
                let linear = fpir / n as f64;
                assert!(fmr >= linear * (1.0 - 1e-12) && fmr < linear * (1.0 + fpir));
            }
        }
        assert_eq!(fmr_for_fpir(0.01, 0), fmr_for_fpir(0.01, 1));
        assert!((fmr_for_fpir(0.01, 1) - 0.01).abs() < 1e-15);
    }

    /// Numbers equal up to the last bit or two (the JSON parser's float rounding), the rest
    /// exactly.
    fn assert_same(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                    assert_eq!(x, y, "{path}");
                } else {
                    let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                    assert!(
                        (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs()),
                        "{path}: {x} vs {y}"
                    );
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                assert_eq!(
                    x.keys().collect::<Vec<_>>(),
                    y.keys().collect::<Vec<_>>(),
                    "{path}"
                );
                for (k, v) in x {
                    assert_same(v, &y[k], &format!("{path}.{k}"));
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}");
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    assert_same(v, w, &format!("{path}[{i}]"));
                }
            }
            _ => assert_eq!(a, b, "{path}"),
        }
    }

    #[test]
    fn rust_table_equals_the_json_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/calibration/calibration.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let from_json: CalibrationTable = serde_json::from_value(doc["table"].clone()).unwrap();
        assert_same(
            &serde_json::to_value(CALIBRATION).unwrap(),
            &serde_json::to_value(from_json).unwrap(),
            "table",
        );
        // The file says what was measured and how to measure it again.
        for key in ["dataset", "generator_version", "command"] {
            assert!(
                doc[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} missing"
            );
        }
        assert!(
            doc["command"]
                .as_str()
                .unwrap()
                .contains("--example calibrate")
        );
    }

    #[test]
    fn levels_are_stored_in_order_and_lookup_is_conservative() {
        for compared in ComparedModalities::ALL {
            let s = CALIBRATION.scores(compared);
            for (p, level) in s.points.iter().zip(CALIBRATED_FMR_LEVELS) {
                assert_eq!(p.target_fmr(), level);
                if let CalibrationPoint::Measured {
                    fmr, false_matches, ..
                } = *p
                {
                    assert!(fmr <= level);
                    assert_eq!(false_matches as f64 / s.non_mated as f64, fmr);
                } else {
                    assert!((s.non_mated as f64) < 3.0 / level);
                }
            }
            // Stricter level, higher (or equal) score threshold.
            let t: Vec<f64> = s.points.iter().filter_map(|p| p.threshold()).collect();
            assert!(t.windows(2).all(|w| w[0] <= w[1]), "{compared:?}: {t:?}");
            // Between levels: the stricter one.
            assert_eq!(
                CALIBRATION.min_fused_score(5e-3, compared),
                CALIBRATION.min_fused_score(1e-3, compared)
            );
            assert_eq!(
                CALIBRATION.min_fused_score(0.5, compared),
                CALIBRATION.min_fused_score(1e-2, compared)
            );
            assert_eq!(CALIBRATION.min_fused_score(1e-7, compared), None);
        }
        // Capture pairs: distance thresholds, stricter level → smaller distance.
        for s in [
            &CALIBRATION.capture_pairs.crease,
            &CALIBRATION.capture_pairs.vein,
        ] {
            let t: Vec<f64> = s.points.iter().filter_map(|p| p.threshold()).collect();
            assert!(t.windows(2).all(|w| w[0] >= w[1]), "{t:?}");
            assert!(t.iter().all(|&d| d > 0.0 && d < 0.5));
        }
    }
}
