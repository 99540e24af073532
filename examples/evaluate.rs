//! Evaluate a palm recognition system: error rates, DET curve and distance histograms.
//!
//! ```text
//! cargo run --release --example evaluate -- --scores FILE --out OUT [--label NAME] [--fta FAILED/ATTEMPTS]
//! cargo run --release --example evaluate -- --images DIR --out OUT [--modality crease|vein|fused] [--input frame|roi]
//! cargo run --release --example evaluate -- --synthetic N_SUBJECTSxN_SAMPLES --out OUT [--modality …]
//! ```
//!
//! `--scores` reads a score file — openpalm CSV (`probe,reference,mated,distance`, distance lower
//! is more similar) or bob's 4-column format (`claimed_id real_id test_label score`, score
//! higher is more similar, read as distance = −score) — and writes to OUT:
//! `scores.csv` (the comparisons in openpalm CSV), `metrics.json`, `det.svg`/`det.png` and
//! `histogram.svg`/`histogram.png`, then prints a summary table. `--fta F/A` adds F failures
//! to acquire out of A attempts for the ISO/IEC 19795-1 FAR/FRR. `--bootstrap N` adds 95 %
//! subject-level bootstrap intervals (N replicates, `--seed S`, default 1) for the EER and
//! FNMR at fixed FMR; the subject of a sample id is the text before its first `/`
//! (`<subject>/<sample>`, as the `--images DIR/<subject>/<sample>.png` layout produces).
//!
//! `--images DIR --input roi` runs the pipeline on folders of already-cropped palm ROIs laid
//! out as `DIR/<subject>/<sample>.<png|bmp|jpg|jpeg|tif|tiff>` (any size and colour; the format
//! is detected from the content; converted to gray, centre-cropped to a square and resampled to
//! the extractor's ROI side): parallel feature extraction (`--extractor`, default `bocv` for
//! crease and `vein_bocv` for vein; also `comp_code`, `doc`, `max_curvature`), every mated
//! comparison and all non-mated ones or `--non-mated N` drawn with `--seed S`. It writes, in
//! addition to the files above, `fta.csv` (`image,reason`) and `rejected.csv` (pairs with
//! insufficient overlap, counted as non-matches; see `openpalm::eval::experiment`).
//!
//! `--images DIR` with `--input frame` (the default) takes full-hand frames (gray, NIR or colour):
//! each is decoded under the sensor module's `FrameLimits`, `openpalm::roi::FullHandDetector`
//! (default configuration) finds the palm ROI, and everything else runs as above. A frame the
//! detector rejects is a failure to acquire with the detector's reason in `fta.csv`. It also
//! writes `landmarks.csv` (`image,x_im,y_im,x_rl,y_rl`: the index–middle and ring–little valley
//! of every acquired frame in frame pixels, pixel centres at integer coordinates, as
//! `openpalm::roi::Landmarks`).
//!
//! `--synthetic NxM` (or `N×M`; needs `--features synth`) generates N identities × M samples
//! of `openpalm::synth` in process — the visible frame for crease, the NIR frame for vein — and
//! runs the same frame path without writing images. `examples/synth_export.rs` writes the same
//! set as a folder (`DIR/s00000/000.png`, lossless), on which `--images DIR` gives the same
//! scores and EER:
//!
//! ```text
//! cargo run --release --features synth --example synth_export -- --synthetic 20x4 --out /tmp/syn
//! cargo run --release --features synth --example evaluate -- --images /tmp/syn --out /tmp/ev_folder
//! cargo run --release --features synth --example evaluate -- --synthetic 20x4 --out /tmp/ev_synth
//! ```
//!
//! `--modality fused` fuses crease and vein at score level (`openpalm::eval::fusion`). Images
//! are pairs `DIR/<subject>/<sample>_vis.<ext>` and `<sample>_nir.<ext>` (`--synthetic` uses
//! the generator's visible + NIR pair of each capture; `synth_export --modality fused` writes such a
//! folder): ROI detection + BOCV on the visible frame, ROI detection + maximum curvature on the
//! NIR frame (the pipeline's extractors), every pair compared in each modality and fused with
//! the pipeline's z-score fusion (`ModalityFusion::fuse`). `--fusion-params development` (the
//! default) estimates μ, σ and the weights on the first half of the subjects and reports only
//! the second half; `--fusion-params pipeline` applies the pipeline's documented defaults
//! (`FusionConfig::default`) and evaluates every subject. A sample fails to acquire only when
//! both frames fail; a pair missing one modality is fused from the other and counted
//! (`metrics.json` → `fusion.pairs`). `fta.csv` lists every failed frame with its reason,
//! `landmarks.csv` the valleys of both frames, and `metrics.json` adds a `fusion` section with
//! the parameters, where they came from, and crease and vein alone on the same pairs.
//!
//! ```text
//! cargo run --release --features synth --example synth_export -- --synthetic 20x4 --modality fused --out /tmp/synf
//! cargo run --release --features synth --example evaluate -- --images /tmp/synf --modality fused --out /tmp/ev_fused
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use openpalm::eval::dataset::{Dataset, DatasetLimits};
use openpalm::eval::experiment::{
    self, AcquireRoi, NonMatedPlan, Progress, RoiFiles, TemplateEntry,
};
use openpalm::eval::frames::{self, DetectedRoi, ExtractorPair, LandmarkRow};
use openpalm::eval::fusion;
use openpalm::eval::scores::{self, ScoreReadLimits};
use openpalm::eval::{
    Acquisition, STANDARD_FMR_TARGETS, ScoreRecord, ScoreSet, VerificationReport, bootstrap,
};
use openpalm::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor};
use openpalm::matching::MatchConfig;
use openpalm::pipeline::FusionConfig;
use openpalm::sensor::Spectrum;

const USAGE: &str = "usage:
  evaluate --scores FILE --out OUT [--label NAME] [--fta FAILED/ATTEMPTS] [--bootstrap N [--seed S]]
  evaluate --images DIR --out OUT [--modality crease|vein|fused] [--input frame|roi]
           [--extractor bocv|comp_code|doc|vein_bocv|max_curvature] [--non-mated all|N] [--seed S]
  evaluate --synthetic N_SUBJECTSxN_SAMPLES --out OUT [--modality crease|vein|fused]
  (fused: [--fusion-params development|pipeline])";

/// Which features are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModalityArg {
    Crease,
    Vein,
    Fused,
}

/// What the images in an `--images` folder are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    /// Full camera frames: ROI detection runs first.
    Frame,
    /// Already-cropped palm ROIs: ROI detection is skipped.
    Roi,
}

/// Where the comparisons come from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Scores(PathBuf),
    Images { dir: PathBuf, input: InputKind },
    Synthetic { subjects: u32, samples: u32 },
}

#[derive(Debug, Clone, PartialEq)]
struct Args {
    source: Source,
    out: PathBuf,
    modality: ModalityArg,
    label: Option<String>,
    fta: Option<(u64, u64)>,
    bootstrap: Option<u32>,
    seed: u64,
    extractor: Option<String>,
    /// `None`: all non-mated pairs.
    non_mated: Option<u64>,
    /// Fused: estimate the fusion parameters on a development split (`true`) or use the
    /// pipeline's defaults.
    fusion_development: bool,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut scores = None;
    let mut images = None;
    let mut synthetic = None;
    let mut out = None;
    let mut modality = ModalityArg::Crease;
    let mut input = InputKind::Frame;
    let mut label = None;
    let mut fta = None;
    let mut bootstrap = None;
    let mut seed = 1;
    let mut extractor = None;
    let mut non_mated = None;
    let mut fusion_development = true;
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--scores" => scores = Some(PathBuf::from(value()?)),
            "--images" => images = Some(PathBuf::from(value()?)),
            "--synthetic" => {
                let v = value()?;
                let (a, b) = v.split_once(['x', 'X', '×']).ok_or_else(|| {
                    format!("--synthetic {v}: expected N_SUBJECTSxN_SAMPLES, e.g. 50x6")
                })?;
                let parse = |s: &str| {
                    s.parse::<u32>()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| format!("--synthetic {v}: `{s}` is not a positive integer"))
                };
                synthetic = Some((parse(a)?, parse(b)?));
            }
            "--out" => out = Some(PathBuf::from(value()?)),
            "--modality" => {
                modality = match value()?.as_str() {
                    "crease" => ModalityArg::Crease,
                    "vein" => ModalityArg::Vein,
                    "fused" => ModalityArg::Fused,
                    other => {
                        return Err(format!(
                            "--modality {other}: expected crease, vein or fused"
                        ));
                    }
                }
            }
            "--input" => {
                input = match value()?.as_str() {
                    "frame" => InputKind::Frame,
                    "roi" => InputKind::Roi,
                    other => return Err(format!("--input {other}: expected frame or roi")),
                }
            }
            "--label" => label = Some(value()?),
            "--fta" => {
                let v = value()?;
                let parsed = v
                    .split_once('/')
                    .and_then(|(f, a)| Some((f.trim().parse().ok()?, a.trim().parse().ok()?)));
                fta =
                    Some(parsed.ok_or_else(|| {
                        format!("--fta {v}: expected FAILED/ATTEMPTS, e.g. 3/1000")
                    })?);
            }
            "--bootstrap" => {
                let v = value()?;
                bootstrap = Some(v.parse::<u32>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    format!("--bootstrap {v}: expected a positive number of replicates")
                })?);
            }
            "--seed" => {
                let v = value()?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed {v}: expected an unsigned integer"))?;
            }
            "--extractor" => {
                let v = value()?;
                if !EXTRACTORS.contains(&v.as_str()) {
                    return Err(format!("--extractor {v}: expected one of {EXTRACTORS:?}"));
                }
                extractor = Some(v);
            }
            "--non-mated" => {
                let v = value()?;
                non_mated = if v == "all" {
                    None
                } else {
                    Some(v.parse::<u64>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                        format!("--non-mated {v}: expected `all` or a positive number of pairs")
                    })?)
                };
            }
            "--fusion-params" => {
                fusion_development = match value()?.as_str() {
                    "development" => true,
                    "pipeline" => false,
                    other => {
                        return Err(format!(
                            "--fusion-params {other}: expected development or pipeline"
                        ));
                    }
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let source = match (scores, images, synthetic) {
        (Some(f), None, None) => Source::Scores(f),
        (None, Some(dir), None) => Source::Images { dir, input },
        (None, None, Some((subjects, samples))) => Source::Synthetic { subjects, samples },
        (None, None, None) => {
            return Err("one of --scores, --images or --synthetic is needed".into());
        }
        _ => return Err("--scores, --images and --synthetic exclude each other".into()),
    };
    let out = out.ok_or("--out OUT is needed")?;
    Ok(Args {
        source,
        out,
        modality,
        label,
        fta,
        bootstrap,
        seed,
        extractor,
        non_mated,
        fusion_development,
    })
}

/// Extractor names accepted by `--extractor`.
const EXTRACTORS: [&str; 5] = ["bocv", "comp_code", "doc", "vein_bocv", "max_curvature"];

/// The spectrum recorded with decoded frames of a modality.
fn spectrum(modality: ModalityArg) -> Spectrum {
    match modality {
        ModalityArg::Vein => Spectrum::NearInfrared { wavelength_nm: 850 },
        _ => Spectrum::Visible,
    }
}

/// Where templates come from: a folder (cropped ROIs or full frames) or the generator.
enum Templates {
    RoiFolder(Dataset, RoiFiles),
    FrameFolder(Dataset, DetectedRoi),
    #[cfg(feature = "synth")]
    Synthetic(
        openpalm::eval::frames::SyntheticSet,
        openpalm::eval::frames::SyntheticChannelKind,
        DetectedRoi,
    ),
}

impl Templates {
    fn describe(&self) -> String {
        match self {
            Templates::RoiFolder(_, a) => a.describe(),
            Templates::FrameFolder(_, a) => a.describe(),
            #[cfg(feature = "synth")]
            Templates::Synthetic(set, channel, a) => format!(
                "in-process synthetic {}x{} ({channel:?} frames, default CaptureOptions), {}",
                set.subjects(),
                set.samples(),
                a.describe()
            ),
        }
    }

    fn count(&self) -> u64 {
        match self {
            Templates::RoiFolder(d, _) | Templates::FrameFolder(d, _) => d.image_count() as u64,
            #[cfg(feature = "synth")]
            Templates::Synthetic(set, _, _) => u64::from(set.subjects()) * u64::from(set.samples()),
        }
    }

    /// Templates, and the landmarks when ROI detection ran.
    fn extract<E: FeatureExtractor + Clone + Send + Sync>(
        &self,
        extractor: &E,
        progress: &Progress,
    ) -> (Vec<TemplateEntry>, Option<Vec<LandmarkRow>>) {
        match self {
            Templates::RoiFolder(d, a) => (
                experiment::extract_templates(d, a, extractor, progress),
                None,
            ),
            Templates::FrameFolder(d, a) => {
                let (e, l) = frames::extract_frame_templates(d, a, extractor, progress);
                (e, Some(l))
            }
            #[cfg(feature = "synth")]
            Templates::Synthetic(set, channel, a) => {
                let (e, l) = set.extract_templates(*channel, a, extractor, progress);
                (e, Some(l))
            }
        }
    }
}

/// Runs the image-folder experiment.
fn run_images(args: &Args, dir: &Path, input: InputKind) -> Result<(), String> {
    check_modality(args)?;
    if args.modality == ModalityArg::Fused {
        return run_fused_images(args, dir, input);
    }
    let dataset = Dataset::scan(dir, &DatasetLimits::default()).map_err(|e| e.to_string())?;
    eprintln!(
        "{}: {} subjects, {} images, {} entries skipped",
        dir.display(),
        dataset.subjects.len(),
        dataset.image_count(),
        dataset.skipped.len()
    );
    for s in &dataset.skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }
    let templates = match input {
        InputKind::Roi => Templates::RoiFolder(dataset, RoiFiles::new(spectrum(args.modality))),
        InputKind::Frame => {
            Templates::FrameFolder(dataset, DetectedRoi::new(spectrum(args.modality)))
        }
    };
    let label = args.label.clone().unwrap_or_else(|| {
        dir.file_name()
            .map_or("images".into(), |s| s.to_string_lossy().into_owned())
    });
    run_pipeline(args, &templates, &label)
}

/// Runs the in-process synthetic experiment (feature `synth`).
#[cfg(feature = "synth")]
fn run_synthetic(args: &Args, subjects: u32, samples: u32) -> Result<(), String> {
    use openpalm::eval::frames::{SyntheticChannelKind, SyntheticSet};
    check_modality(args)?;
    let set = SyntheticSet::new(subjects, samples).map_err(|e| format!("--synthetic: {e}"))?;
    if args.modality == ModalityArg::Fused {
        if args.fusion_development && subjects < 4 {
            return Err(format!(
                "--synthetic {subjects}x{samples} --modality fused: estimating the fusion on a \
                 development split needs at least 4 subjects (two per split); use more or \
                 --fusion-params pipeline"
            ));
        }
        let progress = Progress::new("extracting", u64::from(subjects) * u64::from(samples), true);
        let (entries, landmarks) =
            set.extract_fused_templates(&fused_acquire(), &fused_extractors, &progress);
        let label = args
            .label
            .clone()
            .unwrap_or_else(|| format!("synthetic {subjects}x{samples} fused"));
        let describe = format!(
            "in-process synthetic {subjects}x{samples} (visible + NIR frames, default CaptureOptions), {}",
            DetectedRoi::new(Spectrum::Visible).describe()
        );
        return run_fused_pipeline(args, &entries, &landmarks, &describe, &label);
    }
    let channel = match args.modality {
        ModalityArg::Vein => SyntheticChannelKind::NearInfrared,
        _ => SyntheticChannelKind::Visible,
    };
    let templates = Templates::Synthetic(set, channel, DetectedRoi::new(spectrum(args.modality)));
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| format!("synthetic {subjects}x{samples}"));
    run_pipeline(args, &templates, &label)
}

#[cfg(not(feature = "synth"))]
fn run_synthetic(_: &Args, subjects: u32, samples: u32) -> Result<(), String> {
    Err(format!(
        "--synthetic {subjects}x{samples}: the synthetic generator is behind the `synth` feature; \
         run `cargo run --release --features synth --example evaluate -- --synthetic {subjects}x{samples} --out OUT`"
    ))
}

fn check_modality(args: &Args) -> Result<(), String> {
    if args.modality == ModalityArg::Fused {
        if let Some(e) = &args.extractor {
            return Err(format!(
                "--extractor {e} with --modality fused: fused runs the pipeline's extractors \
                 (bocv on the visible frame, max_curvature on the NIR frame)"
            ));
        }
        return Ok(());
    }
    extractor_name(args).map(drop)
}

/// The fused extractors: the pipeline's (BOCV crease, maximum-curvature vein).
fn fused_extractors() -> ExtractorPair {
    [
        Box::new(OrientedCodeExtractor::bocv()),
        Box::new(MaxCurvatureVein::default()),
    ]
}

/// The two acquisitions of a fused sample: visible, NIR.
fn fused_acquire() -> [DetectedRoi; 2] {
    [
        DetectedRoi::new(Spectrum::Visible),
        DetectedRoi::new(spectrum(ModalityArg::Vein)),
    ]
}

/// Fused experiment on a folder of `_vis` / `_nir` frame pairs.
fn run_fused_images(args: &Args, dir: &Path, input: InputKind) -> Result<(), String> {
    if input == InputKind::Roi {
        return Err(
            "--input roi with --modality fused: fused needs full visible and NIR frames \
             (--input frame)"
                .into(),
        );
    }
    let dataset = Dataset::scan(dir, &DatasetLimits::default()).map_err(|e| e.to_string())?;
    let (pairs, unused) = fusion::pair_frames(&dataset);
    eprintln!(
        "{}: {} subjects, {} samples from {} images, {} entries skipped, {} files unused",
        dir.display(),
        dataset.subjects.len(),
        pairs.len(),
        dataset.image_count(),
        dataset.skipped.len(),
        unused.len()
    );
    for (id, why) in &unused {
        eprintln!("  unused {id}: {why}");
    }
    if pairs.is_empty() {
        return Err(format!(
            "{}: no <sample>_vis / <sample>_nir frames found",
            dir.display()
        ));
    }
    let progress = Progress::new("extracting", pairs.len() as u64, true);
    let (entries, landmarks) = frames::extract_fused_frame_templates(
        &pairs,
        &fused_acquire(),
        &fused_extractors,
        &progress,
    );
    let label = args.label.clone().unwrap_or_else(|| {
        dir.file_name()
            .map_or("images".into(), |s| s.to_string_lossy().into_owned())
    });
    let describe = format!(
        "visible + NIR frame pairs ({} samples), {}",
        pairs.len(),
        DetectedRoi::new(Spectrum::Visible).describe()
    );
    run_fused_pipeline(args, &entries, &landmarks, &describe, &label)
}

/// Comparisons, fusion and output files of a fused experiment.
fn run_fused_pipeline(
    args: &Args,
    entries: &[fusion::FusedEntry],
    landmarks: &[LandmarkRow],
    describe: &str,
    label: &str,
) -> Result<(), String> {
    let config = MatchConfig::default();
    let plan = non_mated_plan(args);
    let parameters = if args.fusion_development {
        fusion::FusionParameters::Development
    } else {
        fusion::FusionParameters::Fixed(FusionConfig::default())
    };
    let progress = Progress::new("comparing", 0, true);
    let fused = fusion::run_fused(entries, &config, plan, parameters, &progress)
        .map_err(|e| e.to_string())?;
    let setup = format!(
        "acquisition: {describe}; extractors: bocv (visible) + max_curvature (NIR), fused at \
         score level; matcher: shifts ±{} rows × ±{} cols (cells), min overlap {} of the cells; \
         non-mated: {plan:?}; fusion parameters: {}",
        config.max_shift_rows,
        config.max_shift_cols,
        config.min_overlap_fraction,
        fused.report.parameters_source
    );
    let (report, mut written) = fused
        .result
        .write_outputs(&args.out, &setup, label)
        .map_err(|e| e.to_string())?;
    let create = |name: &str| {
        let p = args.out.join(name);
        File::create(&p)
            .map(BufWriter::new)
            .map(|f| (f, p.clone()))
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    // Per-frame failures replace the fused (both-frames) list that write_outputs wrote.
    let (f, p) = create("fta.csv")?;
    experiment::write_fta_csv(f, &fused.frame_failures)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    // metrics.json: the experiment report plus the fusion section.
    let mut json = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    let fusion_json = serde_json::to_value(&fused.report).map_err(|e| e.to_string())?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("fusion".into(), fusion_json);
    }
    let (mut f, p) = create("metrics.json")?;
    f.write_all(
        serde_json::to_string_pretty(&json)
            .map_err(|e| e.to_string())?
            .as_bytes(),
    )
    .and_then(|()| f.flush())
    .map_err(|e| format!("{}: {e}", p.display()))?;
    let (f, p) = create("landmarks.csv")?;
    frames::write_landmarks_csv(f, landmarks).map_err(|e| format!("{}: {e}", p.display()))?;
    written.push(p);
    println!("{label}: {setup}\n{}", report.summary_table());
    let r = &fused.report;
    println!(
        "fusion: {} development / {} evaluation subjects; pairs: {} both, {} crease only, {} vein only, {} none",
        r.development_subjects,
        r.evaluation_subjects,
        r.pairs.both,
        r.pairs.crease_only_vein_fta + r.pairs.crease_only_vein_overlap,
        r.pairs.vein_only_crease_fta + r.pairs.vein_only_crease_overlap,
        r.pairs.none
    );
    for m in &r.per_modality {
        println!(
            "  {:<7} alone on the same pairs: EER {}",
            m.modality,
            m.eer
                .map_or("n/a".into(), |e| format!("{:.4} %", 100.0 * e))
        );
    }
    let names: Vec<_> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    println!("wrote {}/{{{}}}", args.out.display(), names.join(", "));
    Ok(())
}

/// The `--extractor` (or the modality's default), checked against the modality.
fn extractor_name(args: &Args) -> Result<String, String> {
    let name = args.extractor.clone().unwrap_or_else(|| {
        match args.modality {
            ModalityArg::Vein => "vein_bocv",
            _ => "bocv",
        }
        .into()
    });
    let vein_extractor = matches!(name.as_str(), "vein_bocv" | "max_curvature");
    if vein_extractor != (args.modality == ModalityArg::Vein) {
        return Err(format!(
            "--extractor {name} does not fit --modality {:?}: crease uses bocv, comp_code or \
             doc; vein uses vein_bocv or max_curvature",
            args.modality
        ));
    }
    Ok(name)
}

/// Extraction, comparisons and output files for any template source.
fn run_pipeline(args: &Args, templates: &Templates, label: &str) -> Result<(), String> {
    let name = extractor_name(args)?;
    let progress = Progress::new("extracting", templates.count(), true);
    let (entries, landmarks) = match name.as_str() {
        "bocv" => templates.extract(&OrientedCodeExtractor::bocv(), &progress),
        "comp_code" => templates.extract(&OrientedCodeExtractor::comp_code(), &progress),
        "doc" => templates.extract(&OrientedCodeExtractor::double_orientation(), &progress),
        "vein_bocv" => templates.extract(&OrientedCodeExtractor::vein_bocv(), &progress),
        "max_curvature" => templates.extract(&MaxCurvatureVein::default(), &progress),
        other => return Err(format!("--extractor {other}: unknown")),
    };
    let algorithm = entries
        .iter()
        .find_map(|e| e.template.as_ref().ok())
        .map_or("none".into(), |t| t.algorithm().to_string());
    let config = MatchConfig::default();
    let plan = non_mated_plan(args);
    let progress = Progress::new("comparing", 0, true);
    let result = experiment::run_comparisons(&entries, &config, plan, &progress)
        .map_err(|e| e.to_string())?;
    let setup = format!(
        "acquisition: {}; extractor: {name} ({algorithm}); matcher: shifts ±{} rows × ±{} cols (cells), min overlap {} of the cells; non-mated: {plan:?}",
        templates.describe(),
        config.max_shift_rows,
        config.max_shift_cols,
        config.min_overlap_fraction
    );
    let (report, mut written) = result
        .write_outputs(&args.out, &setup, label)
        .map_err(|e| e.to_string())?;
    if let Some(rows) = landmarks {
        let p = args.out.join("landmarks.csv");
        let f = File::create(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        frames::write_landmarks_csv(BufWriter::new(f), &rows)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p);
    }
    println!("{label}: {setup}\n{}", report.summary_table());
    let names: Vec<_> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    println!("wrote {}/{{{}}}", args.out.display(), names.join(", "));
    Ok(())
}

/// Comparisons and acquisition counts from a source.
type Comparisons = (Vec<ScoreRecord>, Option<Acquisition>, String);

fn comparisons(args: &Args) -> Result<Comparisons, String> {
    let acquisition = args
        .fta
        .map(|(f, a)| Acquisition::new(a, f).map_err(|e| format!("--fta: {e}")))
        .transpose()?;
    match &args.source {
        Source::Scores(path) => {
            let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let (format, records) =
                scores::read_any(BufReader::new(file), &ScoreReadLimits::default())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!(
                "read {} comparisons from {} ({format:?} format)",
                records.len(),
                path.display()
            );
            let label = args.label.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map_or("scores".into(), |s| s.to_string_lossy().into_owned())
            });
            Ok((records, acquisition, label))
        }
        // Image folders are evaluated by `run_images`, which `main` calls instead.
        Source::Images { .. } => Err("internal: --images is handled by run_images".into()),
        // The synthetic set is evaluated by `run_synthetic`, which `main` calls instead.
        Source::Synthetic { .. } => Err("internal: --synthetic is handled by run_synthetic".into()),
    }
}

fn write_outputs(
    args: &Args,
    records: &[ScoreRecord],
    acquisition: Option<Acquisition>,
    label: &str,
) -> Result<VerificationReport, String> {
    let out = args.out.as_path();
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = |name: &str| out.join(name);
    let create = |name: &str| {
        File::create(path(name))
            .map(BufWriter::new)
            .map_err(|e| format!("{}: {e}", path(name).display()))
    };
    scores::write_csv(create("scores.csv")?, records).map_err(|e| e.to_string())?;
    let set = ScoreSet::from_records(records).map_err(|e| e.to_string())?;
    let mut report = VerificationReport::new(&set, acquisition);
    if let Some(n) = args.bootstrap {
        fn subject(id: &str) -> &str {
            id.split('/').next().unwrap_or(id)
        }
        let b = bootstrap::bootstrap(records, subject, &STANDARD_FMR_TARGETS, n, 0.95, args.seed)
            .map_err(|e| format!("--bootstrap: {e}"))?;
        report = report.with_bootstrap(b);
    }
    std::fs::write(
        path("metrics.json"),
        report.to_json().map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", path("metrics.json").display()))?;
    write_plots(out, &set, &report, label)?;
    Ok(report)
}

#[cfg(feature = "plot")]
fn write_plots(
    out: &Path,
    set: &ScoreSet,
    report: &VerificationReport,
    label: &str,
) -> Result<(), String> {
    use openpalm::eval::plot;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes)
            .map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    let curves = [plot::DetCurve::new(label, set)];
    let e = |e: openpalm::eval::EvalError| e.to_string();
    write(
        "det.svg",
        plot::det_svg(&curves, None).map_err(e)?.as_bytes(),
    )?;
    write("det.png", &plot::det_png(&curves, None).map_err(e)?)?;
    let t = Some(report.eer.threshold);
    write(
        "histogram.svg",
        plot::histogram_svg(set, t, None).map_err(e)?.as_bytes(),
    )?;
    write(
        "histogram.png",
        &plot::histogram_png(set, t, None).map_err(e)?,
    )?;
    Ok(())
}

#[cfg(not(feature = "plot"))]
fn write_plots(_: &Path, _: &ScoreSet, _: &VerificationReport, _: &str) -> Result<(), String> {
    eprintln!("plots skipped: built without the `plot` feature");
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("error: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let run = || -> Result<(), String> {
        if let Source::Images { dir, input } = &args.source {
            return run_images(&args, dir, *input);
        }
        if let Source::Synthetic { subjects, samples } = args.source {
            return run_synthetic(&args, subjects, samples);
        }
        let (records, acquisition, label) = comparisons(&args)?;
        let report = write_outputs(&args, &records, acquisition, &label)?;
        println!("{label}\n{}", report.summary_table());
        println!(
            "wrote {}/{{scores.csv, metrics.json, det.svg, det.png, histogram.svg, histogram.png}}",
            args.out.display()
        );
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_every_mode() {
        let a = parse_args(&argv(
            "--scores s.csv --out o --fta 3/100 --bootstrap 500 --seed 9",
        ))
        .unwrap();
        assert_eq!((a.bootstrap, a.seed), (Some(500), 9));
        assert_eq!(a.source, Source::Scores("s.csv".into()));
        assert_eq!(a.fta, Some((3, 100)));
        let a = parse_args(&argv("--images d --out o --modality fused --input roi")).unwrap();
        assert_eq!(
            a.source,
            Source::Images {
                dir: "d".into(),
                input: InputKind::Roi
            }
        );
        assert_eq!(a.modality, ModalityArg::Fused);
        let a = parse_args(&argv("--synthetic 50x6 --out o")).unwrap();
        assert_eq!(
            a.source,
            Source::Synthetic {
                subjects: 50,
                samples: 6
            }
        );
        assert!(parse_args(&argv("--synthetic 50×6 --out o")).is_ok());
        for bad in [
            "--scores s.csv",
            "--out o",
            "--scores a --images b --out o",
            "--synthetic 0x6 --out o",
            "--synthetic 50 --out o",
            "--images d --out o --modality iris",
            "--scores s --out o --fta 3",
            "--scores s --out o --bootstrap 0",
            "--scores",
            "--bogus",
        ] {
            assert!(parse_args(&argv(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn fused_checks_its_options_and_synthetic_needs_its_feature() {
        let a = parse_args(&argv("--images d --input roi --modality fused --out o")).unwrap();
        let Source::Images { dir, input } = &a.source else {
            panic!()
        };
        let e = run_images(&a, dir, *input).unwrap_err();
        assert!(e.contains("--input frame"), "{e}");
        let a = parse_args(&argv("--images d --modality fused --extractor doc --out o")).unwrap();
        let Source::Images { dir, input } = &a.source else {
            panic!()
        };
        let e = run_images(&a, dir, *input).unwrap_err();
        assert!(e.contains("pipeline's extractors"), "{e}");
        let a = parse_args(&argv(
            "--images d --modality fused --fusion-params pipeline --out o",
        ))
        .unwrap();
        assert!(!a.fusion_development);
        assert!(parse_args(&argv("--images d --out o --fusion-params x")).is_err());
        // Too few subjects for a development split is a typed error, not a panic.
        let a = parse_args(&argv("--synthetic 3x2 --modality fused --out o")).unwrap();
        let e = run_synthetic(&a, 3, 2).unwrap_err();
        if cfg!(feature = "synth") {
            assert!(e.contains("at least 4"), "{e}");
        } else {
            assert!(e.contains("--features synth"), "{e}");
        }
        // --input frame (the default) is a real acquisition now: a missing folder is a
        // dataset error, not "not yet available".
        let a = parse_args(&argv("--images /nonexistent/openpalm --out o")).unwrap();
        let Source::Images { dir, input } = &a.source else {
            panic!()
        };
        assert_eq!(*input, InputKind::Frame);
        let e = run_images(&a, dir, *input).unwrap_err();
        assert!(e.contains("nonexistent"), "{e}");
    }

    #[test]
    fn roi_options_parse_and_check() {
        let a = parse_args(&argv(
            "--images d --input roi --out o --modality vein --extractor max_curvature --non-mated 500 --seed 3",
        ))
        .unwrap();
        assert_eq!(
            (a.extractor.as_deref(), a.non_mated, a.seed),
            (Some("max_curvature"), Some(500), 3)
        );
        assert_eq!(
            parse_args(&argv("--images d --out o --non-mated all"))
                .unwrap()
                .non_mated,
            None
        );
        for bad in ["--non-mated 0", "--non-mated x", "--extractor sift"] {
            assert!(
                parse_args(&argv(&format!("--images d --out o {bad}"))).is_err(),
                "{bad}"
            );
        }
        let a = parse_args(&argv(
            "--images d --input roi --out o --extractor vein_bocv",
        ))
        .unwrap();
        let Source::Images { dir, input } = &a.source else {
            panic!()
        };
        assert!(
            run_images(&a, dir, *input)
                .unwrap_err()
                .contains("does not fit")
        );
    }
}

/// The non-mated pairs `--non-mated` asks for: all, or a seeded sample of `count`.
fn non_mated_plan(args: &Args) -> NonMatedPlan {
    match args.non_mated {
        None => NonMatedPlan::All,
        Some(count) => NonMatedPlan::Sample {
            count,
            seed: args.seed,
        },
    }
}
