//! Shows what every pipeline stage produced for one presentation: runs the default pipeline
//! with a [`FolderSink`] and lists the PNG and JSON files it wrote (keys in
//! `openpalm::pipeline::trace`).
//!
//! ```text
//! cargo run --release --features synth --example inspect -- --synthetic 4:0 --out target/inspect
//! cargo run --release --example inspect -- --visible hand.png --nir hand-nir.png \
//!     [--reference-visible other.png] [--reference-nir other-nir.png] --out target/inspect
//! ```
//!
//! Options:
//! - `--synthetic ID:SAMPLE`: the probe is capture `SAMPLE` of synthetic identity `ID` (feature
//!   `synth`); it is compared with an enrolment of the same identity from the three captures
//!   after it (`--reference ID:S1,S2,…` picks other ones, e.g. another identity's).
//! - `--visible PATH`, `--nir PATH`: the probe from image files (either may be omitted); with
//!   `--reference-visible` / `--reference-nir` it is compared with a second capture, taken as
//!   a one-capture enrolment.
//! - `--out DIR` (default `target/inspect`): `DIR/probe/` holds the probe's stages,
//!   `DIR/enrolment/` the enrolment's (keys `capture-N.…` and the consistency pairs), and `DIR/`
//!   the comparison keys (`crease.comparison.reference-N`, `crease.score`, …, `decision`).
//! - `--only STAGE,STAGE`: write only these stages (`frame`, `hand-mask`, `landmarks`,
//!   `quality`, `roi`, `roi-mask`, `code-planes`, `consistency`, `comparison`, `score`,
//!   `decision`).
//!
//! A stage that fails (no hand found, quality rejected) is reported after the files written up
//! to that point — the frame and the hand mask usually show why.

use std::path::PathBuf;
use std::process::ExitCode;

use openpalm::pipeline::{Enrolment, FolderSink, Presentation, Stage};
use openpalm::sensor::ImageFileSensor;
use openpalm::{Frame, Pipeline, Spectrum};

const NIR: Spectrum = Spectrum::NearInfrared { wavelength_nm: 850 };

#[derive(Default)]
struct Args {
    synthetic: Option<(u64, u64)>,
    reference_synthetic: Option<(u64, Vec<u64>)>,
    visible: Option<PathBuf>,
    nir: Option<PathBuf>,
    reference_visible: Option<PathBuf>,
    reference_nir: Option<PathBuf>,
    out: Option<PathBuf>,
    only: Option<Vec<Stage>>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--synthetic" => {
                let v = value()?;
                let (id, s) = v
                    .split_once(':')
                    .ok_or(format!("--synthetic {v}: expected ID:SAMPLE"))?;
                let num = |x: &str| {
                    x.parse::<u64>()
                        .map_err(|e| format!("--synthetic {v}: {e}"))
                };
                a.synthetic = Some((num(id)?, num(s)?));
            }
            "--reference" => {
                let v = value()?;
                let (id, s) = v
                    .split_once(':')
                    .ok_or(format!("--reference {v}: expected ID:S1,S2,…"))?;
                let num = |x: &str| {
                    x.parse::<u64>()
                        .map_err(|e| format!("--reference {v}: {e}"))
                };
                let samples = s.split(',').map(num).collect::<Result<Vec<_>, _>>()?;
                a.reference_synthetic = Some((num(id)?, samples));
            }
            "--visible" => a.visible = Some(value()?.into()),
            "--nir" => a.nir = Some(value()?.into()),
            "--reference-visible" => a.reference_visible = Some(value()?.into()),
            "--reference-nir" => a.reference_nir = Some(value()?.into()),
            "--out" => a.out = Some(value()?.into()),
            "--only" => {
                let v = value()?;
                let stages = v
                    .split(',')
                    .map(|s| {
                        Stage::from_name(s.trim()).ok_or(format!("--only: unknown stage {s:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                a.only = Some(stages);
            }
            "-h" | "--help" => {
                return Err(
                    "usage: inspect [--synthetic ID:SAMPLE [--reference ID:S1,S2,…]] \
                            [--visible PATH] [--nir PATH] [--reference-visible PATH] \
                            [--reference-nir PATH] [--out DIR] [--only STAGE,…]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let files = a.visible.is_some() || a.nir.is_some();
    if files && a.synthetic.is_some() {
        return Err("give either --synthetic or --visible/--nir, not both".into());
    }
    if !files && a.synthetic.is_none() {
        a.synthetic = Some((4, 0));
    }
    Ok(a)
}

fn load(path: &PathBuf, spectrum: Spectrum) -> Result<Frame, String> {
    ImageFileSensor::from_paths([path], spectrum)
        .next_frame()
        .map(|(_, f)| f)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn load_pair(
    v: &Option<PathBuf>,
    n: &Option<PathBuf>,
) -> Result<(Option<Frame>, Option<Frame>), String> {
    Ok((
        v.as_ref().map(|p| load(p, Spectrum::Visible)).transpose()?,
        n.as_ref().map(|p| load(p, NIR)).transpose()?,
    ))
}

/// The visible and NIR frames of synthetic capture `sample` of identity `id`.
#[cfg(feature = "synth")]
fn synthetic(id: u64, sample: u64) -> Result<(Option<Frame>, Option<Frame>), String> {
    use openpalm::synth::{CaptureOptions, Generator, Identity};
    let g = Generator::new(CaptureOptions::default()).map_err(|e| e.to_string())?;
    let c = g.capture(&Identity::from_seed(id), sample);
    let v = Frame::from_gray8(c.visible, Spectrum::Visible).map_err(|e| e.to_string())?;
    let n = Frame::from_gray8(c.nir, NIR).map_err(|e| e.to_string())?;
    Ok((Some(v), Some(n)))
}

#[cfg(not(feature = "synth"))]
fn synthetic(_id: u64, _sample: u64) -> Result<(Option<Frame>, Option<Frame>), String> {
    Err(
        "--synthetic needs the `synth` feature: cargo run --features synth --example inspect"
            .into(),
    )
}

fn presentation(frames: &(Option<Frame>, Option<Frame>)) -> Presentation<'_> {
    Presentation {
        visible: frames.0.as_ref(),
        nir: frames.1.as_ref(),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inspect: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let out = args.out.clone().unwrap_or_else(|| "target/inspect".into());
    let mut sink = FolderSink::new(&out).map_err(|e| e.to_string())?;
    if let Some(only) = &args.only {
        sink = sink.only(only);
    }
    let mut pipeline = Pipeline::default();

    // The probe and what to compare it with.
    let (probe_frames, reference_frames): (_, Vec<_>) = match args.synthetic {
        Some((id, sample)) => {
            let (rid, samples) = args
                .reference_synthetic
                .clone()
                .unwrap_or((id, (sample + 1..sample + 4).collect()));
            println!(
                "probe: synthetic identity {id}, capture {sample}; enrolment: identity {rid}, captures {samples:?}"
            );
            let refs = samples
                .iter()
                .map(|&s| synthetic(rid, s))
                .collect::<Result<_, _>>()?;
            (synthetic(id, sample)?, refs)
        }
        None => {
            let probe = load_pair(&args.visible, &args.nir)?;
            let reference = load_pair(&args.reference_visible, &args.reference_nir)?;
            let refs = if reference.0.is_some() || reference.1.is_some() {
                vec![reference]
            } else {
                Vec::new()
            };
            (probe, refs)
        }
    };

    let mut failure = None;
    sink.set_subfolder(Some("probe"))
        .map_err(|e| e.to_string())?;
    let probe = pipeline
        .extract_traced(&presentation(&probe_frames), &mut sink)
        .map_err(|e| failure = Some(format!("probe: {e}")))
        .ok();

    let mut enrolment = None;
    if !reference_frames.is_empty() {
        sink.set_subfolder(Some("enrolment"))
            .map_err(|e| e.to_string())?;
        let pres: Vec<Presentation<'_>> = reference_frames.iter().map(presentation).collect();
        let enrolled = if pres.len() == 1 {
            // One capture (files): no consistency check, a one-reference enrolment.
            pipeline.extract_traced(&pres[0], &mut sink).and_then(|t| {
                Enrolment::from_references(
                    t.crease.into_iter().collect(),
                    t.vein.into_iter().collect(),
                )
            })
        } else {
            pipeline.enrol_traced(&pres, &mut sink)
        };
        match enrolled {
            Ok(e) => enrolment = Some(e),
            Err(e) => failure = failure.or(Some(format!("enrolment: {e}"))),
        }
    }

    sink.set_subfolder(None).map_err(|e| e.to_string())?;
    let decision = match (&probe, &enrolment) {
        (Some(p), Some(e)) => match pipeline.verify_traced(p, e, &mut sink) {
            Ok(d) => Some(d),
            Err(e) => {
                failure = failure.or(Some(format!("verify: {e}")));
                None
            }
        },
        _ => None,
    };

    let root = sink.root().to_path_buf();
    let (written, errors) = match sink.finish() {
        Ok(w) => (w, Vec::new()),
        Err(e) => (e.written, e.failures),
    };
    println!("wrote {} files under {}:", written.len(), root.display());
    for path in &written {
        println!("  {}", path.strip_prefix(&root).unwrap_or(path).display());
    }
    if let Some(p) = &probe {
        for (name, q) in [("crease", &p.crease_quality), ("vein", &p.vein_quality)] {
            if let Some(q) = q {
                println!(
                    "probe {name}: valley distance {:.1} px, inside {:.3}, focus {:.3}, contrast {:.1}",
                    q.valley_distance_px, q.inside_fraction, q.focus, q.contrast
                );
            }
        }
    }
    if let Some(d) = decision {
        for (name, s) in [("crease", d.crease), ("vein", d.vein)] {
            match s.as_ref().and_then(|s| s.comparison()) {
                Some(c) => println!(
                    "{name}: distance {:.4}, overlap {} cells, shift ({}, {})",
                    c.distance, c.overlap_cells, c.shift.dy, c.shift.dx
                ),
                None if s.is_some() => println!("{name}: insufficient overlap"),
                None => {}
            }
        }
        match d.fused_score {
            Some(f) => println!(
                "decision: {:?} (fused score {f:.2}, threshold {:.2})",
                d.verdict, d.min_fused_score
            ),
            None => println!("decision: {:?}", d.verdict),
        }
    }
    for e in &errors {
        eprintln!("not written: {e}");
    }
    match (failure, errors.len()) {
        (Some(f), _) => Err(f),
        (None, 0) => Ok(()),
        (None, n) => Err(format!("{n} trace file(s) could not be written")),
    }
}
