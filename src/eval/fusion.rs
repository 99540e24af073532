//! Crease + vein experiments fused at score level (the `evaluate --modality fused` path).
//!
//! # Data
//! Each sample is one presentation seen in two frames: a visible frame (ROI detection + a crease
//! extractor) and a near-infrared frame (ROI detection + a vein extractor). In an image folder
//! they are `DIR/<subject>/<sample>_vis.<ext>` and `DIR/<subject>/<sample>_nir.<ext>`
//! ([`pair_frames`]); the sample id is `<subject>/<sample>`.
//!
//! # Fusion
//! The crate has **one** fusion implementation, [`ModalityFusion::fuse`] (the pipeline's
//! decisions use it too): per modality an impostor-centred z-score `z = (μ_nm − d) / σ_nm`, then
//! the weighted mean `Σ w z / Σ w` over the modalities compared. The fused *distance* written to
//! `scores.csv` is `−fused score` (lower = more similar, as every score file of the crate).
//! Where μ, σ and w come from ([`FusionParameters`]):
//! - [`FusionParameters::Development`] (the default): the subjects, sorted by name, are split;
//!   the first `⌈S/2⌉` form the **development** split and the rest the **evaluation** split.
//!   Per modality μ and σ are the mean and population standard deviation of the development
//!   split's non-mated distances and `w = d′` of its mated vs non-mated distances
//!   ([`estimate`]). Every reported figure (scores, rates, plots) is measured on the evaluation
//!   split only; pairs across the splits are never formed.
//! - [`FusionParameters::Fixed`]: given parameters (e.g. the pipeline's documented
//!   [`FusionConfig::default`]); every subject is evaluated.
//!
//! Pairs are planned per split as in [`super::experiment`] (every mated pair; all non-mated
//! pairs, or with [`NonMatedPlan::Sample`] `count` distinct ones drawn without replacement in
//! **each** split), over the samples with at least one frame acquired.
//!
//! # A pair with one modality
//! A sample whose visible **and** NIR frames both failed to acquire is a failure to acquire of
//! the fused system (it counts in FTA, FAR and FRR). A sample with one frame acquired takes part
//! with that modality only, as [`Pipeline::verify`](crate::pipeline::Pipeline::verify) does: a
//! pair whose crease (or vein) comparison is missing — one side failed to acquire that frame, or
//! the comparison had insufficient overlap — is fused from the other modality alone (the weights
//! renormalise, so its fused score is that modality's z-score). Such pairs are **counted** by
//! cause in [`PairCounts`]. A pair with no modality compared (each side has only a different
//! modality, or every shared modality had insufficient overlap) has no score: it is listed as a
//! rejected pair (a non-match at every threshold, see [`super::experiment`]).
//!
//! # Failures
//! `fta.csv` lists every **frame** that failed, with its reason (`<sample>_vis.png`,
//! `<sample>_nir.png`), from both splits; the FTA in `metrics.json` is the fused system's
//! (samples of the evaluation split with neither frame acquired).

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Sample};
use super::experiment::{
    ExperimentResult, FailureToAcquire, NonMatedPlan, PairPlan, Progress, RejectedPair,
};
use super::{EvalError, ScoreRecord, ScoreSet};
use crate::matching::{ComparisonOutcome, MatchConfig, Matcher};
use crate::pipeline::{FusionConfig, ModalityFusion};
use crate::template::PalmTemplate;

/// The two frames of a sample, in this order everywhere: visible (crease), NIR (vein).
pub const BANDS: [&str; 2] = ["vis", "nir"];

/// Estimates one modality's fusion parameters from development distances: `μ` and `σ` of the
/// non-mated distances (mean and population standard deviation) and the weight
/// `d′ = |μ_nm − μ_m| / √((σ_m² + σ_nm²)/2)`. Weights need not sum to 1
/// ([`ModalityFusion::fuse`] divides by their sum).
///
/// # Errors
/// [`EvalError::Empty`] without mated or with fewer than two non-mated distances,
/// [`EvalError::NonFinite`] for a non-finite distance, [`EvalError::InvalidParameter`] when the
/// non-mated distances are all equal (σ = 0: no z-score).
pub fn estimate(mated: &[f64], non_mated: &[f64]) -> Result<ModalityFusion, EvalError> {
    super::check_finite("mated", mated)?;
    super::check_finite("non-mated", non_mated)?;
    if mated.is_empty() {
        return Err(EvalError::Empty {
            what: "development mated distances",
        });
    }
    if non_mated.len() < 2 {
        return Err(EvalError::Empty {
            what: "development non-mated distances (two or more)",
        });
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (mean, var.sqrt())
    };
    let ((mm, sm), (mn, sn)) = (stats(mated), stats(non_mated));
    if sn <= 0.0 {
        return Err(EvalError::InvalidParameter {
            name: "development non-mated distance spread",
            value: format!("σ = {sn}"),
            bound: "must be > 0 for a z-score",
        });
    }
    let d_prime = (mn - mm).abs() / ((sm * sm + sn * sn) / 2.0).sqrt();
    Ok(ModalityFusion {
        non_mated_mean_distance: mn,
        non_mated_std_distance: sn,
        weight: if d_prime.is_finite() { d_prime } else { 1.0 },
    })
}

/// Where the fusion parameters come from (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FusionParameters {
    /// Estimated on the development half of the subjects, applied to the other half.
    Development,
    /// Fixed, e.g. [`FusionConfig::default`] (the pipeline's documented defaults); every
    /// subject is evaluated.
    Fixed(FusionConfig),
}

/// One sample after extraction: a template (or the failure reason) per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedEntry {
    /// Subject.
    pub subject: String,
    /// Sample id `<subject>/<sample>` (no band suffix, no extension).
    pub sample: String,
    /// Frame ids (`<subject>/<file name>`), visible then NIR, for `fta.csv` and
    /// `landmarks.csv`.
    pub frames: [String; 2],
    /// Crease template from the visible frame, vein template from the NIR frame, or why not.
    pub templates: [Result<PalmTemplate, String>; 2],
}

impl FusedEntry {
    fn acquired(&self) -> bool {
        self.templates.iter().any(Result::is_ok)
    }
}

/// A sample of an image folder: its visible and NIR files (`None`: the file is missing).
#[derive(Debug, Clone, PartialEq)]
pub struct FramePair {
    /// Subject.
    pub subject: String,
    /// Sample id `<subject>/<sample>`.
    pub sample: String,
    /// Visible and NIR files.
    pub frames: [Option<Sample>; 2],
}

/// Groups a scanned folder's files into samples by the `_vis` / `_nir` suffix of the file stem
/// (case-sensitive), in dataset order. Returns the samples and the ids of files that were not
/// used, with why: no `_vis`/`_nir` suffix, or a second file for the same sample and band.
pub fn pair_frames(dataset: &Dataset) -> (Vec<FramePair>, Vec<(String, String)>) {
    let mut out: Vec<FramePair> = Vec::new();
    let mut unused = Vec::new();
    for subject in &dataset.subjects {
        let first = out.len();
        for s in &subject.samples {
            let file = s.id.rsplit('/').next().unwrap_or(&s.id);
            let stem = file.rsplit_once('.').map_or(file, |(a, _)| a);
            let Some((base, band)) = BANDS
                .iter()
                .enumerate()
                .find_map(|(b, suf)| stem.strip_suffix(&format!("_{suf}")).map(|x| (x, b)))
            else {
                unused.push((
                    s.id.clone(),
                    "file stem ends neither in _vis nor in _nir".to_string(),
                ));
                continue;
            };
            let id = format!("{}/{base}", subject.name);
            let k = match out[first..].iter().position(|p| p.sample == id) {
                Some(k) => first + k,
                None => {
                    out.push(FramePair {
                        subject: subject.name.clone(),
                        sample: id,
                        frames: [None, None],
                    });
                    out.len() - 1
                }
            };
            if out[k].frames[band].is_some() {
                unused.push((
                    s.id.clone(),
                    format!(
                        "a second _{} file for sample {}",
                        BANDS[band], out[k].sample
                    ),
                ));
            } else {
                out[k].frames[band] = Some(s.clone());
            }
        }
    }
    (out, unused)
}

/// How each evaluation pair entered the fused scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairCounts {
    /// Both modalities compared.
    pub both: u64,
    /// Crease only: a side has no vein template (NIR frame failed to acquire).
    pub crease_only_vein_fta: u64,
    /// Crease only: the vein comparison had insufficient overlap.
    pub crease_only_vein_overlap: u64,
    /// Vein only: a side has no crease template (visible frame failed to acquire).
    pub vein_only_crease_fta: u64,
    /// Vein only: the crease comparison had insufficient overlap.
    pub vein_only_crease_overlap: u64,
    /// No score: no modality compared (listed in `rejected.csv`).
    pub none: u64,
}

/// One modality's error rates on the evaluation pairs where it was compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalityRates {
    /// `crease` or `vein`.
    pub modality: String,
    /// The extractor's algorithm (id and version).
    pub algorithm: String,
    /// The fusion parameters used for it.
    pub parameters: FusionParametersJson,
    /// Mated pairs compared.
    pub mated: u64,
    /// Non-mated pairs compared.
    pub non_mated: u64,
    /// Equal error rate (absent when either side is empty).
    pub eer: Option<f64>,
    /// FNMR at the standard FMR targets (absent when either side is empty).
    pub fnmr_at_fmr: Option<Vec<super::FnmrAtFmr>>,
}

/// [`ModalityFusion`] as written to `metrics.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionParametersJson {
    /// μ of the non-mated distances.
    pub non_mated_mean_distance: f64,
    /// σ of the non-mated distances.
    pub non_mated_std_distance: f64,
    /// Weight (renormalised over the modalities a pair has).
    pub weight: f64,
}

impl From<&ModalityFusion> for FusionParametersJson {
    fn from(m: &ModalityFusion) -> Self {
        FusionParametersJson {
            non_mated_mean_distance: m.non_mated_mean_distance,
            non_mated_std_distance: m.non_mated_std_distance,
            weight: m.weight,
        }
    }
}

/// The `fusion` section of `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionReport {
    /// `"estimated on the development split"` or `"fixed"`.
    pub parameters_source: String,
    /// Subjects whose pairs estimated the parameters (0 when fixed).
    pub development_subjects: u64,
    /// Subjects evaluated.
    pub evaluation_subjects: u64,
    /// The rule, in words.
    pub method: String,
    /// What happens to a pair with one modality.
    pub single_modality_policy: String,
    /// Pair counts by modality availability (evaluation split).
    pub pairs: PairCounts,
    /// Samples (evaluation split) with only the visible / only the NIR frame acquired.
    pub samples_visible_only: u64,
    /// Samples (evaluation split) with only the NIR frame acquired.
    pub samples_nir_only: u64,
    /// Frames that failed to acquire, visible and NIR, both splits (`fta.csv`).
    pub frame_failures: [u64; 2],
    /// Crease and vein alone on the evaluation pairs where each was compared.
    pub per_modality: Vec<ModalityRates>,
}

/// A fused experiment's outcome.
#[derive(Debug, Clone)]
pub struct FusedExperiment {
    /// The evaluation split as an experiment: fused distances (`−score`), rejected pairs,
    /// fused failures to acquire (neither frame acquired).
    pub result: ExperimentResult,
    /// Every frame that failed to acquire, with its reason (both splits).
    pub frame_failures: Vec<FailureToAcquire>,
    /// The fusion section of the report.
    pub report: FusionReport,
    /// The parameters applied (crease, vein).
    pub parameters: FusionConfig,
}

/// The outcome of one modality in one pair.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mod {
    Compared(f64),
    Overlap { best: u32, required: u32 },
    Missing,
}

/// Compared pairs of one split: `(probe, reference, mated, [crease, vein])`, items sorted by
/// subject.
struct Split<'a> {
    items: Vec<&'a FusedEntry>,
    plan: PairPlan,
    pairs: Vec<(usize, usize, bool, [Mod; 2])>,
}

fn compare_split<'a>(
    entries: Vec<&'a FusedEntry>,
    config: &MatchConfig,
    plan: NonMatedPlan,
    progress: &Progress,
) -> Result<Split<'a>, EvalError> {
    let mut items: Vec<&FusedEntry> = entries.into_iter().filter(|e| e.acquired()).collect();
    items.sort_by(|a, b| a.subject.cmp(&b.subject));
    let names: Vec<&str> = items.iter().map(|e| e.subject.as_str()).collect();
    let pp = PairPlan::new(&names, plan)?;
    progress.set_total(progress.done() + pp.mated_pairs + pp.non_mated_pairs);
    type Row = (usize, usize, bool, [Mod; 2]);
    let per_probe: Vec<Result<Vec<Row>, EvalError>> = (0..items.len())
        .into_par_iter()
        .map(|p| {
            let refs = pp.references(p);
            if refs.is_empty() {
                return Ok(Vec::new());
            }
            let matchers: Vec<Option<Matcher>> = items[p]
                .templates
                .iter()
                .map(|t| t.as_ref().ok().map(|t| Matcher::new(t, config)).transpose())
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(refs.len());
            for (q, mated) in refs {
                let mut m = [Mod::Missing; 2];
                for b in 0..2 {
                    if let (Some(matcher), Ok(r)) = (&matchers[b], &items[q].templates[b]) {
                        m[b] = match matcher.compare(r)? {
                            ComparisonOutcome::Compared(c) => Mod::Compared(c.distance),
                            ComparisonOutcome::InsufficientOverlap {
                                best_overlap_cells,
                                required_cells,
                            } => Mod::Overlap {
                                best: best_overlap_cells,
                                required: required_cells,
                            },
                        };
                    }
                }
                out.push((p, q, mated, m));
            }
            progress.add(out.len() as u64);
            Ok(out)
        })
        .collect();
    let mut pairs = Vec::new();
    for v in per_probe {
        pairs.extend(v?);
    }
    Ok(Split {
        items,
        plan: pp,
        pairs,
    })
}

/// Runs a fused experiment (see the [module documentation](self)): plans and compares the pairs
/// of each split, fixes the fusion parameters, and fuses the evaluation pairs.
///
/// # Errors
/// [`EvalError::InvalidParameter`] with [`FusionParameters::Development`] and fewer than four
/// subjects; [`estimate`]'s errors when the development split has too few comparisons of a
/// modality; [`EvalError::Matching`] for templates that cannot be compared.
pub fn run_fused(
    entries: &[FusedEntry],
    config: &MatchConfig,
    plan: NonMatedPlan,
    parameters: FusionParameters,
    progress: &Progress,
) -> Result<FusedExperiment, EvalError> {
    let subjects: BTreeSet<&str> = entries.iter().map(|e| e.subject.as_str()).collect();
    let (dev_subjects, eval_subjects): (BTreeSet<&str>, BTreeSet<&str>) = match parameters {
        FusionParameters::Development => {
            if subjects.len() < 4 {
                return Err(EvalError::InvalidParameter {
                    name: "subjects for fusion estimated on a development split",
                    value: subjects.len().to_string(),
                    bound: "must be at least 4 (two per split); or use fixed parameters",
                });
            }
            let k = subjects.len().div_ceil(2);
            (
                subjects.iter().take(k).copied().collect(),
                subjects.iter().skip(k).copied().collect(),
            )
        }
        FusionParameters::Fixed(_) => (BTreeSet::new(), subjects.clone()),
    };
    let in_split = |set: &BTreeSet<&str>| -> Vec<&FusedEntry> {
        entries
            .iter()
            .filter(|e| set.contains(e.subject.as_str()))
            .collect()
    };
    let fusion = match parameters {
        FusionParameters::Fixed(f) => f,
        FusionParameters::Development => {
            let dev = compare_split(in_split(&dev_subjects), config, plan, progress)?;
            let mut est = Vec::with_capacity(2);
            for b in 0..2 {
                let (mut m, mut nm) = (Vec::new(), Vec::new());
                for &(_, _, mated, o) in &dev.pairs {
                    if let Mod::Compared(d) = o[b] {
                        if mated { m.push(d) } else { nm.push(d) }
                    }
                }
                est.push(estimate(&m, &nm)?);
            }
            FusionConfig {
                crease: est[0],
                vein: est[1],
            }
        }
    };
    let params = [fusion.crease, fusion.vein];
    let ev = compare_split(in_split(&eval_subjects), config, plan, progress)?;
    progress.finish();

    let mut counts = PairCounts::default();
    let mut records = Vec::with_capacity(ev.pairs.len());
    let mut rejected = Vec::new();
    let mut per_mod: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    for &(p, q, mated, o) in &ev.pairs {
        let (probe, reference) = (&ev.items[p].sample, &ev.items[q].sample);
        for b in 0..2 {
            if let Mod::Compared(d) = o[b] {
                if mated {
                    per_mod[b].0.push(d)
                } else {
                    per_mod[b].1.push(d)
                }
            }
        }
        let parts = (0..2).filter_map(|b| match o[b] {
            Mod::Compared(d) => Some((&params[b], d)),
            _ => None,
        });
        match (o[0], o[1]) {
            (Mod::Compared(_), Mod::Compared(_)) => counts.both += 1,
            (Mod::Compared(_), Mod::Missing) => counts.crease_only_vein_fta += 1,
            (Mod::Compared(_), Mod::Overlap { .. }) => counts.crease_only_vein_overlap += 1,
            (Mod::Missing, Mod::Compared(_)) => counts.vein_only_crease_fta += 1,
            (Mod::Overlap { .. }, Mod::Compared(_)) => counts.vein_only_crease_overlap += 1,
            _ => counts.none += 1,
        }
        match ModalityFusion::fuse(parts) {
            Some(score) => records.push(ScoreRecord::new(probe, reference, mated, -score)),
            None => {
                let (best, required) = o
                    .iter()
                    .find_map(|m| match *m {
                        Mod::Overlap { best, required } => Some((best, required)),
                        _ => None,
                    })
                    .unwrap_or((0, 0));
                rejected.push(RejectedPair {
                    probe: probe.clone(),
                    reference: reference.clone(),
                    mated,
                    best_overlap_cells: best,
                    required_cells: required,
                });
            }
        }
    }
    let eval_entries = in_split(&eval_subjects);
    let failures: Vec<FailureToAcquire> = eval_entries
        .iter()
        .filter(|e| !e.acquired())
        .map(|e| FailureToAcquire {
            sample: e.sample.clone(),
            reason: format!(
                "visible: {}; NIR: {}",
                e.templates[0].as_ref().err().map_or("", String::as_str),
                e.templates[1].as_ref().err().map_or("", String::as_str)
            ),
        })
        .collect();
    let only = |b: usize| {
        eval_entries
            .iter()
            .filter(|e| e.templates[b].is_ok() && e.templates[1 - b].is_err())
            .count() as u64
    };
    let mut frame_failures = Vec::new();
    let mut frame_counts = [0u64; 2];
    for e in entries {
        for ((t, frame), count) in e.templates.iter().zip(&e.frames).zip(&mut frame_counts) {
            if let Err(reason) = t {
                *count += 1;
                frame_failures.push(FailureToAcquire {
                    sample: frame.clone(),
                    reason: reason.clone(),
                });
            }
        }
    }
    let algorithm = |b: usize| {
        entries
            .iter()
            .find_map(|e| e.templates[b].as_ref().ok())
            .map_or("none".into(), |t| t.algorithm().to_string())
    };
    let per_modality = (0..2)
        .map(|b| {
            let set = ScoreSet::new(per_mod[b].0.clone(), per_mod[b].1.clone()).ok();
            ModalityRates {
                modality: ["crease", "vein"][b].into(),
                algorithm: algorithm(b),
                parameters: (&params[b]).into(),
                mated: per_mod[b].0.len() as u64,
                non_mated: per_mod[b].1.len() as u64,
                eer: set.as_ref().map(|s| s.eer().eer),
                fnmr_at_fmr: set.as_ref().map(ScoreSet::fnmr_at_standard_fmrs),
            }
        })
        .collect();
    let source = match parameters {
        FusionParameters::Development => format!(
            "estimated on the development split (subjects {} to {} by name: all mated and the \
             planned non-mated pairs among them; μ, σ of non-mated distances, weight = d′) and \
             applied to the evaluation split; every figure in this file is from the evaluation \
             split",
            dev_subjects.first().unwrap_or(&""),
            dev_subjects.last().unwrap_or(&"")
        ),
        FusionParameters::Fixed(_) => {
            "fixed (given, not estimated on these scores); every subject is evaluated".into()
        }
    };
    let report = FusionReport {
        parameters_source: source,
        development_subjects: dev_subjects.len() as u64,
        evaluation_subjects: eval_subjects.len() as u64,
        method: "z = (μ_nm − d)/σ_nm per modality; fused score S = Σ w·z / Σ w over the \
                 modalities compared (openpalm::pipeline::ModalityFusion::fuse); distance = −S"
            .into(),
        single_modality_policy: "a sample is a failure to acquire only when both frames fail; \
             a pair missing one modality (failed frame or insufficient overlap) is fused from the \
             other alone and counted in `pairs`; a pair with no modality compared is rejected \
             (rejected.csv)"
            .into(),
        pairs: counts,
        samples_visible_only: only(0),
        samples_nir_only: only(1),
        frame_failures: frame_counts,
        per_modality,
    };
    let result = ExperimentResult {
        records,
        rejected,
        failures,
        attempts: eval_entries.len() as u64,
        enrolled_subjects: ev.plan.subjects,
        mated_pairs: ev.plan.mated_pairs,
        non_mated_pairs: ev.plan.non_mated_pairs,
        non_mated_pairs_available: ev.plan.available,
        plan,
    };
    Ok(FusedExperiment {
        result,
        frame_failures,
        report,
        parameters: fusion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Algorithm, Geometry, Modality};

    #[test]
    fn estimate_matches_hand_computation() {
        // Non-mated 0.4, 0.5 → μ 0.45, σ 0.05; mated 0.1, 0.2 → μ 0.15, σ 0.05; d′ = 0.3/0.05.
        let m = estimate(&[0.1, 0.2], &[0.4, 0.5]).unwrap();
        assert!((m.non_mated_mean_distance - 0.45).abs() < 1e-12);
        assert!((m.non_mated_std_distance - 0.05).abs() < 1e-12);
        assert!((m.weight - 6.0).abs() < 1e-9);
        assert!(estimate(&[], &[0.4, 0.5]).is_err());
        assert!(estimate(&[0.1], &[0.4]).is_err());
        assert!(estimate(&[0.1], &[0.4, 0.4]).is_err());
        assert!(estimate(&[f64::NAN], &[0.4, 0.5]).is_err());
    }

    #[test]
    fn fuse_is_the_weighted_mean_of_z_scores() {
        let a = ModalityFusion {
            non_mated_mean_distance: 0.45,
            non_mated_std_distance: 0.05,
            weight: 3.0,
        };
        let b = ModalityFusion {
            non_mated_mean_distance: 0.4,
            non_mated_std_distance: 0.1,
            weight: 1.0,
        };
        // z_a = (0.45 − 0.2)/0.05 = 5, z_b = (0.4 − 0.3)/0.1 = 1 → (3·5 + 1·1)/4 = 4.
        let s = ModalityFusion::fuse([(&a, 0.2), (&b, 0.3)]).unwrap();
        assert!((s - 4.0).abs() < 1e-12);
        // One modality alone: its own z-score.
        assert!((ModalityFusion::fuse([(&b, 0.3)]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(ModalityFusion::fuse([]), None);
    }

    fn template(modality: Modality, s: usize, k: usize) -> PalmTemplate {
        PalmTemplate::from_fn(
            modality,
            Algorithm::new(0x0101, 1, 0),
            Geometry::DEFAULT,
            |p, r, c| {
                let h = (r * 31 + c * 17 + p * 7 + s * 101 + modality as usize * 13)
                    .wrapping_mul(2654435761)
                    >> 7;
                (h & 1 == 1) ^ (r * 32 + c + k * 13).is_multiple_of(23)
            },
            |_, _| true,
        )
    }

    fn entries(subjects: usize, samples: usize) -> Vec<FusedEntry> {
        let mut v = Vec::new();
        for s in 0..subjects {
            for k in 0..samples {
                let sample = format!("s{s:02}/{k}");
                v.push(FusedEntry {
                    subject: format!("s{s:02}"),
                    frames: [format!("{sample}_vis.png"), format!("{sample}_nir.png")],
                    sample,
                    templates: [
                        Ok(template(Modality::Crease, s, k)),
                        Ok(template(Modality::Vein, s, k)),
                    ],
                });
            }
        }
        v
    }

    #[test]
    fn development_split_estimates_and_one_modality_pairs_are_counted() {
        let mut e = entries(6, 3);
        // Evaluation subjects are s03..s05. s04/0 lost its NIR frame, s05/1 both frames.
        let i = e.iter().position(|x| x.sample == "s04/0").unwrap();
        e[i].templates[1] = Err("ROI: no hand".into());
        let j = e.iter().position(|x| x.sample == "s05/1").unwrap();
        e[j].templates = [Err("ROI: a".into()), Err("ROI: b".into())];
        let r = run_fused(
            &e,
            &MatchConfig::default(),
            NonMatedPlan::All,
            FusionParameters::Development,
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(
            (r.report.development_subjects, r.report.evaluation_subjects),
            (3, 3)
        );
        // Evaluation: 9 samples, 1 fused FTA → 8 acquired: mated 3 + 3 + 1 = 7, non-mated 21.
        assert_eq!(r.result.attempts, 9);
        assert_eq!(r.result.failures.len(), 1);
        assert_eq!(r.result.failures[0].sample, "s05/1");
        assert_eq!((r.result.mated_pairs, r.result.non_mated_pairs), (7, 21));
        // s04/0 is in 7 pairs: crease only, counted; all others have both.
        assert_eq!(r.report.pairs.crease_only_vein_fta, 7);
        assert_eq!(r.report.pairs.both, 21);
        assert_eq!(r.report.samples_visible_only, 1);
        assert_eq!(r.report.frame_failures, [1, 2]);
        assert_eq!(r.frame_failures.len(), 3);
        assert!(r.frame_failures.iter().any(|f| f.sample == "s04/0_nir.png"));
        // The parameters come from the development subjects only (s00..s02, all pairs):
        // recompute them by hand.
        let dev: Vec<&FusedEntry> = e.iter().filter(|x| x.subject.as_str() < "s03").collect();
        for (b, got) in [r.parameters.crease, r.parameters.vein]
            .into_iter()
            .enumerate()
        {
            let (mut m, mut nm) = (Vec::new(), Vec::new());
            for x in 0..dev.len() {
                let mx = Matcher::new(
                    dev[x].templates[b].as_ref().unwrap(),
                    &MatchConfig::default(),
                )
                .unwrap();
                for y in x + 1..dev.len() {
                    let ComparisonOutcome::Compared(c) =
                        mx.compare(dev[y].templates[b].as_ref().unwrap()).unwrap()
                    else {
                        panic!("full masks always overlap")
                    };
                    if dev[x].subject == dev[y].subject {
                        m.push(c.distance)
                    } else {
                        nm.push(c.distance)
                    }
                }
            }
            assert_eq!((m.len(), nm.len()), (9, 27));
            assert_eq!(got, estimate(&m, &nm).unwrap());
        }
        // Fused score of a pair with both modalities = the weighted mean of z-scores.
        let rec = r
            .result
            .records
            .iter()
            .find(|x| x.probe == "s03/0")
            .unwrap();
        assert!(rec.distance.is_finite());
        // A single-modality pair's fused distance is −z_crease.
        let single = r
            .result
            .records
            .iter()
            .find(|x| x.probe == "s04/0" && x.reference == "s04/1")
            .unwrap();
        let t0 = e[i].templates[0].as_ref().unwrap();
        let t1 = e[i + 1].templates[0].as_ref().unwrap();
        let ComparisonOutcome::Compared(c) = Matcher::new(t0, &MatchConfig::default())
            .unwrap()
            .compare(t1)
            .unwrap()
        else {
            panic!("compared")
        };
        assert!((single.distance + r.parameters.crease.z(c.distance)).abs() < 1e-12);
    }

    #[test]
    fn folder_files_pair_by_suffix_and_leftovers_are_reported() {
        let d = std::env::temp_dir().join(format!("openpalm-fusion-pairs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let img = image::GrayImage::from_pixel(8, 8, image::Luma([9]));
        for f in [
            "s1/a_vis.png",
            "s1/a_nir.png",
            "s1/b_vis.png",
            "s1/c.png",
            "s2/x_nir.png",
            "s2/x_nir.bmp",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            img.save(&p).unwrap();
        }
        let ds = Dataset::scan(&d, &super::super::dataset::DatasetLimits::default()).unwrap();
        let (pairs, unused) = pair_frames(&ds);
        let got: Vec<(&str, bool, bool)> = pairs
            .iter()
            .map(|p| {
                (
                    p.sample.as_str(),
                    p.frames[0].is_some(),
                    p.frames[1].is_some(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("s1/a", true, true),
                ("s1/b", true, false),
                ("s2/x", false, true)
            ]
        );
        assert_eq!(unused.len(), 2, "{unused:?}");
        assert!(
            unused
                .iter()
                .any(|(id, why)| id == "s1/c.png" && why.contains("_vis"))
        );
        assert!(unused.iter().any(|(_, why)| why.contains("second _nir")));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn too_few_subjects_for_a_development_split() {
        let e = entries(3, 2);
        assert!(matches!(
            run_fused(
                &e,
                &MatchConfig::default(),
                NonMatedPlan::All,
                FusionParameters::Development,
                &Progress::hidden()
            ),
            Err(EvalError::InvalidParameter { .. })
        ));
        let r = run_fused(
            &e,
            &MatchConfig::default(),
            NonMatedPlan::All,
            FusionParameters::Fixed(FusionConfig::default()),
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(r.report.evaluation_subjects, 3);
        assert_eq!(r.result.records.len(), 15);
    }
}
