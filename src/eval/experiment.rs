//! Verification experiments on image folders: acquisition, extraction and all comparisons.
//!
//! # Steps
//!
//! 1. [`Dataset::scan`](super::dataset::Dataset::scan) lists `DIR/<subject>/<sample>.<ext>`.
//! 2. [`extract_templates`]: each image is turned into an ROI by an acquisition step
//!    ([`AcquireRoi`]; [`RoiFiles`] for folders of already-cropped ROIs; frame-level ROI detection plugs in
//!    through the same trait) and then into a template by a
//!    [`FeatureExtractor`]. This runs in parallel (rayon) with one extractor clone per worker;
//!    each image is decoded, used and dropped inside its task, so only templates are held.
//!    Every failure — unreadable file, unknown format, ROI rejected, extractor error — becomes
//!    a failure to acquire (FTA) with its reason.
//! 3. [`run_comparisons`]: every mated pair (`S · n(n−1)/2` for S subjects of n samples) and all
//!    non-mated pairs or exactly N of them drawn without replacement with a seed
//!    ([`NonMatedPlan`]). Pairs are unordered: the sample that comes first in the sorted
//!    dataset is the probe. One [`Matcher`] is prepared per probe and compared with all of that
//!    probe's references; probes run in parallel. The output order is deterministic.
//!
//! # Insufficient overlap
//!
//! A pair whose templates share too little valid area at every shift
//! ([`ComparisonOutcome::InsufficientOverlap`]) has no distance. It is **not** dropped and
//! **not** given a made-up distance in `scores.csv`; it is listed in
//! [`ExperimentResult::rejected`] (and `rejected.csv`) and enters the error rates as a
//! **rejection at every threshold** (a non-match): a rejected mated pair is a false non-match
//! (it raises FNMR), a rejected non-mated pair is a correct non-match (it lowers FMR, being in the
//! denominator). [`ExperimentReport::verification`] is computed on the compared pairs only;
//! when any pair was rejected, [`ExperimentReport::with_rejections`] gives the EER and FNMR at
//! fixed FMR with the rejections counted so. The DET and histogram plots show compared pairs
//! only.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use image::imageops::FilterType;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::report::DistanceStats;
use super::scores::{self, quote_csv};
use super::{Acquisition, Eer, EvalError, FnmrAtFmr, ScoreRecord, ScoreSet, VerificationReport};
use crate::features::{FeatureExtractor, RoiImage};
use crate::matching::{ComparisonOutcome, MatchConfig, Matcher};
use crate::sensor::{FrameLimits, Spectrum};
use crate::template::PalmTemplate;

/// The acquisition step: one image file in, one normalised ROI of a given side out.
///
/// [`RoiFiles`] implements it for folders of already-cropped ROIs; a frame-level implementation
/// (full hand image → ROI detection) plugs in the same way. Implementations must be usable from
/// many threads at once (`Sync`); per-call state lives on the stack.
pub trait AcquireRoi: Sync {
    /// A short description for reports (e.g. `"cropped ROI files"`).
    fn describe(&self) -> String;
    /// The ROI of the image at `path`, resampled to `roi_side` × `roi_side` px.
    ///
    /// # Errors
    /// Any [`crate::Error`]; its text is recorded as the failure-to-acquire reason.
    fn acquire(&self, path: &Path, roi_side: usize) -> Result<RoiImage, crate::Error>;
}

/// Acquisition from files that already hold a cropped palm ROI (PolyU, Tongji, CASIA style).
///
/// Each file is decoded with its format detected from the content (not the extension) under
/// [`FrameLimits`] (checked on the header before any pixel buffer exists), converted to 8-bit
/// gray (colour: ITU-R BT.709 luma, as `image` computes it), **centre-cropped to a square**
/// when it is not square, and resampled to the extractor's ROI side with a triangle (bilinear)
/// filter whose support widens with the reduction factor, so downsampling averages over the
/// source area instead of aliasing. Every pixel is valid (the mask is all true).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiFiles {
    /// Bounds on each decoded file.
    pub limits: FrameLimits,
    /// The spectrum recorded with the frame (informative only for ROI files).
    pub spectrum: Spectrum,
}

impl RoiFiles {
    /// ROI files under the default [`FrameLimits`].
    pub fn new(spectrum: Spectrum) -> Self {
        RoiFiles {
            limits: FrameLimits::default(),
            spectrum,
        }
    }
}

impl AcquireRoi for RoiFiles {
    fn describe(&self) -> String {
        "cropped ROI files (gray, centre square, triangle-filter resampling)".into()
    }

    fn acquire(&self, path: &Path, roi_side: usize) -> Result<RoiImage, crate::Error> {
        let frame = crate::sensor::decode_file(path, self.spectrum, &self.limits)?;
        let gray = frame.to_gray8();
        drop(frame);
        Ok(roi_from_gray(&gray, roi_side)?)
    }
}

/// Centre-crops `gray` to a square and resamples it to `side` px (triangle filter); all valid.
///
/// # Errors
/// [`crate::FeatureError`] when `side` is outside the [`RoiImage`] bounds or the image is empty.
pub fn roi_from_gray(
    gray: &image::GrayImage,
    side: usize,
) -> Result<RoiImage, crate::FeatureError> {
    let (w, h) = gray.dimensions();
    let s = w.min(h);
    if s == 0 {
        return Err(crate::FeatureError::EmptyImage {
            rows: h as usize,
            cols: w as usize,
        });
    }
    if !(RoiImage::MIN_SIDE..=RoiImage::MAX_SIDE).contains(&side) {
        return Err(crate::FeatureError::SideOutOfRange {
            side,
            min: RoiImage::MIN_SIDE,
            max: RoiImage::MAX_SIDE,
        });
    }
    let square = image::imageops::crop_imm(gray, (w - s) / 2, (h - s) / 2, s, s).to_image();
    let resized = if s as usize == side {
        square
    } else {
        image::imageops::resize(&square, side as u32, side as u32, FilterType::Triangle)
    };
    RoiImage::from_gray(&resized, None)
}

/// One sample after extraction: its template or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateEntry {
    /// The subject (palm) it belongs to.
    pub subject: String,
    /// The sample id (`<subject>/<file name>`), used in score files.
    pub sample: String,
    /// The template, or the failure-to-acquire reason.
    pub template: Result<PalmTemplate, String>,
}

/// A progress counter printed to stderr (`label: done/total (pct %)`), at most every 0.5 s.
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: AtomicU64,
    done: AtomicU64,
    last_print_ms: AtomicU64,
    start: Instant,
    enabled: bool,
}

impl Progress {
    /// A counter towards `total` that prints when `enabled`.
    pub fn new(label: impl Into<String>, total: u64, enabled: bool) -> Self {
        Progress {
            label: label.into(),
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            last_print_ms: AtomicU64::new(0),
            start: Instant::now(),
            enabled,
        }
    }

    /// A counter that never prints.
    pub fn hidden() -> Self {
        Self::new("", 0, false)
    }

    /// Replaces the total (when it is only known once the work is planned).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    /// Adds `n` finished items.
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let total = self.total.load(Ordering::Relaxed);
        if !self.enabled {
            return;
        }
        let now = self.start.elapsed().as_millis() as u64;
        let last = self.last_print_ms.load(Ordering::Relaxed);
        if (now >= last + 500 || done >= total)
            && self
                .last_print_ms
                .compare_exchange(
                    last,
                    now.max(last + 1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            let pct = if total == 0 {
                100.0
            } else {
                100.0 * done as f64 / total as f64
            };
            eprint!("\r{}: {done}/{total} ({pct:.0} %)   ", self.label);
        }
    }

    /// Items finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Prints the final line (with the elapsed time) when enabled.
    pub fn finish(&self) {
        if self.enabled {
            let t: Duration = self.start.elapsed();
            eprintln!(
                "\r{}: {}/{} done in {:.1} s   ",
                self.label,
                self.done(),
                self.total.load(Ordering::Relaxed),
                t.as_secs_f64()
            );
        }
    }
}

/// Acquires and extracts every sample of `dataset` in parallel, in dataset order.
///
/// One clone of `extractor` per rayon worker ([`rayon::iter::ParallelIterator::map_init`]); each
/// image is decoded inside its task and dropped before the task returns, so peak memory is one
/// decoded image per worker plus the templates.
pub fn extract_templates<A, E>(
    dataset: &Dataset,
    acquire: &A,
    extractor: &E,
    progress: &Progress,
) -> Vec<TemplateEntry>
where
    A: AcquireRoi + ?Sized,
    E: FeatureExtractor + Clone + Send + Sync,
{
    let side = extractor.roi_side();
    let samples: Vec<_> = dataset.samples().collect();
    let out = samples
        .par_iter()
        .map_init(
            || extractor.clone(),
            |ex, (subject, sample)| {
                let template = acquire
                    .acquire(&sample.path, side)
                    .map_err(|e| e.to_string())
                    .and_then(|roi| ex.extract(&roi).map_err(|e| format!("features: {e}")));
                progress.add(1);
                TemplateEntry {
                    subject: (*subject).to_owned(),
                    sample: sample.id.clone(),
                    template,
                }
            },
        )
        .collect();
    progress.finish();
    out
}

/// Which non-mated pairs are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NonMatedPlan {
    /// Every cross-subject pair (unordered).
    All,
    /// Exactly `count` distinct cross-subject pairs drawn uniformly without replacement with
    /// `seed` (all of them when fewer exist; the report says so).
    Sample {
        /// Pairs wanted.
        count: u64,
        /// Seed of the draw (SplitMix64; the draw is deterministic for a seed).
        seed: u64,
    },
}

/// A pair with insufficient overlap: no distance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedPair {
    /// Probe sample id.
    pub probe: String,
    /// Reference sample id.
    pub reference: String,
    /// Same subject.
    pub mated: bool,
    /// The largest overlap any shift had (cells).
    pub best_overlap_cells: u32,
    /// The overlap required (cells).
    pub required_cells: u32,
}

/// A failure to acquire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureToAcquire {
    /// Sample id.
    pub sample: String,
    /// Why.
    pub reason: String,
}

/// What an experiment produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResult {
    /// Compared pairs (mated first per probe, in deterministic order).
    pub records: Vec<ScoreRecord>,
    /// Pairs without a distance (insufficient overlap).
    pub rejected: Vec<RejectedPair>,
    /// Samples without a template.
    pub failures: Vec<FailureToAcquire>,
    /// Samples attempted (templates + failures).
    pub attempts: u64,
    /// Subjects with at least one template.
    pub enrolled_subjects: u64,
    /// Mated pairs attempted (compared + rejected).
    pub mated_pairs: u64,
    /// Non-mated pairs attempted (compared + rejected).
    pub non_mated_pairs: u64,
    /// Non-mated pairs that exist among the templates.
    pub non_mated_pairs_available: u64,
    /// The plan that was asked for.
    pub plan: NonMatedPlan,
}

/// `count` distinct indices in `0..total`, sorted (Floyd's algorithm; `count < total`).
fn sample_indices(total: u64, count: u64, seed: u64) -> Vec<u64> {
    let mut rng = crate::rng::SplitMix64(seed);
    let mut chosen = HashSet::with_capacity(count as usize);
    for j in total - count..total {
        let t = rng.up_to(j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut v: Vec<u64> = chosen.into_iter().collect();
    v.sort_unstable();
    v
}

/// The pairs of an experiment over items sorted by subject (stable): every mated pair and the
/// planned non-mated ones, each unordered pair once with the earlier item as the probe. Shared
/// by [`run_comparisons`] and the fused experiment ([`super::fusion`]) so both sample
/// non-mated pairs the same way (uniformly **without** replacement, [`NonMatedPlan`]).
#[derive(Debug, Clone)]
pub(crate) struct PairPlan {
    /// `group_end[p]`: one past the last item of `p`'s subject.
    group_end: Vec<usize>,
    /// Explicit non-mated references per probe when sampling.
    sampled: Option<Vec<Vec<u32>>>,
    /// Distinct subjects among the items.
    pub(crate) subjects: u64,
    /// Mated pairs.
    pub(crate) mated_pairs: u64,
    /// Non-mated pairs that exist.
    pub(crate) available: u64,
    /// Non-mated pairs planned.
    pub(crate) non_mated_pairs: u64,
}

impl PairPlan {
    /// Plans over `subjects[i]` = the subject of item `i` (sorted so that each subject's items
    /// are contiguous).
    ///
    /// # Errors
    /// [`EvalError::InvalidParameter`] for a sampled plan whose count does not fit in memory.
    pub(crate) fn new(subjects: &[&str], plan: NonMatedPlan) -> Result<PairPlan, EvalError> {
        let n = subjects.len();
        let mut group_end = vec![n; n];
        let mut count_subjects = 0u64;
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && subjects[end] == subjects[start] {
                end += 1;
            }
            group_end[start..end].fill(end);
            count_subjects += 1;
            start = end;
        }
        let mated_pairs: u64 = (0..n).map(|p| (group_end[p] - p - 1) as u64).sum();
        // cum[p] = non-mated pairs of probes before p.
        let mut cum = Vec::with_capacity(n + 1);
        cum.push(0u64);
        for p in 0..n {
            cum.push(cum[p] + (n - group_end[p]) as u64);
        }
        let available = cum[n];
        let sampled: Option<Vec<Vec<u32>>> = match plan {
            NonMatedPlan::Sample { count, seed } if count < available => {
                if usize::try_from(count).is_err() || count > (isize::MAX as u64) / 16 {
                    return Err(EvalError::InvalidParameter {
                        name: "non-mated sample count",
                        value: count.to_string(),
                        bound: "does not fit in memory on this platform",
                    });
                }
                let mut per_probe = vec![Vec::new(); n];
                for k in sample_indices(available, count, seed) {
                    let p = cum.partition_point(|&c| c <= k) - 1;
                    let q = group_end[p] as u64 + (k - cum[p]);
                    per_probe[p].push(q as u32);
                }
                Some(per_probe)
            }
            _ => None,
        };
        let non_mated_pairs = match &sampled {
            Some(s) => s.iter().map(|v| v.len() as u64).sum(),
            None => available,
        };
        Ok(PairPlan {
            group_end,
            sampled,
            subjects: count_subjects,
            mated_pairs,
            available,
            non_mated_pairs,
        })
    }

    /// The references of probe `p`: `(item index, mated)`, mated ones first.
    pub(crate) fn references(&self, p: usize) -> Vec<(usize, bool)> {
        let n = self.group_end.len();
        let mated = (p + 1..self.group_end[p]).map(|q| (q, true));
        match &self.sampled {
            Some(s) => mated
                .chain(s[p].iter().map(|&q| (q as usize, false)))
                .collect(),
            None => mated
                .chain((self.group_end[p]..n).map(|q| (q, false)))
                .collect(),
        }
    }
}

/// One comparison of a probe: reference index, mated, outcome.
type Outcome = (usize, bool, ComparisonOutcome);

/// Runs every mated comparison and the planned non-mated ones (see the
/// [module documentation](self)). Sets `progress`'s total to the number of pairs planned.
///
/// # Errors
/// [`EvalError::Matching`] when a matcher cannot be built from `config` or two templates are not
/// comparable (different extractors), [`EvalError::InvalidParameter`] for a sampled plan whose
/// count does not fit in memory on this platform.
pub fn run_comparisons(
    entries: &[TemplateEntry],
    config: &MatchConfig,
    plan: NonMatedPlan,
    progress: &Progress,
) -> Result<ExperimentResult, EvalError> {
    let failures: Vec<FailureToAcquire> = entries
        .iter()
        .filter_map(|e| {
            e.template.as_ref().err().map(|r| FailureToAcquire {
                sample: e.sample.clone(),
                reason: r.clone(),
            })
        })
        .collect();
    // Templates grouped by subject (stable: dataset order within a subject).
    let mut ok: Vec<(&TemplateEntry, &PalmTemplate)> = entries
        .iter()
        .filter_map(|e| e.template.as_ref().ok().map(|t| (e, t)))
        .collect();
    ok.sort_by(|a, b| a.0.subject.cmp(&b.0.subject));
    let n = ok.len();
    let subject_names: Vec<&str> = ok.iter().map(|(e, _)| e.subject.as_str()).collect();
    let pairs = PairPlan::new(&subject_names, plan)?;
    let (subjects, mated_pairs, available, non_mated_pairs) = (
        pairs.subjects,
        pairs.mated_pairs,
        pairs.available,
        pairs.non_mated_pairs,
    );
    progress.set_total(mated_pairs + non_mated_pairs);
    let per_probe: Vec<Result<Vec<Outcome>, EvalError>> = (0..n)
        .into_par_iter()
        .map(|p| {
            let refs = pairs.references(p);
            if refs.is_empty() {
                return Ok(Vec::new());
            }
            let matcher = Matcher::new(ok[p].1, config)?;
            let mut out = Vec::with_capacity(refs.len());
            for (q, is_mated) in refs {
                out.push((q, is_mated, matcher.compare(ok[q].1)?));
            }
            progress.add(out.len() as u64);
            Ok(out)
        })
        .collect();
    progress.finish();
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for (p, outcomes) in per_probe.into_iter().enumerate() {
        for (q, mated, outcome) in outcomes? {
            let (probe, reference) = (&ok[p].0.sample, &ok[q].0.sample);
            match outcome {
                ComparisonOutcome::Compared(c) => {
                    records.push(ScoreRecord::new(probe, reference, mated, c.distance));
                }
                ComparisonOutcome::InsufficientOverlap {
                    best_overlap_cells,
                    required_cells,
                } => rejected.push(RejectedPair {
                    probe: probe.clone(),
                    reference: reference.clone(),
                    mated,
                    best_overlap_cells,
                    required_cells,
                }),
            }
        }
    }
    Ok(ExperimentResult {
        records,
        rejected,
        failures,
        attempts: entries.len() as u64,
        enrolled_subjects: subjects,
        mated_pairs,
        non_mated_pairs,
        non_mated_pairs_available: available,
        plan,
    })
}

/// Error rates with insufficient-overlap pairs counted as rejections at every threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatesWithRejections {
    /// Mated pairs rejected for insufficient overlap (false non-matches at every threshold).
    pub mated_rejected: u64,
    /// Non-mated pairs rejected for insufficient overlap (correct non-matches).
    pub non_mated_rejected: u64,
    /// The EER over all attempted pairs.
    pub eer: Eer,
    /// FNMR at fixed FMR over all attempted pairs.
    pub fnmr_at_fmr: Vec<FnmrAtFmr>,
}

/// The content of `metrics.json` for an image-folder experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// What was run (acquisition, extractor, matcher settings), free text.
    pub setup: String,
    /// Images attempted.
    pub attempts: u64,
    /// Failures to acquire (no template).
    pub failures_to_acquire: u64,
    /// Subjects with at least one template.
    pub enrolled_subjects: u64,
    /// Mated pairs attempted.
    pub mated_pairs: u64,
    /// Non-mated pairs attempted.
    pub non_mated_pairs: u64,
    /// Non-mated pairs that exist among the templates.
    pub non_mated_pairs_available: u64,
    /// The non-mated plan asked for.
    pub non_mated_plan: NonMatedPlan,
    /// Pairs rejected for insufficient overlap, mated.
    pub mated_insufficient_overlap: u64,
    /// Pairs rejected for insufficient overlap, non-mated.
    pub non_mated_insufficient_overlap: u64,
    /// How rejected pairs enter the rates.
    pub insufficient_overlap_policy: String,
    /// Statistics of the compared mated distances (absent when there are none).
    pub mated: Option<DistanceStats>,
    /// Statistics of the compared non-mated distances (absent when there are none).
    pub non_mated: Option<DistanceStats>,
    /// The verification report on compared pairs, with FTA; absent when either side is empty.
    pub verification: Option<VerificationReport>,
    /// Rates with the rejected pairs counted; present when any pair was rejected.
    pub with_rejections: Option<RatesWithRejections>,
    /// Statements about what could not be computed and why.
    pub notes: Vec<String>,
}

/// Policy text written into [`ExperimentReport::insufficient_overlap_policy`].
pub const INSUFFICIENT_OVERLAP_POLICY: &str = "a pair with insufficient overlap has no distance; \
    it is listed in rejected.csv, left out of scores.csv and the plots, and counted as a \
    non-match at every threshold in `with_rejections` (mated: false non-match; non-mated: \
    correct non-match)";

impl ExperimentResult {
    /// The FTA counts as an [`Acquisition`] (`None` when nothing was attempted).
    pub fn acquisition(&self) -> Option<Acquisition> {
        Acquisition::new(self.attempts, self.failures.len() as u64).ok()
    }

    /// The compared distances as a score set, when both sides are non-empty.
    pub fn score_set(&self) -> Option<ScoreSet> {
        ScoreSet::from_records(&self.records).ok()
    }

    /// The report (see [`ExperimentReport`]).
    pub fn report(&self, setup: impl Into<String>) -> ExperimentReport {
        let sorted = |mated: bool| {
            let mut v: Vec<f64> = self
                .records
                .iter()
                .filter(|r| r.mated == mated)
                .map(|r| r.distance)
                .collect();
            v.sort_unstable_by(f64::total_cmp);
            v
        };
        let (m, nm) = (sorted(true), sorted(false));
        let stats = |v: &[f64]| (!v.is_empty()).then(|| DistanceStats::of_sorted(v));
        let mated_rej = self.rejected.iter().filter(|r| r.mated).count() as u64;
        let non_mated_rej = self.rejected.len() as u64 - mated_rej;
        let mut notes = Vec::new();
        if self.non_mated_pairs_available == 0 {
            notes.push(format!(
                "no non-mated pairs: {} subject(s) with templates; FMR, EER, FNMR at fixed FMR and \
                 the DET curve need at least two subjects and are not computed",
                self.enrolled_subjects
            ));
        }
        if self.mated_pairs == 0 {
            notes.push(
                "no mated pairs: no subject has two templates; FNMR, EER and the DET curve are \
                 not computed"
                    .into(),
            );
        }
        if let NonMatedPlan::Sample { count, seed } = self.plan {
            if count >= self.non_mated_pairs_available {
                notes.push(format!(
                    "{count} non-mated pairs asked for, {} exist: all are compared",
                    self.non_mated_pairs_available
                ));
            } else {
                notes.push(format!(
                    "non-mated pairs: a uniform random sample of {count} of {} (seed {seed})",
                    self.non_mated_pairs_available
                ));
            }
        }
        let set = ScoreSet::new(m.clone(), nm.clone()).ok();
        if set.is_none() && !m.is_empty() && !nm.is_empty() {
            notes.push("the compared distances do not form a valid score set".into());
        }
        let verification = set
            .as_ref()
            .map(|s| VerificationReport::new(s, self.acquisition()));
        let with_rejections = if self.rejected.is_empty() {
            None
        } else {
            // A rejection is a non-match at every threshold: a distance above every real one.
            let above = m.iter().chain(&nm).fold(1.0f64, |a, &b| a.max(b)) + 1.0;
            let mut m2 = m.clone();
            m2.extend(std::iter::repeat_n(above, mated_rej as usize));
            let mut nm2 = nm.clone();
            nm2.extend(std::iter::repeat_n(above, non_mated_rej as usize));
            ScoreSet::new(m2, nm2).ok().map(|s| RatesWithRejections {
                mated_rejected: mated_rej,
                non_mated_rejected: non_mated_rej,
                eer: s.eer(),
                fnmr_at_fmr: s.fnmr_at_standard_fmrs(),
            })
        };
        if !self.rejected.is_empty() {
            notes.push(format!(
                "{mated_rej} mated and {non_mated_rej} non-mated pair(s) had insufficient overlap \
                 (see rejected.csv and `with_rejections`)"
            ));
        }
        ExperimentReport {
            setup: setup.into(),
            attempts: self.attempts,
            failures_to_acquire: self.failures.len() as u64,
            enrolled_subjects: self.enrolled_subjects,
            mated_pairs: self.mated_pairs,
            non_mated_pairs: self.non_mated_pairs,
            non_mated_pairs_available: self.non_mated_pairs_available,
            non_mated_plan: self.plan,
            mated_insufficient_overlap: mated_rej,
            non_mated_insufficient_overlap: non_mated_rej,
            insufficient_overlap_policy: INSUFFICIENT_OVERLAP_POLICY.into(),
            mated: stats(&m),
            non_mated: stats(&nm),
            verification,
            with_rejections,
            notes,
        }
    }

    /// Writes `scores.csv`, `fta.csv` (`image,reason`), `rejected.csv`, `metrics.json` and — with
    /// the `plot` feature and when both mated and non-mated distances exist — `det.svg`/`.png`
    /// and `histogram.svg`/`.png` into `out` (created if missing). Returns the report and the
    /// paths written.
    ///
    /// # Errors
    /// [`EvalError::Io`] or a score-file error (a sample id that cannot be written).
    pub fn write_outputs(
        &self,
        out: &Path,
        setup: &str,
        label: &str,
    ) -> Result<(ExperimentReport, Vec<PathBuf>), EvalError> {
        std::fs::create_dir_all(out)?;
        let mut written = Vec::new();
        let mut create = |name: &str| -> Result<BufWriter<File>, EvalError> {
            let p = out.join(name);
            let f = File::create(&p)?;
            written.push(p);
            Ok(BufWriter::new(f))
        };
        scores::write_csv(create("scores.csv")?, &self.records)?;
        write_fta_csv(create("fta.csv")?, &self.failures)?;
        let mut f = create("rejected.csv")?;
        writeln!(f, "probe,reference,mated,best_overlap_cells,required_cells")?;
        for r in &self.rejected {
            writeln!(
                f,
                "{},{},{},{},{}",
                quote_csv(&r.probe),
                quote_csv(&r.reference),
                u8::from(r.mated),
                r.best_overlap_cells,
                r.required_cells
            )?;
        }
        f.flush()?;
        let report = self.report(setup);
        let json = serde_json::to_string_pretty(&report).map_err(|e| EvalError::Io(e.into()))?;
        let mut f = create("metrics.json")?;
        f.write_all(json.as_bytes())?;
        f.flush()?;
        #[cfg(feature = "plot")]
        if let (Some(set), Some(v)) = (self.score_set(), &report.verification) {
            use super::plot;
            let curves = [plot::DetCurve::new(label, &set)];
            let t = Some(v.eer.threshold);
            create("det.svg")?.write_all(plot::det_svg(&curves, None)?.as_bytes())?;
            create("det.png")?.write_all(&plot::det_png(&curves, None)?)?;
            create("histogram.svg")?.write_all(plot::histogram_svg(&set, t, None)?.as_bytes())?;
            create("histogram.png")?.write_all(&plot::histogram_png(&set, t, None)?)?;
        }
        #[cfg(not(feature = "plot"))]
        let _ = label;
        Ok((report, written))
    }
}

/// Writes `fta.csv`: header `image,reason`, one line per failure to acquire (the reason always
/// quoted).
///
/// # Errors
/// Any write error.
pub fn write_fta_csv<W: Write>(mut w: W, failures: &[FailureToAcquire]) -> std::io::Result<()> {
    writeln!(w, "image,reason")?;
    for x in failures {
        writeln!(w, "{},{}", quote_csv(&x.sample), quote_field(&x.reason))?;
    }
    w.flush()
}

/// Quotes a free-text CSV field (always quoted, control characters replaced by spaces).
fn quote_field(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("\"{}\"", clean.replace('"', "\"\""))
}

impl ExperimentReport {
    /// A short plain-text summary for terminals.
    pub fn summary_table(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "images {} | failures to acquire {} | subjects {} | mated pairs {} | non-mated pairs {} (of {})",
            self.attempts,
            self.failures_to_acquire,
            self.enrolled_subjects,
            self.mated_pairs,
            self.non_mated_pairs,
            self.non_mated_pairs_available
        );
        let _ = writeln!(
            s,
            "insufficient overlap: {} mated, {} non-mated",
            self.mated_insufficient_overlap, self.non_mated_insufficient_overlap
        );
        match &self.verification {
            Some(v) => s.push_str(&v.summary_table()),
            None => {
                for (name, st) in [("mated", &self.mated), ("non-mated", &self.non_mated)] {
                    match st {
                        Some(d) => {
                            let _ = writeln!(
                                s,
                                "{name:<10} n {:>8}  mean {:.5}  std {:.5}  min {:.5}  max {:.5}",
                                d.count, d.mean, d.std, d.min, d.max
                            );
                        }
                        None => {
                            let _ = writeln!(s, "{name:<10} none");
                        }
                    }
                }
            }
        }
        if let Some(w) = &self.with_rejections {
            let _ = writeln!(
                s,
                "with insufficient-overlap pairs as rejections: EER {:.4} % (threshold {})",
                100.0 * w.eer.eer,
                w.eer.threshold
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Algorithm, Geometry, Modality};

    /// Subject `s`, sample `k` template: a per-subject pattern with a few per-sample flips.
    fn template(s: usize, k: usize, valid: fn(usize, usize) -> bool) -> PalmTemplate {
        PalmTemplate::from_fn(
            Modality::Crease,
            Algorithm::new(0x0101, 1, 0),
            Geometry::DEFAULT,
            |p, r, c| {
                let h = (r * 31 + c * 17 + p * 7 + s * 101).wrapping_mul(2654435761) >> 7;
                (h & 1 == 1) ^ (r * 32 + c + k * 13).is_multiple_of(23)
            },
            valid,
        )
    }

    fn entries(subjects: usize, samples: usize) -> Vec<TemplateEntry> {
        let mut v = Vec::new();
        for s in 0..subjects {
            for k in 0..samples {
                v.push(TemplateEntry {
                    subject: format!("s{s:02}"),
                    sample: format!("s{s:02}/{k}.png"),
                    template: Ok(template(s, k, |_, _| true)),
                });
            }
        }
        v
    }

    #[test]
    fn pair_counts_all_and_sampled() {
        let (s, n) = (5usize, 4usize);
        let e = entries(s, n);
        let cfg = MatchConfig::default();
        let r = run_comparisons(&e, &cfg, NonMatedPlan::All, &Progress::hidden()).unwrap();
        let mated = (s * n * (n - 1) / 2) as u64;
        let non_mated = ((s * n) * (s * n - 1) / 2) as u64 - mated;
        assert_eq!((r.mated_pairs, r.non_mated_pairs), (mated, non_mated));
        assert_eq!(r.non_mated_pairs_available, non_mated);
        assert_eq!(r.records.iter().filter(|x| x.mated).count() as u64, mated);
        assert_eq!(r.records.len() as u64, mated + non_mated);
        assert!(r.rejected.is_empty() && r.failures.is_empty());
        // Every pair is unordered and appears once; mated flags agree with subjects.
        let mut seen = HashSet::new();
        for x in &r.records {
            assert_ne!(x.probe, x.reference);
            assert!(seen.insert((x.probe.clone(), x.reference.clone())));
            assert!(!seen.contains(&(x.reference.clone(), x.probe.clone())));
            assert_eq!(x.mated, x.probe[..3] == x.reference[..3]);
        }
        // Sampled: exactly N, distinct, cross-subject, deterministic for a seed.
        let plan = NonMatedPlan::Sample { count: 37, seed: 7 };
        let a = run_comparisons(&e, &cfg, plan, &Progress::hidden()).unwrap();
        let b = run_comparisons(&e, &cfg, plan, &Progress::hidden()).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.mated_pairs, a.non_mated_pairs), (mated, 37));
        let nm: HashSet<_> = a
            .records
            .iter()
            .filter(|x| !x.mated)
            .map(|x| (x.probe.clone(), x.reference.clone()))
            .collect();
        assert_eq!(nm.len(), 37);
        let c = run_comparisons(
            &e,
            &cfg,
            NonMatedPlan::Sample { count: 37, seed: 8 },
            &Progress::hidden(),
        )
        .unwrap();
        assert_ne!(a.records, c.records);
        // Asking for more than exist compares all, and says so.
        let big = NonMatedPlan::Sample {
            count: 10_000,
            seed: 1,
        };
        let d = run_comparisons(&e, &cfg, big, &Progress::hidden()).unwrap();
        assert_eq!(d.non_mated_pairs, non_mated);
        assert!(
            d.report("t")
                .notes
                .iter()
                .any(|n| n.contains("all are compared"))
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Against a naive enumeration of the cross-subject pairs: the sampled pairs are
        /// distinct cross-subject pairs, exactly min(N, available) of them.
        #[test]
        fn sampled_pairs_match_naive_enumeration(
            sizes in proptest::collection::vec(1usize..4, 1..5),
            count in 1u64..40,
            seed in 0u64..1000,
        ) {
            let mut e = Vec::new();
            for (s, &n) in sizes.iter().enumerate() {
                for k in 0..n {
                    e.push(TemplateEntry {
                        subject: format!("s{s}"),
                        sample: format!("s{s}/{k}"),
                        template: Ok(template(s, k, |_, _| true)),
                    });
                }
            }
            let mut naive = HashSet::new();
            for i in 0..e.len() {
                for j in i + 1..e.len() {
                    if e[i].subject != e[j].subject {
                        naive.insert((e[i].sample.clone(), e[j].sample.clone()));
                    }
                }
            }
            let plan = NonMatedPlan::Sample { count, seed };
            let r = run_comparisons(&e, &MatchConfig::default(), plan, &Progress::hidden()).unwrap();
            proptest::prop_assert_eq!(r.non_mated_pairs_available, naive.len() as u64);
            let got: Vec<_> = r.records.iter().filter(|x| !x.mated)
                .map(|x| (x.probe.clone(), x.reference.clone())).collect();
            let set: HashSet<_> = got.iter().cloned().collect();
            proptest::prop_assert_eq!(set.len(), got.len());
            proptest::prop_assert_eq!(got.len() as u64, count.min(naive.len() as u64));
            proptest::prop_assert!(set.is_subset(&naive));
            let mated_naive: usize = sizes.iter().map(|n| n * (n - 1) / 2).sum();
            proptest::prop_assert_eq!(r.mated_pairs, mated_naive as u64);
        }
    }

    #[test]
    fn sampled_indices_are_distinct_and_cover_the_range() {
        let v = sample_indices(10, 9, 3);
        assert_eq!(v.len(), 9);
        assert!(v.windows(2).all(|w| w[0] < w[1]) && v[8] <= 9);
        // Roughly uniform: each of 20 indices drawn about 1000 · 5/20 times in 1000 draws of 5.
        let mut hits = [0u32; 20];
        for seed in 0..1000 {
            for i in sample_indices(20, 5, seed) {
                hits[i as usize] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (150..350).contains(&h)), "{hits:?}");
    }

    #[test]
    fn failures_and_insufficient_overlap_are_counted_not_dropped() {
        let mut e = entries(3, 3);
        e[1].template = Err("decode: bad file".into());
        // Subject 2, sample 0 has only the top quarter of its cells valid: < 50 % overlap.
        e[6].template = Ok(template(2, 0, |r, _| r < 8));
        let r = run_comparisons(
            &e,
            &MatchConfig::default(),
            NonMatedPlan::All,
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(
            r.failures,
            [FailureToAcquire {
                sample: "s00/1.png".into(),
                reason: "decode: bad file".into()
            }]
        );
        assert_eq!(r.attempts, 9);
        // 8 templates: mated 1 + 3 + 3 = 7; non-mated C(8,2) − 7 = 21.
        assert_eq!((r.mated_pairs, r.non_mated_pairs), (7, 21));
        let rej_m = r.rejected.iter().filter(|x| x.mated).count();
        let rej_n = r.rejected.len() - rej_m;
        assert_eq!((rej_m, rej_n), (2, 5)); // s02/0 with its 2 mates and 5 others
        assert_eq!(r.records.len() + r.rejected.len(), 28);
        assert!(
            r.rejected
                .iter()
                .all(|x| x.required_cells == 512 && x.best_overlap_cells < 512)
        );
        let rep = r.report("t");
        assert_eq!(rep.failures_to_acquire, 1);
        assert_eq!(
            (
                rep.mated_insufficient_overlap,
                rep.non_mated_insufficient_overlap
            ),
            (2, 5)
        );
        let w = rep.with_rejections.expect("rejections reported");
        let v = rep.verification.expect("both sides present");
        // Two of 7 mated pairs are false non-matches at every threshold: at the compared
        // set's EER threshold FNMR can only be higher with them.
        assert!(w.eer.eer >= v.eer.eer);
        let set = r.score_set().unwrap();
        assert_eq!(set.mated().len(), 5);
        assert_eq!(v.acquisition.unwrap().fta(), 1.0 / 9.0);
    }

    #[test]
    fn one_subject_gives_mated_only_without_nan() {
        let e = entries(1, 5);
        let r = run_comparisons(
            &e,
            &MatchConfig::default(),
            NonMatedPlan::All,
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!((r.mated_pairs, r.non_mated_pairs), (10, 0));
        let rep = r.report("t");
        assert!(rep.verification.is_none() && rep.non_mated.is_none());
        let m = rep.mated.unwrap();
        assert_eq!(m.count, 10);
        assert!(m.mean.is_finite() && m.std.is_finite());
        assert!(rep.notes.iter().any(|n| n.contains("no non-mated pairs")));
        let json = serde_json::to_string(&rep).unwrap();
        assert!(!json.contains("NaN") && !json.contains("null,\"non_mated_pairs\""));
        assert!(rep.summary_table().contains("no non-mated pairs"));
    }

    #[test]
    fn roi_from_gray_crops_and_resamples() {
        // Left half dark, right half bright, 300 × 200: the centre square is 200 × 200 from
        // x = 50; resampled to 100 px it stays dark left / bright right.
        let g = image::GrayImage::from_fn(300, 200, |x, _| {
            image::Luma([if x < 150 { 20 } else { 220 }])
        });
        let roi = roi_from_gray(&g, 100).unwrap();
        assert_eq!(roi.side(), 100);
        let px = roi.pixels();
        assert!((px[[50, 10]] - 20.0 / 255.0).abs() < 1e-3);
        assert!((px[[50, 90]] - 220.0 / 255.0).abs() < 1e-3);
        assert!(px[[50, 49]] < px[[50, 51]]);
        assert!(roi_from_gray(&g, 8).is_err());
        assert!(roi_from_gray(&image::GrayImage::new(0, 5), 64).is_err());
    }
}
