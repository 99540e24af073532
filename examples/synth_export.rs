//! Writes a synthetic data set as an image folder for `evaluate --images`.
//!
//! ```text
//! cargo run --release --features synth --example synth_export -- --synthetic NxM --out DIR [--modality crease|vein|fused]
//! ```
//!
//! `--modality fused` writes both frames of each capture, `DIR/s{subject:05}/{sample:03}_vis.png`
//! and `{sample:03}_nir.png`, the pairs `evaluate --modality fused` reads.
//!
//! Writes `DIR/s{subject:05}/{sample:03}.png`: N identities (seeds 0..N) × M samples (seeds
//! 0..M) of `openpalm::synth` with the default `CaptureOptions`, the visible gray frame for
//! `crease` (default) or the NIR frame for `vein`, as 8-bit gray lossless PNG. These are the
//! frames `evaluate --synthetic NxM` generates in process, so
//! `evaluate --images DIR --modality X` and `evaluate --synthetic NxM --modality X` give the same
//! `scores.csv` and EER.

use std::path::PathBuf;
use std::process::ExitCode;

use openpalm::eval::experiment::Progress;
use openpalm::eval::frames::{SyntheticChannelKind, SyntheticSet};

const USAGE: &str =
    "usage: synth_export --synthetic N_SUBJECTSxN_SAMPLES --out DIR [--modality crease|vein|fused]";

/// `None`: both frames (fused).
type Channel = Option<SyntheticChannelKind>;

fn parse(argv: &[String]) -> Result<(u32, u32, PathBuf, Channel), String> {
    let (mut set, mut out, mut channel) = (None, None, Some(SyntheticChannelKind::Visible));
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--synthetic" => {
                let (a, b) = value
                    .split_once(['x', 'X', '×'])
                    .ok_or_else(|| format!("--synthetic {value}: expected NxM, e.g. 20x4"))?;
                let n = |s: &str| {
                    s.parse::<u32>()
                        .map_err(|_| format!("--synthetic {value}: `{s}` is not a number"))
                };
                set = Some((n(a)?, n(b)?));
            }
            "--out" => out = Some(PathBuf::from(value)),
            "--modality" => {
                channel = match value.as_str() {
                    "crease" => Some(SyntheticChannelKind::Visible),
                    "vein" => Some(SyntheticChannelKind::NearInfrared),
                    "fused" => None,
                    other => {
                        return Err(format!(
                            "--modality {other}: expected crease, vein or fused"
                        ));
                    }
                }
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let (n, m) = set.ok_or("--synthetic NxM is needed")?;
    Ok((n, m, out.ok_or("--out DIR is needed")?, channel))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let run = || -> Result<(), String> {
        let (n, m, out, channel) = parse(&argv)?;
        let set = SyntheticSet::new(n, m).map_err(|e| e.to_string())?;
        let progress = Progress::new("writing", u64::from(n) * u64::from(m), true);
        let written = match channel {
            Some(c) => set.export(&out, c, &progress),
            None => set.export_fused(&out, &progress),
        }
        .map_err(|e| format!("{}: {e}", out.display()))?;
        println!("wrote {written} {channel:?} frames to {}", out.display());
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}
