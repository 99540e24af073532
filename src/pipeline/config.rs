//! [`PipelineConfig`]: the pipeline's settings as serde data.

use serde::{Deserialize, Serialize};

use super::calibration::{
    CALIBRATION, CalibrationPoint, ComparedModalities, ScoreCalibration, fmr_for_fpir,
};
use crate::matching::MatchConfig;
use crate::{ConfigError, ConfigIssue, Modality};

/// The configuration schema version this build reads and writes.
pub const PIPELINE_CONFIG_SCHEMA_VERSION: u32 = 1;

/// Most captures one enrolment may take ([`EnrolmentConfig::captures_max`] is bounded by this):
/// the consistency check compares every pair, `n · (n − 1) / 2` comparisons per modality.
pub const MAX_ENROLMENT_CAPTURES: u32 = 16;

/// Largest allowed [`PipelineConfig::max_metadata_bytes`]: 1 MiB per subject.
pub const MAX_METADATA_BYTES_LIMIT: u32 = 1 << 20;

/// Everything the [`Pipeline`](super::Pipeline) decides with, as data.
///
/// Serialises with serde; unknown fields are rejected, and [`PipelineConfig::schema_version`]
/// must equal [`PIPELINE_CONFIG_SCHEMA_VERSION`]. Check with [`PipelineConfig::validate`], which
/// lists every bad value with its bound; [`Pipeline::with_config`](super::Pipeline::with_config)
/// validates too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Schema version of this configuration; must be [`PIPELINE_CONFIG_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Comparison settings (shift window, minimum overlap), shared by both modalities.
    pub matching: MatchConfig,
    /// Enrolment: capture count and the consistency check.
    pub enrolment: EnrolmentConfig,
    /// Score normalisation and fusion of the modalities.
    pub fusion: FusionConfig,
    /// The operating point: when a fused score is a match.
    pub threshold: Threshold,
    /// Largest opaque metadata blob per subject in a
    /// [`SubjectGallery`](super::SubjectGallery), in bytes. At most
    /// [`MAX_METADATA_BYTES_LIMIT`]. Default 4096.
    pub max_metadata_bytes: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            schema_version: PIPELINE_CONFIG_SCHEMA_VERSION,
            matching: MatchConfig::default(),
            enrolment: EnrolmentConfig::default(),
            fusion: FusionConfig::default(),
            threshold: Threshold::default(),
            max_metadata_bytes: 4096,
        }
    }
}

/// Enrolment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentConfig {
    /// Fewest captures an enrolment accepts. At least 1; default 3.
    pub captures_min: u32,
    /// Most captures an enrolment accepts. At least `captures_min`, at most
    /// [`MAX_ENROLMENT_CAPTURES`]; default 5.
    pub captures_max: u32,
    /// Consistency check, crease: every pair of captures must be at most this fractional
    /// Hamming distance apart (in `(0, 1]`). See [`EnrolmentConfig::default`] for where the
    /// default comes from.
    pub crease_max_consistency_distance: f64,
    /// Consistency check, vein: every pair of captures must be at most this fractional Hamming
    /// distance apart (in `(0, 1]`).
    pub vein_max_consistency_distance: f64,
}

impl EnrolmentConfig {
    /// The consistency bound for a modality.
    pub fn max_consistency_distance(&self, modality: Modality) -> f64 {
        match modality {
            Modality::Crease => self.crease_max_consistency_distance,
            Modality::Vein => self.vein_max_consistency_distance,
        }
    }
}

/// The single capture-pair FMR at which [`EnrolmentConfig::default`] takes its consistency
/// bounds from [`CALIBRATION`]'s capture-pair tables.
pub const DEFAULT_CONSISTENCY_PAIR_FMR: f64 = 1e-4;

impl Default for EnrolmentConfig {
    /// 3–5 captures. The consistency bounds are the capture-pair distances at a single-pair FMR
    /// of [`DEFAULT_CONSISTENCY_PAIR_FMR`] (1e-4) in [`CALIBRATION`] (8.0 M non-mated and ~6 000
    /// mated capture pairs per modality): **crease 0.3078, vein 0.3244** (crease codes v2 and
    /// vein codes on 16 × 16 grids).
    ///
    /// What that means, measured on the calibration set (1 000 / 996 identities whose three
    /// enrolment captures were all acquired; `cargo run --release --features synth --example
    /// calibrate`, key `consistency` of `testdata/calibration/calibration.json`):
    ///
    /// | bound | pair FMR | pair FNMR | genuine enrolments refused |
    /// |---|---|---|---|
    /// | crease 0.2756 (pair FMR 1e-6) | 8.8e-7 | 0.45 % | 11 of 1 000 (1.1 %) |
    /// | crease 0.2914 (pair FMR 1e-5) | 9.1e-6 | 0.20 % | 5 of 1 000 (0.5 %) |
    /// | **crease 0.3078 (pair FMR 1e-4)** | 1.0e-4 | 0.13 % | 3 of 1 000 (0.3 %) |
    /// | crease 0.3482 (pair FMR 1e-2) | 1.0e-2 | 0.13 % | 3 of 1 000 (0.3 %) |
    /// | vein 0.3038 (pair FMR 1e-5) | 9.9e-6 | 0.99 % | 21 of 996 (2.1 %) |
    /// | **vein 0.3244 (pair FMR 1e-4)** | 9.6e-5 | 0.35 % | 7 of 996 (0.7 %) |
    /// | vein 0.3698 (pair FMR 1e-2) | 9.9e-3 | 0.12 % | 3 of 996 (0.3 %) |
    ///
    /// Why 1e-4: an enrolment that mixes in a capture of another person passes only if that
    /// capture matches each of the others within the bound, so it slips through with
    /// probability ≤ the pair FMR (1e-4); a tenfold stricter vein bound (pair FMR 1e-5) would
    /// refuse 14 more genuine enrolments per thousand. Loosening further barely helps the
    /// genuine side: even at pair FMR 1e-2, 0.12–0.13 % of the genuine capture pairs stay above the
    /// bound — they are captures whose ROI was misplaced (distance ≈ non-mated), which are
    /// poor references anyway, so asking for a retake is the right answer for them. A refused
    /// enrolment is retaken (the error names the pair), not lost.
    fn default() -> Self {
        let bound = |s: &ScoreCalibration| {
            s.point_for(DEFAULT_CONSISTENCY_PAIR_FMR)
                .and_then(CalibrationPoint::threshold)
                .expect("the calibration table supports the consistency level (unit-tested)")
        };
        Self {
            captures_min: 3,
            captures_max: 5,
            crease_max_consistency_distance: bound(&CALIBRATION.capture_pairs.crease),
            vein_max_consistency_distance: bound(&CALIBRATION.capture_pairs.vein),
        }
    }
}

/// Figures measured on the synthetic development set (see [`FusionConfig::default`]): 30
/// identities (seeds 500 000–500 029) × 4 captures, all 120 acquired; per modality 6 960
/// non-mated and 180 mated capture pairs (shift window ±2 cells); fused scores from 870
/// non-mated and 30 mated probe-vs-enrolment comparisons (3 references each).
pub(crate) mod measured {
    /// Crease non-mated distances (crease codes v2, 16 × 16 grid): mean 0.4108, std 0.0251
    /// (mated mean 0.1693, std 0.0492).
    pub(crate) const CREASE_MEAN: f64 = 0.4108;
    pub(crate) const CREASE_STD: f64 = 0.0251;
    /// Vein non-mated distances (16 × 16 vein grid): mean 0.4329, std 0.0236 (mated mean
    /// 0.2137, std 0.0378).
    pub(crate) const VEIN_MEAN: f64 = 0.4329;
    pub(crate) const VEIN_STD: f64 = 0.0236;
    /// w ∝ d′: crease d′ = 6.185, vein d′ = 6.947.
    pub(crate) const CREASE_WEIGHT: f64 = 0.4710;
    pub(crate) const VEIN_WEIGHT: f64 = 0.5290;
}

/// Impostor-centred z-normalisation parameters and weight of one modality (ALGORITHMS.md §5.1):
/// `z = (non_mated_mean_distance − d) / non_mated_std_distance`; positive `z` means "more similar
/// than two different people typically are".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModalityFusion {
    /// Mean non-mated fractional Hamming distance (after the shift search), in `(0, 1)`.
    pub non_mated_mean_distance: f64,
    /// Standard deviation of the non-mated distances, `> 0` and finite.
    pub non_mated_std_distance: f64,
    /// Weight in the fused sum, `≥ 0` and finite. Weights are renormalised over the modalities a
    /// comparison actually has.
    pub weight: f64,
}

impl ModalityFusion {
    /// The z-score of a distance: `(μ − d) / σ`.
    pub fn z(&self, distance: f64) -> f64 {
        (self.non_mated_mean_distance - distance) / self.non_mated_std_distance
    }

    /// Score-level fusion, the crate's one implementation (the pipeline's decisions and
    /// `openpalm::eval`'s fused measurements both call it): the weighted mean
    /// `Σ w_k z_k(d_k) / Σ w_k` of the z-scores of the compared modalities' distances `d_k`,
    /// over the parts with positive weight. `None` when no part has a positive weight (nothing
    /// compared). A part left out (modality not compared) renormalises the weights of the
    /// others, so one modality alone gives its own z-score. Higher = more similar.
    pub fn fuse<'a>(parts: impl IntoIterator<Item = (&'a ModalityFusion, f64)>) -> Option<f64> {
        let (mut num, mut den) = (0.0, 0.0);
        for (m, distance) in parts {
            if m.weight > 0.0 {
                num += m.weight * m.z(distance);
                den += m.weight;
            }
        }
        (den > 0.0).then(|| num / den)
    }
}

/// Score-level fusion: a z-normalisation per modality and a weighted sum
/// `s = Σ w_k z_k / Σ w_k`, the sums over the modalities compared (so a crease-only comparison
/// has `s = z_crease`).
///
/// # Why this rule
///
/// Measured on the calibration set (1 000 synthetic identities × 4 captures through the default
/// pipeline, 3 995 mated and 3 991 005 non-mated probe-vs-enrolment comparisons with both
/// modalities compared; parameters of [`FusionConfig::default`], fitted on other identities;
/// `cargo run --release --features synth --example calibrate`, key `fusion_rules` of
/// `testdata/calibration/calibration.json`):
///
/// | rule | EER | FNMR @ FMR 1e-3 | 1e-4 | 1e-5 | 1e-6 |
/// |---|---|---|---|---|---|
/// | crease alone | 0.050 % | 0.050 % | 0.050 % | 0.075 % | 0.075 % |
/// | vein alone | 0.075 % | 0.050 % | 0.075 % | 0.175 % | 0.350 % |
/// | **z-score sum, weights ∝ d′ (this rule)** | **0.000 %** | **0.000 %** | **0.000 %** | **0.000 %** | **0.000 %** |
/// | z-score sum, equal weights | 0.000 % | 0.000 % | 0.000 % | 0.000 % | 0.000 % |
/// | max of the z-scores (either modality) | 0.000 % | 0.000 % | 0.000 % | 0.000 % | 0.000 % |
/// | min of the z-scores (both modalities) | 0.075 % | 0.075 % | 0.100 % | 0.100 % | 0.100 % |
/// | mean of the raw distances | 0.000 % | 0.000 % | 0.000 % | 0.000 % | 0.025 % |
///
/// Fusion removes all the error of either modality alone on this set (0 of 3 995 mated
/// comparisons rejected even at FMR 1e-6, against 3 for crease alone and 14 for vein alone),
/// so the sum and max rules tie here (the mean of raw distances rejects 1 at 1e-6); the choice rests on what they mean. (With the
/// previous crease codes and ROI detector the weighted sum rejected 4 at 1e-6 and equal
/// weights 9: the d′ weights were better where the rules differed.)
/// The sum is kept because it needs **both** modalities' evidence: under the max rule one
/// modality alone can accept (its FMR adds up with the other's, and a presentation attack on
/// the easier modality — a printed palm photo for creases — would be enough), while the sum
/// makes the hard-to-spoof vein score count in every decision. The min rule loses: a capture
/// with a misplaced ROI in one modality sinks the comparison. Weights ∝ d′ (0.471 / 0.529).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionConfig {
    /// Crease parameters.
    pub crease: ModalityFusion,
    /// Vein parameters.
    pub vein: ModalityFusion,
}

impl FusionConfig {
    /// The parameters of a modality.
    pub fn modality(&self, modality: Modality) -> &ModalityFusion {
        match modality {
            Modality::Crease => &self.crease,
            Modality::Vein => &self.vein,
        }
    }

    /// The fused score of a comparison from its per-modality distances (`None` = that modality
    /// was not compared): `Σ w_k z_k / Σ w_k` over the compared modalities with positive weight,
    /// `None` when there is none. This is the rule [`Pipeline::verify`](super::Pipeline::verify)
    /// and [`Pipeline::identify`](super::Pipeline::identify) decide with, and the one the
    /// calibration table is measured with.
    pub fn fuse(&self, crease_distance: Option<f64>, vein_distance: Option<f64>) -> Option<f64> {
        let parts = [(&self.crease, crease_distance), (&self.vein, vein_distance)];
        ModalityFusion::fuse(parts.into_iter().filter_map(|(m, d)| Some((m, d?))))
    }
}

impl Default for FusionConfig {
    /// Measured through the default pipeline on synthetic data (`openpalm::synth`, default
    /// capture options): a development set of identities (seeds `500_000..`) disjoint from the
    /// test identities, all non-mated pairs of their captures giving μ and σ per modality, and
    /// the weights `w_k ∝ d′_k` (ALGORITHMS.md §5.1). 30 identities × 4 captures (all
    /// acquired), 6 960 non-mated and 180 mated pairs per modality:
    ///
    /// | modality | non-mated μ | σ | mated μ | σ | d′ | weight |
    /// |---|---|---|---|---|---|---|
    /// | crease (BOCV) | 0.4596 | 0.0120 | 0.2292 | 0.0519 | 6.115 | 0.4659 |
    /// | vein (max. curvature, 16 × 16 grid) | 0.4322 | 0.0239 | 0.2133 | 0.0372 | 7.009 | 0.5341 |
    ///
    /// Regenerate with
    ///
    /// ```text
    /// cargo test --release --features synth --test pipeline_synth -- --ignored --nocapture measure_fusion
    /// ```
    ///
    /// Synthetic figures only: re-measure on real captures of the target sensor before use.
    fn default() -> Self {
        Self {
            crease: ModalityFusion {
                non_mated_mean_distance: measured::CREASE_MEAN,
                non_mated_std_distance: measured::CREASE_STD,
                weight: measured::CREASE_WEIGHT,
            },
            vein: ModalityFusion {
                non_mated_mean_distance: measured::VEIN_MEAN,
                non_mated_std_distance: measured::VEIN_STD,
                weight: measured::VEIN_WEIGHT,
            },
        }
    }
}

/// The operating point: when a fused score means "same palm".
///
/// - [`Threshold::fmr`] (the default, at 1e-6): a target false-match rate per comparison,
///   looked up in the measured [`CALIBRATION`] table for the modalities the comparison actually
///   compared (crease alone, vein alone, or both fused). A target between two calibrated levels
///   uses the stricter one; a target below every supported level is refused by
///   [`PipelineConfig::validate`].
/// - [`Threshold::fpir`]: a target false-positive identification rate for a gallery of `N`
///   subjects, converted to the per-comparison FMR `1 − (1 − FPIR)^(1/N)` (≈ FPIR / N) and then
///   as above. See the [calibration module](super::calibration) for the derivation and the check.
/// - [`Threshold::fused_score`]: a raw fused-score threshold (z units, see [`FusionConfig`]),
///   for integrators who calibrate on their own sensor's data.
///
/// A comparison is a match when its fused score is **at least** the threshold's minimum score.
///
/// The calibrated forms hold only for the settings the table was measured with: the default
/// stages ([`Pipeline::default`](super::Pipeline::default)), [`FusionConfig::default`] and
/// [`MatchConfig::default`]. [`PipelineConfig::validate`] refuses `Threshold::fmr` with other
/// fusion or matching settings; a pipeline with swapped extractors must be recalibrated (the
/// `calibrate` example) and use [`Threshold::fused_score`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
#[non_exhaustive]
pub enum Threshold {
    /// Accept when the fused score is `≥ min_fused_score` (z units, finite).
    FusedScore {
        /// The smallest fused score accepted.
        min_fused_score: f64,
    },
    /// Accept at the calibrated threshold of a target FMR (per comparison, in `(0, 1]`).
    Fmr {
        /// The target false-match rate, e.g. `1e-6`.
        fmr: f64,
    },
}

impl Threshold {
    /// A fused-score threshold.
    pub fn fused_score(min_fused_score: f64) -> Self {
        Threshold::FusedScore { min_fused_score }
    }

    /// A calibrated threshold at a target false-match rate per comparison, e.g.
    /// `Threshold::fmr(1e-6)`; see [`CALIBRATION`] for the measured levels.
    pub fn fmr(fmr: f64) -> Self {
        Threshold::Fmr { fmr }
    }

    /// A calibrated threshold for identification: the per-comparison FMR that gives a target
    /// false-positive identification rate `fpir` over a gallery of `gallery_size` subjects,
    /// `FMR = 1 − (1 − FPIR)^(1/N)` ([`fmr_for_fpir`]). Re-derive it when the gallery grows:
    /// FPIR ≈ N · FMR grows with N at a fixed threshold.
    pub fn fpir(fpir: f64, gallery_size: u64) -> Self {
        Threshold::Fmr {
            fmr: fmr_for_fpir(fpir, gallery_size),
        }
    }

    /// The smallest fused score accepted for a comparison of `compared` modalities, or `None`
    /// for an FMR target the calibration table cannot support (refused by
    /// [`PipelineConfig::validate`]).
    pub fn min_fused_score(&self, compared: ComparedModalities) -> Option<f64> {
        match *self {
            Threshold::FusedScore { min_fused_score } => Some(min_fused_score),
            Threshold::Fmr { fmr } => CALIBRATION.min_fused_score(fmr, compared),
        }
    }

    /// Whether a fused score of `compared` modalities is accepted (never, for an unsupported
    /// FMR target).
    pub fn accepts(&self, fused_score: f64, compared: ComparedModalities) -> bool {
        self.min_fused_score(compared)
            .is_some_and(|t| fused_score >= t)
    }
}

impl Default for Threshold {
    /// `Threshold::fmr(1e-6)`: one false match per million comparisons, as measured in
    /// [`CALIBRATION`] on synthetic data.
    fn default() -> Self {
        Threshold::fmr(1e-6)
    }
}

fn issue(field: &str, value: impl ToString, bound: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        field: field.into(),
        value: value.to_string(),
        bound: bound.into(),
    }
}

impl PipelineConfig {
    /// Checks every field; the error lists each bad value with its bound, fields named by their
    /// dotted path (`enrolment.captures_min`, `fusion.vein.weight`, `matching.max_shift_rows`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Vec::new();
        if self.schema_version != PIPELINE_CONFIG_SCHEMA_VERSION {
            issues.push(issue(
                "schema_version",
                self.schema_version,
                format!("must be {PIPELINE_CONFIG_SCHEMA_VERSION}"),
            ));
        }
        if let Err(e) = self.matching.validate() {
            issues.extend(e.issues);
        }
        let e = &self.enrolment;
        if e.captures_min < 1 {
            issues.push(issue(
                "enrolment.captures_min",
                e.captures_min,
                "must be ≥ 1",
            ));
        }
        if e.captures_max < e.captures_min.max(1) || e.captures_max > MAX_ENROLMENT_CAPTURES {
            issues.push(issue(
                "enrolment.captures_max",
                e.captures_max,
                format!(
                    "must be in [captures_min = {}, {MAX_ENROLMENT_CAPTURES}]",
                    e.captures_min
                ),
            ));
        }
        for (field, d) in [
            (
                "enrolment.crease_max_consistency_distance",
                e.crease_max_consistency_distance,
            ),
            (
                "enrolment.vein_max_consistency_distance",
                e.vein_max_consistency_distance,
            ),
        ] {
            if !(d.is_finite() && d > 0.0 && d <= 1.0) {
                issues.push(issue(field, d, "must be a distance in (0, 1]"));
            }
        }
        for (name, m) in [("crease", &self.fusion.crease), ("vein", &self.fusion.vein)] {
            let mu = m.non_mated_mean_distance;
            if !(mu.is_finite() && mu > 0.0 && mu < 1.0) {
                issues.push(issue(
                    &format!("fusion.{name}.non_mated_mean_distance"),
                    mu,
                    "must be a distance in (0, 1)",
                ));
            }
            let sigma = m.non_mated_std_distance;
            if !(sigma.is_finite() && sigma > 0.0 && sigma <= 1.0) {
                issues.push(issue(
                    &format!("fusion.{name}.non_mated_std_distance"),
                    sigma,
                    "must be in (0, 1]",
                ));
            }
            if !(m.weight.is_finite() && m.weight >= 0.0) {
                issues.push(issue(
                    &format!("fusion.{name}.weight"),
                    m.weight,
                    "must be finite and ≥ 0",
                ));
            }
        }
        let (wc, wv) = (self.fusion.crease.weight, self.fusion.vein.weight);
        if wc.is_finite() && wv.is_finite() && wc >= 0.0 && wv >= 0.0 && wc + wv <= 0.0 {
            issues.push(issue(
                "fusion.weight (crease + vein)",
                wc + wv,
                "must be > 0 (at least one modality weighted)",
            ));
        }
        match self.threshold {
            Threshold::FusedScore { min_fused_score } if !min_fused_score.is_finite() => {
                issues.push(issue(
                    "threshold.fused_score.min_fused_score",
                    min_fused_score,
                    "must be finite",
                ));
            }
            Threshold::FusedScore { .. } => {}
            Threshold::Fmr { fmr } if !(fmr > 0.0 && fmr <= 1.0) => {
                issues.push(issue("threshold.fmr.fmr", fmr, "must be in (0, 1]"));
            }
            Threshold::Fmr { fmr } => {
                // The table holds for the settings it was measured with, nothing else.
                if self.fusion != FusionConfig::default() {
                    issues.push(issue(
                        "fusion",
                        "(not the default)",
                        "must be FusionConfig::default() with Threshold::fmr (the calibration \
                         table is measured with it); use Threshold::fused_score with your own \
                         calibration",
                    ));
                }
                if self.matching != MatchConfig::default() {
                    issues.push(issue(
                        "matching",
                        "(not the default)",
                        "must be MatchConfig::default() with Threshold::fmr (the calibration \
                         table is measured with it); use Threshold::fused_score with your own \
                         calibration",
                    ));
                }
                for compared in ComparedModalities::ALL {
                    if CALIBRATION.min_fused_score(fmr, compared).is_none() {
                        let strictest = CALIBRATION
                            .scores(compared)
                            .points
                            .iter()
                            .filter(|p| p.threshold().is_some())
                            .map(|p| p.target_fmr())
                            .fold(f64::NAN, f64::min);
                        issues.push(issue(
                            "threshold.fmr.fmr",
                            fmr,
                            format!(
                                "must be ≥ {strictest:e}, the strictest level the calibration \
                                 table supports for {compared:?}"
                            ),
                        ));
                        break;
                    }
                }
            }
        }
        if self.max_metadata_bytes > MAX_METADATA_BYTES_LIMIT {
            issues.push(issue(
                "max_metadata_bytes",
                self.max_metadata_bytes,
                format!("must be ≤ {MAX_METADATA_BYTES_LIMIT} bytes"),
            ));
        }
        ConfigError::check(issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_consistency_bounds_come_from_the_capture_pair_table() {
        let e = EnrolmentConfig::default();
        for (d, s) in [
            (
                e.crease_max_consistency_distance,
                &CALIBRATION.capture_pairs.crease,
            ),
            (
                e.vein_max_consistency_distance,
                &CALIBRATION.capture_pairs.vein,
            ),
        ] {
            let Some(CalibrationPoint::Measured { threshold, .. }) =
                s.point_for(DEFAULT_CONSISTENCY_PAIR_FMR).copied()
            else {
                panic!("consistency level not calibrated");
            };
            assert_eq!(d, threshold);
            assert!(d > 0.3 && d < 0.45, "{d}");
        }
    }

    #[test]
    fn default_is_valid_and_round_trips() {
        let c = PipelineConfig::default();
        c.validate().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        let back: PipelineConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn validate_lists_every_issue() {
        let mut c = PipelineConfig {
            schema_version: 7,
            max_metadata_bytes: MAX_METADATA_BYTES_LIMIT + 1,
            threshold: Threshold::fused_score(f64::NAN),
            ..PipelineConfig::default()
        };
        c.matching.max_shift_rows = 200;
        c.enrolment.captures_min = 0;
        c.enrolment.captures_max = 40;
        c.enrolment.crease_max_consistency_distance = 0.0;
        c.enrolment.vein_max_consistency_distance = 1.5;
        c.fusion.crease.non_mated_mean_distance = 1.0;
        c.fusion.crease.non_mated_std_distance = 0.0;
        c.fusion.vein.weight = -1.0;
        let err = c.validate().unwrap_err();
        let fields: Vec<&str> = err.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "schema_version",
                "matching.max_shift_rows",
                "enrolment.captures_min",
                "enrolment.captures_max",
                "enrolment.crease_max_consistency_distance",
                "enrolment.vein_max_consistency_distance",
                "fusion.crease.non_mated_mean_distance",
                "fusion.crease.non_mated_std_distance",
                "fusion.vein.weight",
                "threshold.fused_score.min_fused_score",
                "max_metadata_bytes",
            ]
        );
        assert_eq!(err.issues[0].value, "7");
        assert_eq!(err.issues[0].bound, "must be 1");
        assert!(err.issues[3].bound.contains("16"), "{}", err.issues[3]);
    }

    #[test]
    fn zero_total_weight_is_rejected() {
        let mut c = PipelineConfig {
            threshold: Threshold::fused_score(3.0),
            ..PipelineConfig::default()
        };
        c.fusion.crease.weight = 0.0;
        c.fusion.vein.weight = 0.0;
        let err = c.validate().unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert!(err.issues[0].field.starts_with("fusion.weight"));
    }

    #[test]
    fn captures_max_below_min_is_rejected() {
        let mut c = PipelineConfig::default();
        c.enrolment.captures_min = 4;
        c.enrolment.captures_max = 3;
        let err = c.validate().unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert_eq!(err.issues[0].field, "enrolment.captures_max");
        assert_eq!(err.issues[0].value, "3");
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        let good = serde_json::to_value(PipelineConfig::default()).unwrap();
        for path in [&[][..], &["enrolment"], &["fusion", "vein"], &["matching"]] {
            let mut v = good.clone();
            let mut obj = &mut v;
            for p in path {
                obj = obj.get_mut(*p).unwrap();
            }
            obj.as_object_mut()
                .unwrap()
                .insert("roi_size".into(), serde_json::json!(1));
            let err = serde_json::from_value::<PipelineConfig>(v).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{path:?}: {err}");
        }
    }

    #[test]
    fn threshold_accepts_at_and_above() {
        let t = Threshold::fused_score(2.0);
        for c in ComparedModalities::ALL {
            assert!(t.accepts(2.0, c));
            assert!(t.accepts(5.0, c));
            assert!(!t.accepts(1.999, c));
        }
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"fused_score":{"min_fused_score":2.0}}"#);
        let json = serde_json::to_string(&Threshold::fmr(1e-4)).unwrap();
        assert_eq!(json, r#"{"fmr":{"fmr":0.0001}}"#);
    }

    #[test]
    fn fmr_threshold_uses_the_row_of_the_compared_modalities() {
        for c in ComparedModalities::ALL {
            let t = Threshold::fmr(1e-3);
            let min = CALIBRATION.min_fused_score(1e-3, c).unwrap();
            assert_eq!(t.min_fused_score(c), Some(min));
            assert!(t.accepts(min, c));
            assert!(!t.accepts(min.next_down(), c));
        }
    }

    #[test]
    fn fmr_threshold_out_of_range_or_unsupported_is_refused() {
        for bad in [0.0, -1e-3, 1.5, f64::NAN] {
            let c = PipelineConfig {
                threshold: Threshold::fmr(bad),
                ..PipelineConfig::default()
            };
            let err = c.validate().unwrap_err();
            assert_eq!(err.issues.len(), 1, "{bad}");
            assert_eq!(err.issues[0].field, "threshold.fmr.fmr");
            assert_eq!(err.issues[0].bound, "must be in (0, 1]");
        }
        let c = PipelineConfig {
            threshold: Threshold::fmr(1e-9),
            ..PipelineConfig::default()
        };
        let err = c.validate().unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert!(
            err.issues[0].bound.contains("strictest level"),
            "{}",
            err.issues[0]
        );
        assert!(!Threshold::fmr(1e-9).accepts(1e9, ComparedModalities::Both));
    }

    #[test]
    fn fmr_threshold_needs_the_calibrated_fusion_and_matching() {
        let mut c = PipelineConfig::default();
        c.fusion.vein.weight = 1.0;
        c.matching.max_shift_rows = 1;
        let err = c.validate().unwrap_err();
        let fields: Vec<&str> = err.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["fusion", "matching"]);
        // The same settings with a raw fused-score threshold are the integrator's business.
        c.threshold = Threshold::fused_score(5.0);
        c.validate().unwrap();
    }

    #[test]
    fn fpir_threshold_divides_by_the_gallery_size() {
        let Threshold::Fmr { fmr } = Threshold::fpir(1e-2, 1000) else {
            panic!("not an FMR threshold");
        };
        assert!((fmr - 1.00503e-5).abs() < 1e-9, "{fmr}");
        // 1e-2 over 1000 people decides at the 1e-6 row (stricter than 1.005e-5 → 1e-5 row).
        assert_eq!(
            Threshold::fpir(1e-2, 1000).min_fused_score(ComparedModalities::Both),
            CALIBRATION.min_fused_score(1e-5, ComparedModalities::Both)
        );
    }

    #[test]
    fn z_is_impostor_centred() {
        let m = ModalityFusion {
            non_mated_mean_distance: 0.45,
            non_mated_std_distance: 0.02,
            weight: 1.0,
        };
        assert_eq!(m.z(0.45), 0.0);
        assert!((m.z(0.41) - 2.0).abs() < 1e-12);
        assert!(m.z(0.5) < 0.0);
    }
}
