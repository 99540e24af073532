//! Full-pipeline accuracy on synthetic captures (feature `synth`): generator → ROI → features →
//! matcher → error rates, per extractor and fused at score level.
//!
//! # What [`run`] does
//!
//! 1. **Captures** `(identity, sample)` for `identity ∈ first_identity..first_identity+subjects`,
//!    `sample ∈ 0..samples` are generated **in parallel** (rayon); each worker keeps only the
//!    templates, never the frames.
//! 2. **ROI** ([`RoiSource`]): with [`RoiSource::Detected`] the default
//!    [`FullHandDetector`] runs on the visible frame (crease codes) and, **independently**, on
//!    the NIR frame (vein codes). Both frames share the pose, so the visible ROI's transform
//!    could be reused on the NIR frame; detecting on each is what a real two-camera reader
//!    without pixel registration has to do, costs one more detection, and measures the detector
//!    on both spectra. With [`RoiSource::GroundTruth`] the patch is sampled from the frame
//!    with the generator's ground-truth ROI square ([`RoiSquare::to_frame`]), with bilinear
//!    interpolation and area supersampling, and its mask from the ground-truth skin mask: this
//!    separates ROI error from extractor error.
//! 3. **Features**: every [`EXTRACTORS`] entry (CompCode, BOCV, DOC on the visible ROI;
//!    maximum-curvature and vein BOCV on the NIR ROI).
//! 4. **Comparisons**: all mated pairs and all (or a seeded sample of) non-mated pairs, each
//!    unordered pair once, with a [`Matcher`] prepared per probe and the default
//!    [`MatchConfig`].
//! 5. **Split**: identities of the first half (`⌈subjects/2⌉`) form the *development* split,
//!    the rest the *evaluation* split; pairs across the splits are not used. Everything reported
//!    ([`AccuracyReport::rows`]) is measured on the **evaluation** split.
//! 6. **Fusion**: impostor-centred z-normalisation per extractor, `z = (μ_nm − d)/σ_nm`, and a
//!    weighted sum `S = Σ wₖ zₖ` with `wₖ ∝ d′ₖ = |μ_nm − μ_m| / √((σ_m² + σ_nm²)/2)`
//!    (normalised to sum 1), computed by the crate's one fusion implementation
//!    ([`ModalityFusion::fuse`], which the pipeline uses too); the fused *distance* is `−S`. μ,
//!    σ and the weights are estimated on the development split only and applied to the
//!    evaluation split. A pair enters a fused score set only when every fused extractor gave it
//!    a distance (unlike `evaluate --modality fused` ([`super::fusion`]), which, as the
//!    pipeline does, fuses a pair missing one modality from the other and counts it).
//!
//! A pair is left out of an extractor's scores when either capture failed to acquire (FTA, per
//! stage with reasons in [`FtaCounts`]) or the matcher reported insufficient overlap (counted).

use std::collections::BTreeMap;

use image::GrayImage;
use rayon::prelude::*;

use crate::eval::{EvalError, FnmrAtFmr, ScoreRecord, ScoreSet};
use crate::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor, RoiImage};
use crate::matching::{ComparisonOutcome, MatchConfig, Matcher};
use crate::pipeline::ModalityFusion;
use crate::roi::{FullHandDetector, RoiDetector};
use crate::sensor::{Frame, Spectrum};
use crate::synth::{Capture, CaptureOptions, Generator, Identity, RoiSquare};
use crate::template::PalmTemplate;

/// The extractors measured, in order: `(name, spectrum the ROI comes from)`.
pub const EXTRACTORS: [(&str, Band); 5] = [
    ("CompCode", Band::Visible),
    ("BOCV", Band::Visible),
    ("DOC", Band::Visible),
    ("MaxCurvature", Band::Nir),
    ("VeinBOCV", Band::Nir),
];

/// Which frame of a capture an extractor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// The visible frame (crease codes).
    Visible,
    /// The near-infrared frame (vein codes).
    Nir,
}

/// Where the ROI comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoiSource {
    /// [`FullHandDetector::default`] on each frame: the real pipeline.
    Detected,
    /// The generator's ground-truth ROI square: no ROI error.
    GroundTruth,
    /// [`FullHandDetector::default`] on the visible frame only; the NIR patch is sampled from
    /// the NIR frame with the visible ROI's transform (both frames share the pose — a
    /// registered two-band sensor), and takes the visible ROI's mask.
    DetectedVisibleForNir,
}

/// Which non-mated pairs are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonMatedPairs {
    /// Every unordered non-mated pair within each split.
    All,
    /// This many pairs per split, drawn uniformly **with replacement** from the unordered
    /// non-mated pairs of the split by a SplitMix64 stream seeded with [`AccuracyConfig::seed`]
    /// (a pair may be drawn more than once; the draw is independent of which captures failed
    /// to acquire). This differs from the image-folder experiments
    /// ([`NonMatedPlan::Sample`](super::experiment::NonMatedPlan::Sample)), which draw distinct
    /// pairs without replacement among the acquired samples; with `Sample(n)` much smaller
    /// than the number of pairs the two agree in distribution.
    Sample(u64),
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct AccuracyConfig {
    /// Number of identities (seeds `first_identity..first_identity + subjects`). At least 4
    /// (two per split).
    pub subjects: u64,
    /// Samples (captures) per identity, at least 2.
    pub samples: u64,
    /// Seed of the first identity.
    pub first_identity: u64,
    /// Non-mated pairs to compare.
    pub non_mated: NonMatedPairs,
    /// ROI source.
    pub roi: RoiSource,
    /// Generator options.
    pub capture: CaptureOptions,
    /// Seed of the non-mated sample.
    pub seed: u64,
}

impl Default for AccuracyConfig {
    /// 200 identities × 10 samples, all non-mated pairs, detected ROI, default captures.
    fn default() -> Self {
        AccuracyConfig {
            subjects: 200,
            samples: 10,
            first_identity: 0,
            non_mated: NonMatedPairs::All,
            roi: RoiSource::Detected,
            capture: CaptureOptions::default(),
            seed: 0x0A11_CE5E_ED00_0007,
        }
    }
}

/// Failures to acquire, per stage and reason (reason = the error variant's name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FtaCounts {
    /// Captures attempted.
    pub captures: u64,
    /// ROI failures on the visible frame, by reason.
    pub roi_visible: BTreeMap<String, u64>,
    /// ROI failures on the NIR frame, by reason.
    pub roi_nir: BTreeMap<String, u64>,
    /// Feature-extraction failures per extractor (index into [`EXTRACTORS`]), by reason.
    pub features: Vec<BTreeMap<String, u64>>,
    /// Captures without a template, per extractor (any stage).
    pub failed: Vec<u64>,
}

/// Statistics of one score population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStd {
    /// Count.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
}

impl MeanStd {
    /// Of a slice (`NaN`s when empty).
    pub fn of(v: &[f64]) -> MeanStd {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        MeanStd {
            n: v.len() as u64,
            mean,
            std: var.sqrt(),
        }
    }
}

/// Decidability `d′ = |μ_nm − μ_m| / √((σ_m² + σ_nm²)/2)`.
pub fn d_prime(mated: &MeanStd, non_mated: &MeanStd) -> f64 {
    (non_mated.mean - mated.mean).abs()
        / ((mated.std * mated.std + non_mated.std * non_mated.std) / 2.0).sqrt()
}

/// One row of the result table (evaluation split).
#[derive(Debug, Clone)]
pub struct AccuracyRow {
    /// Extractor name or fusion label.
    pub name: String,
    /// Mated and non-mated scores (distances; for fused rows the negated fused z-score).
    pub scores: ScoreSet,
    /// Mated statistics.
    pub mated: MeanStd,
    /// Non-mated statistics.
    pub non_mated: MeanStd,
    /// Equal error rate.
    pub eer: f64,
    /// FNMR at FMR = 10⁻³.
    pub fnmr_at_1e3: FnmrAtFmr,
    /// FNMR at FMR = 10⁻⁴.
    pub fnmr_at_1e4: FnmrAtFmr,
    /// Captures without a template (FTA, any stage; for fused rows: any fused extractor).
    pub fta: u64,
    /// Pairs (mated, non-mated) not scored because of insufficient overlap (evaluation split).
    pub insufficient_overlap: (u64, u64),
    /// Pairs (mated, non-mated) not scored because a capture failed to acquire.
    pub fta_pairs: (u64, u64),
}

/// Fusion parameters estimated on the development split.
#[derive(Debug, Clone, PartialEq)]
pub struct FusionModel {
    /// Label.
    pub name: String,
    /// Indices into [`EXTRACTORS`].
    pub members: Vec<usize>,
    /// Non-mated mean per member (development split).
    pub mu: Vec<f64>,
    /// Non-mated std per member (development split).
    pub sigma: Vec<f64>,
    /// Weight per member (∝ development d′, sum 1).
    pub weights: Vec<f64>,
}

impl FusionModel {
    /// The members' parameters in the pipeline's form, for [`ModalityFusion::fuse`] (the
    /// crate's one fusion implementation).
    pub fn parameters(&self) -> Vec<ModalityFusion> {
        (0..self.members.len())
            .map(|j| ModalityFusion {
                non_mated_mean_distance: self.mu[j],
                non_mated_std_distance: self.sigma[j],
                weight: self.weights[j],
            })
            .collect()
    }
}

/// Everything [`run`] measured.
#[derive(Debug, Clone)]
pub struct AccuracyReport {
    /// Identities in the development split.
    pub dev_identities: u64,
    /// Identities in the evaluation split.
    pub eval_identities: u64,
    /// Failures to acquire.
    pub fta: FtaCounts,
    /// Per extractor ([`EXTRACTORS`] order), then the fused rows.
    pub rows: Vec<AccuracyRow>,
    /// d′ of each extractor on the development split.
    pub dev_d_prime: Vec<f64>,
    /// The fusion models (development split).
    pub fusion: Vec<FusionModel>,
    /// Per capture (index `identity · samples + sample`, identities relative to
    /// `first_identity`), visible and NIR: the largest distance between a detected ROI corner
    /// and the ground-truth corner, as a fraction of the ground-truth ROI side. `None` when the
    /// ROI was not detected or came from ground truth ([`RoiSource::GroundTruth`]); with
    /// [`RoiSource::DetectedVisibleForNir`] the NIR entry repeats the visible one.
    pub roi_corner_error: Vec<[Option<f32>; 2]>,
    /// Evaluation-split score records per row (same order as `rows`), for CSV files.
    pub records: Vec<Vec<ScoreRecord>>,
}

/// Why [`run`] could not measure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyntheticEvalError {
    /// A configuration value out of range.
    #[error("accuracy run: {name} = {value} {bound}")]
    Config {
        /// Field.
        name: &'static str,
        /// Value given.
        value: String,
        /// Bound violated.
        bound: &'static str,
    },
    /// The generator refused its options.
    #[error(transparent)]
    Capture(#[from] crate::ConfigError),
    /// A score population was empty or invalid.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

fn variant(debug: String) -> String {
    let end = debug.find([' ', '(', '{']).unwrap_or(debug.len());
    debug[..end].to_string()
}

/// A fresh set of the [`EXTRACTORS`], in order.
pub fn extractors() -> Vec<Box<dyn FeatureExtractor + Send>> {
    vec![
        Box::new(OrientedCodeExtractor::comp_code()),
        Box::new(OrientedCodeExtractor::bocv()),
        Box::new(OrientedCodeExtractor::double_orientation()),
        Box::new(MaxCurvatureVein::default()),
        Box::new(OrientedCodeExtractor::vein_bocv()),
    ]
}

/// Samples a `side × side` patch and mask from `frame` with the ground-truth ROI square.
/// Synth frame coordinates put pixel centres at `i + 0.5`. Each ROI pixel averages `k × k`
/// bilinear samples, `k = ⌈frame px per ROI px⌉` (1..=4); a ROI pixel is valid when its centre
/// has skin coverage ≥ 50 % in `skin` and lies inside the frame.
pub fn ground_truth_roi(
    frame: &GrayImage,
    skin: &GrayImage,
    square: &RoiSquare,
    side: usize,
) -> (GrayImage, GrayImage) {
    sample_roi(
        frame,
        Some(skin),
        |s, t| square.at(s, t),
        square.side_px,
        side,
    )
}

/// Samples a `side × side` patch from `frame` through `at(s, t)`, unit ROI coordinates →
/// frame pixels in the synth convention (pixel centres at `i + 0.5`); `side_px` is the ROI side
/// in frame pixels (sets the supersampling). The mask is valid where the pixel is fully inside
/// the frame and (when `skin` is given) skin coverage at its centre is ≥ 50 %.
fn sample_roi(
    frame: &GrayImage,
    skin: Option<&GrayImage>,
    at: impl Fn(f32, f32) -> [f32; 2],
    side_px: f32,
    side: usize,
) -> (GrayImage, GrayImage) {
    let square = RoiAt(at);
    let (w, h) = (frame.width() as i64, frame.height() as i64);
    let bil = |img: &GrayImage, x: f32, y: f32| -> Option<f32> {
        let (x, y) = (x - 0.5, y - 0.5);
        if !(x >= 0.0 && y >= 0.0 && x <= (w - 1) as f32 && y <= (h - 1) as f32) {
            return None;
        }
        let (x0, y0) = (x.floor() as i64, y.floor() as i64);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |xx: i64, yy: i64| img.get_pixel(xx as u32, yy as u32).0[0] as f32;
        Some(
            (p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx) * (1.0 - fy)
                + (p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx) * fy,
        )
    };
    let k = (side_px / side as f32).ceil().clamp(1.0, 4.0) as usize;
    let mut patch = GrayImage::new(side as u32, side as u32);
    let mut mask = GrayImage::new(side as u32, side as u32);
    for r in 0..side {
        for c in 0..side {
            let (mut sum, mut n) = (0.0f32, 0u32);
            for a in 0..k {
                for b in 0..k {
                    let s = (c as f32 + (b as f32 + 0.5) / k as f32) / side as f32;
                    let t = (r as f32 + (a as f32 + 0.5) / k as f32) / side as f32;
                    let [x, y] = square.at(s, t);
                    if let Some(v) = bil(frame, x, y) {
                        sum += v;
                        n += 1;
                    }
                }
            }
            let [x, y] = square.at(
                (c as f32 + 0.5) / side as f32,
                (r as f32 + 0.5) / side as f32,
            );
            let valid = n == (k * k) as u32
                && skin.is_none_or(|skin| bil(skin, x, y).is_some_and(|m| m >= 127.5));
            if n > 0 {
                patch.put_pixel(
                    c as u32,
                    r as u32,
                    image::Luma([(sum / n as f32).round() as u8]),
                );
            }
            if valid {
                mask.put_pixel(c as u32, r as u32, image::Luma([255]));
            }
        }
    }
    (patch, mask)
}

struct RoiAt<F>(F);
impl<F: Fn(f32, f32) -> [f32; 2]> RoiAt<F> {
    fn at(&self, s: f32, t: f32) -> [f32; 2] {
        (self.0)(s, t)
    }
}

/// Templates of one capture (`None` = failed to acquire) and its failure reasons.
struct CaptureResult {
    templates: Vec<Option<PalmTemplate>>,
    roi_fail: [Option<String>; 2],
    roi_error: [Option<f32>; 2],
    feat_fail: Vec<Option<String>>,
}

fn process(
    cap: Capture,
    roi_source: RoiSource,
    detector: &FullHandDetector,
    ex: &mut [Box<dyn FeatureExtractor + Send>],
) -> CaptureResult {
    let mut rois: [Result<RoiImage, String>; 2] = [Err(String::new()), Err(String::new())];
    let mut roi_error = [None, None];
    let mut visible_roi = None;
    for (b, img) in [&cap.visible, &cap.nir].into_iter().enumerate() {
        let side = ex[0].roi_side();
        rois[b] = match roi_source {
            RoiSource::DetectedVisibleForNir if b == 1 => match &visible_roi {
                None => Err(rois[0].clone().err().unwrap_or_default()),
                Some(v) => {
                    let v: &crate::roi::Roi = v;
                    roi_error[1] = roi_error[0];
                    let n = side as f32;
                    let (p, _) = sample_roi(
                        img,
                        None,
                        |s, t| {
                            let q = v.transform.to_frame(nalgebra::Point2::new(s * n, t * n));
                            [q.x + 0.5, q.y + 0.5]
                        },
                        v.transform.scale() * n,
                        side,
                    );
                    RoiImage::from_gray(&p, Some(&v.mask)).map_err(|e| variant(format!("{e:?}")))
                }
            },
            RoiSource::Detected | RoiSource::DetectedVisibleForNir => {
                let spectrum = if b == 0 {
                    Spectrum::Visible
                } else {
                    Spectrum::NearInfrared {
                        wavelength_nm: crate::synth::SYNTHETIC_NIR_WAVELENGTH_NM,
                    }
                };
                Frame::from_gray8(img.clone(), spectrum)
                    .map_err(|e| variant(format!("{e:?}")))
                    .and_then(|f| detector.detect(&f).map_err(|e| variant(format!("{e:?}"))))
                    .and_then(|roi| {
                        // synth puts pixel centres at i + 0.5, openpalm at integers.
                        let t = &cap.truth.roi;
                        let err = roi
                            .corners
                            .iter()
                            .zip(t.corners)
                            .map(|(c, g)| (c.x - (g[0] - 0.5)).hypot(c.y - (g[1] - 0.5)))
                            .fold(0.0f32, f32::max);
                        roi_error[b] = Some(err / t.side_px);
                        let r = RoiImage::from_gray(&roi.patch, Some(&roi.mask))
                            .map_err(|e| variant(format!("{e:?}")));
                        visible_roi = Some(roi);
                        r
                    })
            }
            RoiSource::GroundTruth => {
                let (p, m) = ground_truth_roi(img, &cap.mask, &cap.truth.roi, side);
                RoiImage::from_gray(&p, Some(&m)).map_err(|e| variant(format!("{e:?}")))
            }
        };
    }
    let roi_fail = [rois[0].clone().err(), rois[1].clone().err()];
    let mut templates = Vec::with_capacity(ex.len());
    let mut feat_fail = Vec::with_capacity(ex.len());
    for (e, (_, band)) in ex.iter_mut().zip(EXTRACTORS) {
        let roi = &rois[usize::from(band == Band::Nir)];
        match roi {
            Err(_) => {
                templates.push(None);
                feat_fail.push(None);
            }
            Ok(r) => match e.extract(r) {
                Ok(t) => {
                    templates.push(Some(t));
                    feat_fail.push(None);
                }
                Err(err) => {
                    templates.push(None);
                    feat_fail.push(Some(variant(format!("{err:?}"))));
                }
            },
        }
    }
    CaptureResult {
        templates,
        roi_fail,
        roi_error,
        feat_fail,
    }
}

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
}

/// Pairs `(probe, reference)` of capture indices (probe < reference) in the identity range
/// `[lo, hi)` (relative identity indices), sorted by probe.
fn pairs(
    lo: u64,
    hi: u64,
    samples: u64,
    non_mated: NonMatedPairs,
    rng: &mut SplitMix,
) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for i in lo..hi {
        for a in 0..samples {
            for b in a + 1..samples {
                out.push(((i * samples + a) as u32, (i * samples + b) as u32));
            }
        }
    }
    match non_mated {
        NonMatedPairs::All => {
            for p in lo * samples..hi * samples {
                for q in p + 1..hi * samples {
                    if p / samples != q / samples {
                        out.push((p as u32, q as u32));
                    }
                }
            }
        }
        NonMatedPairs::Sample(n) => {
            let ids = hi - lo;
            for _ in 0..n {
                let i = lo + rng.below(ids);
                let j = lo + (i - lo + 1 + rng.below(ids - 1)) % ids;
                let p = i * samples + rng.below(samples);
                let q = j * samples + rng.below(samples);
                out.push((p.min(q) as u32, p.max(q) as u32));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Distances of `pairs` per extractor (`NaN` = not scored) and counts of insufficient overlap.
fn compare_all(
    pairs: &[(u32, u32)],
    templates: &[Vec<Option<PalmTemplate>>],
    config: &MatchConfig,
) -> (Vec<[f64; 5]>, [u64; 5]) {
    let groups: Vec<&[(u32, u32)]> = pairs.chunk_by(|a, b| a.0 == b.0).collect();
    let per_group: Vec<(Vec<[f64; 5]>, [u64; 5])> = groups
        .par_iter()
        .map(|g| {
            let p = g[0].0 as usize;
            let matchers: Vec<Option<Matcher>> = templates[p]
                .iter()
                .map(|t| t.as_ref().and_then(|t| Matcher::new(t, config).ok()))
                .collect();
            let mut overlap = [0u64; 5];
            let d = g
                .iter()
                .map(|&(_, q)| {
                    let mut row = [f64::NAN; 5];
                    for (k, m) in matchers.iter().enumerate() {
                        let (Some(m), Some(r)) = (m, &templates[q as usize][k]) else {
                            continue;
                        };
                        match m.compare(r) {
                            Ok(ComparisonOutcome::Compared(c)) => row[k] = c.distance,
                            Ok(ComparisonOutcome::InsufficientOverlap { .. }) => overlap[k] += 1,
                            Err(_) => {}
                        }
                    }
                    row
                })
                .collect();
            (d, overlap)
        })
        .collect();
    let mut out = Vec::with_capacity(pairs.len());
    let mut overlap = [0u64; 5];
    for (d, o) in per_group {
        out.extend(d);
        for k in 0..5 {
            overlap[k] += o[k];
        }
    }
    (out, overlap)
}

fn fnmr_pair(s: &ScoreSet) -> Result<(FnmrAtFmr, FnmrAtFmr), EvalError> {
    Ok((s.fnmr_at_fmr(1e-3)?, s.fnmr_at_fmr(1e-4)?))
}

/// Runs the whole measurement (see the module docs). Time is dominated by capture generation
/// and ROI detection (≈ tens of ms per capture) and, for [`NonMatedPairs::All`], the
/// `O((subjects · samples)²)` comparisons.
pub fn run(config: &AccuracyConfig) -> Result<AccuracyReport, SyntheticEvalError> {
    if config.subjects < 4 {
        return Err(SyntheticEvalError::Config {
            name: "subjects",
            value: config.subjects.to_string(),
            bound: "must be at least 4",
        });
    }
    if !(2..=1000).contains(&config.samples) {
        return Err(SyntheticEvalError::Config {
            name: "samples",
            value: config.samples.to_string(),
            bound: "must be in 2..=1000",
        });
    }
    let total = config
        .subjects
        .checked_mul(config.samples)
        .filter(|&n| n <= 1_000_000);
    let Some(total) = total else {
        return Err(SyntheticEvalError::Config {
            name: "subjects × samples",
            value: format!("{} × {}", config.subjects, config.samples),
            bound: "must be at most 1 000 000 captures",
        });
    };
    let generator = Generator::new(config.capture.clone())?;
    let detector = FullHandDetector::default();
    let results: Vec<CaptureResult> = (0..total)
        .into_par_iter()
        .map_init(extractors, |ex, n| {
            let id = Identity::from_seed(config.first_identity + n / config.samples);
            let cap = generator.capture(&id, n % config.samples);
            process(cap, config.roi, &detector, ex)
        })
        .collect();

    let nx = EXTRACTORS.len();
    let mut fta = FtaCounts {
        captures: total,
        features: vec![BTreeMap::new(); nx],
        failed: vec![0; nx],
        ..Default::default()
    };
    let mut templates = Vec::with_capacity(results.len());
    let mut roi_corner_error = Vec::with_capacity(results.len());
    for r in results {
        roi_corner_error.push(r.roi_error);
        if let Some(reason) = &r.roi_fail[0] {
            *fta.roi_visible.entry(reason.clone()).or_default() += 1;
        }
        if let Some(reason) = &r.roi_fail[1] {
            *fta.roi_nir.entry(reason.clone()).or_default() += 1;
        }
        for (k, f) in r.feat_fail.iter().enumerate() {
            if let Some(reason) = f {
                *fta.features[k].entry(reason.clone()).or_default() += 1;
            }
            if r.templates[k].is_none() {
                fta.failed[k] += 1;
            }
        }
        templates.push(r.templates);
    }

    let dev_ids = config.subjects.div_ceil(2);
    let mut rng = SplitMix(config.seed);
    let mcfg = MatchConfig::default();
    let dev_pairs = pairs(0, dev_ids, config.samples, config.non_mated, &mut rng);
    let eval_pairs = pairs(
        dev_ids,
        config.subjects,
        config.samples,
        config.non_mated,
        &mut rng,
    );
    let (dev_d, _) = compare_all(&dev_pairs, &templates, &mcfg);
    let (eval_d, _) = compare_all(&eval_pairs, &templates, &mcfg);
    let mated = |&(p, q): &(u32, u32)| p as u64 / config.samples == q as u64 / config.samples;

    // Development statistics per extractor.
    let split = |pairs: &[(u32, u32)], d: &[[f64; 5]], k: usize| -> (Vec<f64>, Vec<f64>) {
        let (mut m, mut nm) = (Vec::new(), Vec::new());
        for (p, row) in pairs.iter().zip(d) {
            if row[k].is_finite() {
                if mated(p) {
                    m.push(row[k])
                } else {
                    nm.push(row[k])
                }
            }
        }
        (m, nm)
    };
    let mut dev_stats = Vec::with_capacity(nx);
    let mut dev_d_prime = Vec::with_capacity(nx);
    for k in 0..nx {
        let (m, nm) = split(&dev_pairs, &dev_d, k);
        let (ms, ns) = (MeanStd::of(&m), MeanStd::of(&nm));
        dev_d_prime.push(d_prime(&ms, &ns));
        dev_stats.push((ms, ns));
    }
    let best = |band: Band| {
        (0..nx)
            .filter(|&k| EXTRACTORS[k].1 == band)
            .max_by(|&a, &b| dev_d_prime[a].total_cmp(&dev_d_prime[b]))
            .unwrap_or(0)
    };
    let (bc, bv) = (best(Band::Visible), best(Band::Nir));
    let model = |name: String, members: Vec<usize>| {
        let dp: Vec<f64> = members.iter().map(|&k| dev_d_prime[k].max(0.0)).collect();
        let sum: f64 = dp.iter().sum();
        FusionModel {
            name,
            mu: members.iter().map(|&k| dev_stats[k].1.mean).collect(),
            sigma: members.iter().map(|&k| dev_stats[k].1.std).collect(),
            weights: dp.iter().map(|w| w / sum).collect(),
            members,
        }
    };
    let fusion = vec![
        model(
            format!("fused {}+{}", EXTRACTORS[bc].0, EXTRACTORS[bv].0),
            vec![bc, bv],
        ),
        model("fused all five".to_string(), (0..nx).collect()),
    ];

    let name_of = |i: u32| {
        let i = i as u64;
        format!(
            "id{}_s{}",
            config.first_identity + i / config.samples,
            i % config.samples
        )
    };
    let fta_of = |i: u32, k: usize| templates[i as usize][k].is_none();
    let mut rows = Vec::new();
    let mut records = Vec::new();
    let mut push_row = |name: String,
                        score: &dyn Fn(&[f64; 5]) -> f64,
                        members: &[usize],
                        overlap: (u64, u64)|
     -> Result<(), SyntheticEvalError> {
        let (mut m, mut nm, mut rec) = (Vec::new(), Vec::new(), Vec::new());
        let mut fta_pairs = (0u64, 0u64);
        for (p, row) in eval_pairs.iter().zip(&eval_d) {
            let is_m = mated(p);
            if members.iter().any(|&k| fta_of(p.0, k) || fta_of(p.1, k)) {
                if is_m {
                    fta_pairs.0 += 1
                } else {
                    fta_pairs.1 += 1
                }
                continue;
            }
            let s = score(row);
            if !s.is_finite() {
                continue;
            }
            if is_m {
                m.push(s)
            } else {
                nm.push(s)
            }
            rec.push(ScoreRecord {
                probe: name_of(p.0),
                reference: name_of(p.1),
                mated: is_m,
                distance: s,
            });
        }
        let (ms, ns) = (MeanStd::of(&m), MeanStd::of(&nm));
        let scores = ScoreSet::new(m, nm)?;
        let (f3, f4) = fnmr_pair(&scores)?;
        let fta_count = (0..total as u32)
            .filter(|&i| {
                i as u64 / config.samples >= dev_ids && members.iter().any(|&k| fta_of(i, k))
            })
            .count() as u64;
        rows.push(AccuracyRow {
            name,
            eer: scores.eer().eer,
            scores,
            mated: ms,
            non_mated: ns,
            fnmr_at_1e3: f3,
            fnmr_at_1e4: f4,
            fta: fta_count,
            insufficient_overlap: overlap,
            fta_pairs,
        });
        records.push(rec);
        Ok(())
    };
    for k in 0..nx {
        let mut o = (0, 0);
        for (p, row) in eval_pairs.iter().zip(&eval_d) {
            if row[k].is_nan() && !fta_of(p.0, k) && !fta_of(p.1, k) {
                if mated(p) { o.0 += 1 } else { o.1 += 1 }
            }
        }
        push_row(EXTRACTORS[k].0.to_string(), &|r: &[f64; 5]| r[k], &[k], o)?;
    }
    for f in &fusion {
        let mut o = (0, 0);
        for (p, row) in eval_pairs.iter().zip(&eval_d) {
            let fta_any = f.members.iter().any(|&k| fta_of(p.0, k) || fta_of(p.1, k));
            if !fta_any && f.members.iter().any(|&k| row[k].is_nan()) {
                if mated(p) { o.0 += 1 } else { o.1 += 1 }
            }
        }
        let params = f.parameters();
        let score = |r: &[f64; 5]| {
            let parts = f.members.iter().zip(&params).map(|(&k, p)| (p, r[k]));
            -ModalityFusion::fuse(parts).unwrap_or(f64::NAN)
        };
        push_row(f.name.clone(), &score, &f.members, o)?;
    }
    Ok(AccuracyReport {
        dev_identities: dev_ids,
        eval_identities: config.subjects - dev_ids,
        fta,
        rows,
        dev_d_prime,
        fusion,
        roi_corner_error,
        records,
    })
}

fn fmt_fnmr(f: &FnmrAtFmr) -> String {
    match f {
        FnmrAtFmr::Supported { point, .. } => format!("{:.3} %", point.fnmr * 100.0),
        FnmrAtFmr::NotSupported {
            non_mated, needed, ..
        } => {
            format!("not supported ({non_mated} < {needed})")
        }
    }
}

impl AccuracyReport {
    /// The result table as Markdown (evaluation split).
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| extractor | EER | FNMR@FMR=1e-3 | FNMR@FMR=1e-4 | mated d (mean ± std) | non-mated d (mean ± std) | d′ | pairs m / nm | FTA (captures) | insufficient overlap m / nm |\n|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            s += &format!(
                "| {} | {:.3} % | {} | {} | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.2} | {} / {} | {} | {} / {} |\n",
                r.name,
                r.eer * 100.0,
                fmt_fnmr(&r.fnmr_at_1e3),
                fmt_fnmr(&r.fnmr_at_1e4),
                r.mated.mean,
                r.mated.std,
                r.non_mated.mean,
                r.non_mated.std,
                d_prime(&r.mated, &r.non_mated),
                r.mated.n,
                r.non_mated.n,
                r.fta,
                r.insufficient_overlap.0,
                r.insufficient_overlap.1,
            );
        }
        s
    }
}
