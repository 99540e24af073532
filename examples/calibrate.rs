//! Measures the calibration table behind `Threshold::fmr` and writes it as Rust data
//! (`src/pipeline/calibration_data.rs`) and as JSON with the data-set description
//! (`testdata/calibration/calibration.json`). Also prints the fusion-rule comparison, the
//! enrolment consistency bounds and the FPIR-vs-gallery-size check.
//!
//! ```text
//! cargo run --release --features synth --example calibrate -- [--subjects N] [--dry-run]
//! ```
//!
//! Data: `N` synthetic identities (seeds `3_000_000..3_000_000 + N`, disjoint from the seeds the
//! fusion parameters were fitted on, `500_000..`, and from the demo's) × 4 captures
//! (samples 0–3), default capture options, each frame through the default [`Pipeline`]
//! (ROI detection, BOCV crease / maximum-curvature vein). Comparisons, per modality the best
//! distance over the enrolment's references, fused with [`FusionConfig::default`] (the rule the
//! pipeline decides with, [`FusionConfig::fuse`]):
//!
//! - non-mated: every capture of identity `i` against the enrolment (samples 0–2) of every
//!   identity `j ≠ i`: `4 N (N − 1)` comparisons;
//! - mated: each capture `k` of identity `i` against the enrolment made of `i`'s other three
//!   captures: `4 N` comparisons.
//!
//! A capture that fails to acquire in a modality is missing from that modality only.

use std::fmt::Write as _;
use std::time::Instant;

use openpalm::eval::{FnmrAtFmr, ScoreSet};
use openpalm::matching::{MatchConfig, Matcher};
use openpalm::pipeline::calibration::{
    CALIBRATED_FMR_LEVELS, CalibrationPoint, CalibrationTable, CapturePairCalibration,
    ScoreCalibration, fpir_for_fmr,
};
use openpalm::pipeline::{FusionConfig, Presentation};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, PalmTemplate, Pipeline, Spectrum};
use rayon::prelude::*;
use serde_json::json;

const FIRST_SEED: u64 = 3_000_000;
const SAMPLES: usize = 4;
const ENROLMENT: usize = 3;

type Templates = [Option<PalmTemplate>; 2];

/// A fusion rule: (fusion parameters, crease distance, vein distance) → score, higher = more
/// similar.
type Rule = fn(&FusionConfig, f64, f64) -> f64;

fn acquire(subjects: u64) -> Vec<Templates> {
    let generator = Generator::new(CaptureOptions::default()).expect("default options");
    let per_identity: Vec<Vec<Templates>> = (0..subjects)
        .into_par_iter()
        .map_init(Pipeline::default, |pipeline, i| {
            let identity = Identity::from_seed(FIRST_SEED + i);
            (0..SAMPLES as u64)
                .map(|k| {
                    let c = generator.capture(&identity, k);
                    let v = Frame::from_gray8(c.visible, Spectrum::Visible).expect("frame");
                    let n = Frame::from_gray8(c.nir, Spectrum::NearInfrared { wavelength_nm: 850 })
                        .expect("frame");
                    let crease = pipeline
                        .extract(&Presentation::visible_only(&v))
                        .ok()
                        .and_then(|t| t.crease);
                    let vein = pipeline
                        .extract(&Presentation::nir_only(&n))
                        .ok()
                        .and_then(|t| t.vein);
                    [crease, vein]
                })
                .collect()
        })
        .collect();
    per_identity.into_iter().flatten().collect()
}

/// Per modality: `best[p * n + j]` = best distance of probe capture `p` against the enrolment
/// of identity `j` (NaN: not compared), and the single capture-pair distances.
struct Distances {
    best: Vec<f64>,
    pair_mated: Vec<f64>,
    pair_non_mated: Vec<f64>,
}

fn distances(templates: &[Templates], m: usize, n: usize, config: &MatchConfig) -> Distances {
    let rows: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = (0..templates.len())
        .into_par_iter()
        .map(|p| {
            let (i, k) = (p / SAMPLES, p % SAMPLES);
            let mut best = vec![f64::NAN; n];
            let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
            let Some(probe) = &templates[p][m] else {
                return (best, mated, non_mated);
            };
            let matcher = Matcher::new(probe, config).expect("same algorithm");
            for (j, b) in best.iter_mut().enumerate() {
                let mut d = [f64::NAN; SAMPLES];
                for (r, dr) in d.iter_mut().enumerate() {
                    if j == i && r == k {
                        continue;
                    }
                    if let Some(t) = &templates[j * SAMPLES + r][m] {
                        let outcome = matcher.compare(t).expect("comparable");
                        *dr = outcome.distance().unwrap_or(f64::NAN);
                    }
                }
                // Enrolment: samples 0..3 of j; for j == i, i's three other captures.
                let refs: Vec<f64> = if j == i {
                    (0..SAMPLES).filter(|&r| r != k).map(|r| d[r]).collect()
                } else {
                    d[..ENROLMENT].to_vec()
                };
                *b = refs
                    .into_iter()
                    .filter(|x| !x.is_nan())
                    .fold(f64::NAN, f64::min);
                // Capture pairs, each unordered pair once.
                for (r, &x) in d.iter().enumerate() {
                    if x.is_nan() {
                        continue;
                    }
                    if j == i && r > k {
                        mated.push(x);
                    } else if j > i {
                        non_mated.push(x);
                    }
                }
            }
            (best, mated, non_mated)
        })
        .collect();
    let mut out = Distances {
        best: Vec::with_capacity(templates.len() * n),
        pair_mated: Vec::new(),
        pair_non_mated: Vec::new(),
    };
    for (b, m, nm) in rows {
        out.best.extend(b);
        out.pair_mated.extend(m);
        out.pair_non_mated.extend(nm);
    }
    out
}

/// Calibration of a score where higher = more similar: `ScoreSet` over negated scores.
fn calibrate_scores(mated: &[f64], non_mated: &[f64]) -> ScoreCalibration {
    let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<_>>();
    let set = ScoreSet::new(neg(mated), neg(non_mated)).expect("finite, non-empty");
    calibration(&set, true)
}

fn calibration(set: &ScoreSet, negated: bool) -> ScoreCalibration {
    let points =
        CALIBRATED_FMR_LEVELS.map(
            |level| match set.fnmr_at_fmr(level).expect("level in (0, 1]") {
                FnmrAtFmr::Supported { point, .. } => CalibrationPoint::Measured {
                    target_fmr: level,
                    threshold: if negated {
                        -point.threshold
                    } else {
                        point.threshold
                    },
                    false_matches: point.false_matches,
                    fmr: point.fmr,
                    fnmr: point.fnmr,
                },
                FnmrAtFmr::NotSupported {
                    non_mated, needed, ..
                } => CalibrationPoint::NotSupported {
                    target_fmr: level,
                    non_mated,
                    needed,
                },
            },
        );
    ScoreCalibration {
        mated: set.mated().len() as u64,
        non_mated: set.non_mated().len() as u64,
        eer: set.eer().eer,
        points,
    }
}

fn summary(set: &ScoreSet) -> serde_json::Value {
    let f = |l: f64| set.fnmr_at_fmr(l).expect("level").fnmr();
    json!({
        "eer": set.eer().eer,
        "fnmr_at_fmr_1e-3": f(1e-3),
        "fnmr_at_fmr_1e-4": f(1e-4),
        "fnmr_at_fmr_1e-5": f(1e-5),
        "fnmr_at_fmr_1e-6": f(1e-6),
        "mated": set.mated().len(),
        "non_mated": set.non_mated().len(),
    })
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/s".into(), |x| format!("{:.3}%", 100.0 * x))
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut subjects = 1000u64;
    let mut dry_run = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--subjects" => subjects = args.next().ok_or("--subjects N")?.parse()?,
            "--dry-run" => dry_run = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if subjects < 4 {
        return Err("--subjects must be ≥ 4".into());
    }
    let n = subjects as usize;
    let command = format!(
        "cargo run --release --features synth --example calibrate -- --subjects {subjects}"
    );
    let t0 = Instant::now();
    let templates = acquire(subjects);
    let t_acquire = t0.elapsed().as_secs_f64();
    let fta = [0, 1].map(|m| templates.iter().filter(|t| t[m].is_none()).count());
    eprintln!(
        "acquired {} captures in {t_acquire:.1} s; FTA crease {}, vein {}",
        templates.len(),
        fta[0],
        fta[1]
    );
    let algorithms: Vec<String> = [0, 1]
        .map(|m| {
            templates
                .iter()
                .find_map(|t| t[m].as_ref())
                .map(|t| {
                    let a = t.algorithm();
                    format!("{} algorithm {} v{}", t.modality(), a.id, a.version)
                })
                .unwrap_or_default()
        })
        .to_vec();

    let t1 = Instant::now();
    let config = MatchConfig::default();
    let d = [0, 1].map(|m| distances(&templates, m, n, &config));
    let t_match = t1.elapsed().as_secs_f64();
    eprintln!("compared in {t_match:.1} s");

    // Scores per comparison (probe p, enrolment j).
    let fusion = FusionConfig::default();
    let mut crease = (Vec::new(), Vec::new());
    let mut vein = (Vec::new(), Vec::new());
    let mut fused = (Vec::new(), Vec::new());
    // Fusion-rule comparison, on comparisons where both modalities were compared.
    let rules: [(&str, Rule); 7] = [
        ("crease alone", |f, c, _| f.crease.z(c)),
        ("vein alone", |f, _, v| f.vein.z(v)),
        ("z-score, weights ∝ d′ (pipeline)", |f, c, v| {
            f.fuse(Some(c), Some(v)).expect("weights > 0")
        }),
        ("z-score, equal weights", |f, c, v| {
            0.5 * (f.crease.z(c) + f.vein.z(v))
        }),
        ("max of z (either modality)", |f, c, v| {
            f.crease.z(c).max(f.vein.z(v))
        }),
        ("min of z (both modalities)", |f, c, v| {
            f.crease.z(c).min(f.vein.z(v))
        }),
        ("mean raw distance", |_, c, v| -0.5 * (c + v)),
    ];
    let mut rule_scores: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); rules.len()];
    // For the FPIR check: fused scores of the last sample of every identity (probe) against
    // every enrolment, both modalities compared, else NaN.
    let mut probe_vs_enrolment = vec![f64::NAN; n * n];
    for p in 0..templates.len() {
        let i = p / SAMPLES;
        for j in 0..n {
            let (dc, dv) = (d[0].best[p * n + j], d[1].best[p * n + j]);
            let mated = i == j;
            let push = |set: &mut (Vec<f64>, Vec<f64>), s: f64| {
                if mated { set.0.push(s) } else { set.1.push(s) }
            };
            if !dc.is_nan() {
                push(&mut crease, fusion.fuse(Some(dc), None).expect("weight"));
            }
            if !dv.is_nan() {
                push(&mut vein, fusion.fuse(None, Some(dv)).expect("weight"));
            }
            if !dc.is_nan() && !dv.is_nan() {
                let s = fusion.fuse(Some(dc), Some(dv)).expect("weight");
                push(&mut fused, s);
                for (r, (_, f)) in rules.iter().enumerate() {
                    push(&mut rule_scores[r], f(&fusion, dc, dv));
                }
                if p % SAMPLES == SAMPLES - 1 {
                    probe_vs_enrolment[i * n + j] = s;
                }
            }
        }
    }
    let table = CalibrationTable {
        crease: calibrate_scores(&crease.0, &crease.1),
        vein: calibrate_scores(&vein.0, &vein.1),
        fused: calibrate_scores(&fused.0, &fused.1),
        capture_pairs: CapturePairCalibration {
            crease: calibration(
                &ScoreSet::new(d[0].pair_mated.clone(), d[0].pair_non_mated.clone())?,
                false,
            ),
            vein: calibration(
                &ScoreSet::new(d[1].pair_mated.clone(), d[1].pair_non_mated.clone())?,
                false,
            ),
        },
    };

    // ---- Report: calibration table.
    println!(
        "calibration: {n} identities × {SAMPLES} captures (seeds {FIRST_SEED}..), {:.0} s acquisition + {:.0} s comparison",
        t_acquire, t_match
    );
    println!(
        "FTA: crease {} / {}, vein {} / {}",
        fta[0],
        templates.len(),
        fta[1],
        templates.len()
    );
    for (name, s) in [
        ("crease alone", &table.crease),
        ("vein alone", &table.vein),
        ("crease + vein fused", &table.fused),
        (
            "capture pairs, crease (distance)",
            &table.capture_pairs.crease,
        ),
        ("capture pairs, vein (distance)", &table.capture_pairs.vein),
    ] {
        println!(
            "\n{name}: {} mated, {} non-mated, EER {:.3}%",
            s.mated,
            s.non_mated,
            100.0 * s.eer
        );
        for p in &s.points {
            match *p {
                CalibrationPoint::Measured {
                    target_fmr,
                    threshold,
                    false_matches,
                    fmr,
                    fnmr,
                } => println!(
                    "  FMR {target_fmr:.0e}: threshold {threshold:.4}  false matches {false_matches} (FMR {fmr:.2e})  FNMR {:.3}%",
                    100.0 * fnmr
                ),
                CalibrationPoint::NotSupported {
                    target_fmr,
                    non_mated,
                    needed,
                } => println!(
                    "  FMR {target_fmr:.0e}: not supported ({non_mated} of {needed} non-mated needed)"
                ),
            }
        }
    }

    // ---- Fusion rules.
    println!("\nfusion rules, comparisons with both modalities compared:");
    println!(
        "{:<34} {:>8} {:>12} {:>12} {:>12} {:>12}",
        "rule", "EER", "FNMR@1e-3", "FNMR@1e-4", "FNMR@1e-5", "FNMR@1e-6"
    );
    let mut rule_json = Vec::new();
    for ((name, _), (mated, non_mated)) in rules.iter().zip(&rule_scores) {
        let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<_>>();
        let set = ScoreSet::new(neg(mated), neg(non_mated))?;
        let f = |l: f64| set.fnmr_at_fmr(l).expect("level").fnmr();
        println!(
            "{:<34} {:>7.3}% {:>12} {:>12} {:>12} {:>12}",
            name,
            100.0 * set.eer().eer,
            pct(f(1e-3)),
            pct(f(1e-4)),
            pct(f(1e-5)),
            pct(f(1e-6))
        );
        let mut v = summary(&set);
        v["rule"] = json!(name);
        rule_json.push(v);
    }

    // ---- Distance distributions and consistency bounds.
    let mut consistency_json = Vec::new();
    println!("\ncapture-pair distances and enrolment consistency (samples 0–2 of each identity):");
    for (m, name) in ["crease", "vein"].iter().enumerate() {
        let (mm, ms) = mean_std(&d[m].pair_mated);
        let (nm, ns) = mean_std(&d[m].pair_non_mated);
        let min_nm = d[m]
            .pair_non_mated
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        println!(
            "{name}: mated {mm:.4} ± {ms:.4} (n {}), non-mated {nm:.4} ± {ns:.4} (n {}, min {min_nm:.4})",
            d[m].pair_mated.len(),
            d[m].pair_non_mated.len()
        );
        let pairs = ScoreSet::new(d[m].pair_mated.clone(), d[m].pair_non_mated.clone())?;
        // Enrolment false rejects at a bound: identities whose three enrolment captures (all
        // acquired) have a pair above the bound.
        let enrolment_frr = |bound: f64| {
            let mut tried = 0u32;
            let mut rejected = 0u32;
            for i in 0..n {
                let caps: Vec<&PalmTemplate> = (0..ENROLMENT)
                    .filter_map(|r| templates[i * SAMPLES + r][m].as_ref())
                    .collect();
                if caps.len() < ENROLMENT {
                    continue;
                }
                tried += 1;
                let mut bad = false;
                for a in 0..ENROLMENT {
                    let matcher = Matcher::new(caps[a], &config).expect("comparable");
                    for b in caps.iter().skip(a + 1) {
                        let ok = matcher
                            .compare(b)
                            .expect("comparable")
                            .distance()
                            .is_some_and(|x| x <= bound);
                        bad |= !ok;
                    }
                }
                rejected += u32::from(bad);
            }
            (rejected, tried)
        };
        let mut bounds: Vec<(String, f64)> =
            vec![("previous default".into(), if m == 0 { 0.40 } else { 0.37 })];
        for p in &table.capture_pairs.crease.points {
            let s = if m == 0 {
                &table.capture_pairs.crease
            } else {
                &table.capture_pairs.vein
            };
            if let Some(t) = s
                .point_for(p.target_fmr())
                .and_then(CalibrationPoint::threshold)
            {
                bounds.push((format!("pair FMR {:.0e}", p.target_fmr()), t));
            }
        }
        for (label, bound) in bounds {
            let (rej, tried) = enrolment_frr(bound);
            let op = pairs.operating_point(bound);
            println!(
                "  bound {bound:.4} ({label}): pair FMR {:.2e} ({} of {}), pair FNMR {:.3}%, enrolments rejected {rej} of {tried}",
                op.fmr,
                op.false_matches,
                d[m].pair_non_mated.len(),
                100.0 * op.fnmr
            );
            consistency_json.push(json!({
                "modality": name, "bound": bound, "label": label,
                "pair_fmr": op.fmr, "pair_false_matches": op.false_matches,
                "pair_fnmr": op.fnmr, "enrolments_rejected": rej, "enrolments_tried": tried,
            }));
        }
    }

    // ---- FPIR vs gallery size: the last capture of identities n/2.. (never enrolled in the
    // galleries made of identities 0..G) against galleries of G = n/10 and n/2 subjects.
    let mut fpir_json = Vec::new();
    println!(
        "\nFPIR check: never-enrolled probes (identities {}..{n}, sample 3) vs galleries of the first G identities:",
        n / 2
    );
    for g in [n / 10, n / 2] {
        for level in [1e-2, 1e-3, 1e-4] {
            let Some(CalibrationPoint::Measured { threshold, fmr, .. }) =
                table.fused.point_for(level).copied()
            else {
                continue;
            };
            let (mut probes, mut false_pos) = (0u32, 0u32);
            for i in n / 2..n {
                let row = &probe_vs_enrolment[i * n..i * n + g];
                if row.iter().all(|s| s.is_nan()) {
                    continue;
                }
                probes += 1;
                false_pos += u32::from(row.iter().any(|&s| s >= threshold));
            }
            let measured = f64::from(false_pos) / f64::from(probes.max(1));
            println!(
                "  G {g:>5}, FMR level {level:.0e} (measured {fmr:.2e}): FPIR {measured:.4} ({false_pos} of {probes}); predicted 1−(1−FMR)^G {:.4} at the level, {:.4} at the measured FMR",
                fpir_for_fmr(level, g as u64),
                fpir_for_fmr(fmr, g as u64)
            );
            fpir_json.push(json!({
                "gallery_size": g, "fmr_level": level, "measured_fmr": fmr,
                "probes": probes, "false_positives": false_pos, "fpir": measured,
                "predicted_fpir_at_level": fpir_for_fmr(level, g as u64),
                "predicted_fpir_at_measured_fmr": fpir_for_fmr(fmr, g as u64),
            }));
        }
    }

    if dry_run {
        eprintln!("--dry-run: nothing written");
        return Ok(());
    }
    let dataset = format!(
        "{n} synthetic identities (openpalm::synth, seeds {FIRST_SEED}..{}) × {SAMPLES} captures \
         (samples 0–3), CaptureOptions::default(), 640×480 visible + NIR; default Pipeline \
         ({}; {}); MatchConfig::default(); FusionConfig::default(). Non-mated: every capture \
         against the enrolment (samples 0–2) of every other identity; mated: each capture \
         against the enrolment of its identity's three other captures; per modality the best \
         distance over the references. Capture pairs: single distances, each unordered pair \
         once. FTA: crease {} / {}, vein {} / {} captures (missing from that modality only).",
        FIRST_SEED + subjects,
        algorithms[0],
        algorithms[1],
        fta[0],
        templates.len(),
        fta[1],
        templates.len()
    );
    let generator = format!(
        "openpalm {} (synth generator of this crate version; frozen by testdata/synth golden files)",
        env!("CARGO_PKG_VERSION")
    );
    let doc = json!({
        "description": "Calibration of the fused-score threshold behind Threshold::fmr \
                        (openpalm::pipeline::calibration). Table thresholds: minimum fused \
                        score (z units) for crease/vein/fused, maximum distance for capture_pairs.",
        "dataset": dataset,
        "generator_version": generator,
        "command": command,
        "table": table,
        "fusion_rules": rule_json,
        "consistency": consistency_json,
        "fpir_check": fpir_json,
        "distributions": {
            "crease_pairs_mated_mean_std": mean_std(&d[0].pair_mated),
            "crease_pairs_non_mated_mean_std": mean_std(&d[0].pair_non_mated),
            "vein_pairs_mated_mean_std": mean_std(&d[1].pair_mated),
            "vein_pairs_non_mated_mean_std": mean_std(&d[1].pair_non_mated),
        },
        "seconds": { "acquisition": t_acquire, "comparison": t_match },
    });
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        format!("{root}/testdata/calibration/calibration.json"),
        serde_json::to_string_pretty(&doc)? + "\n",
    )?;
    std::fs::write(
        format!("{root}/src/pipeline/calibration_data.rs"),
        rust_source(&table, &dataset, &generator, &command, &fusion),
    )?;
    eprintln!(
        "wrote testdata/calibration/calibration.json and src/pipeline/calibration_data.rs (run cargo fmt)"
    );
    Ok(())
}

fn rust_source(
    table: &CalibrationTable,
    dataset: &str,
    generator: &str,
    command: &str,
    fusion: &FusionConfig,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "//! Generated by `{command}`; do not edit by hand.\n\n\
         #[allow(unused_imports)]\n\
         use super::CalibrationPoint::{{Measured, NotSupported}};\n\
         use super::{{CalibrationTable, CapturePairCalibration, ScoreCalibration}};\n\n\
         /// The calibration table of the default pipeline, measured on synthetic data.\n///"
    );
    let _ = writeln!(
        s,
        "/// Minimum fused score (z units) per target FMR; for a single modality also the\n\
         /// equivalent fractional Hamming distance `μ − σ · score` (accept at or below it).\n\
         /// FNMR: mated probe-vs-enrolment comparisons rejected at that threshold.\n///\n\
         /// | target FMR | crease alone | vein alone | crease + vein fused |\n\
         /// |---|---|---|---|"
    );
    for (k, level) in CALIBRATED_FMR_LEVELS.iter().enumerate() {
        let cell = |s: &ScoreCalibration, m: Option<&openpalm::pipeline::ModalityFusion>| match s
            .points[k]
        {
            CalibrationPoint::Measured {
                threshold,
                false_matches,
                fnmr,
                ..
            } => {
                let dist = m.map_or(String::new(), |m| {
                    format!(
                        " (d ≤ {:.4})",
                        m.non_mated_mean_distance - m.non_mated_std_distance * threshold
                    )
                });
                format!(
                    "≥ {threshold:.3}{dist}, {false_matches} false matches, FNMR {:.2} %",
                    100.0 * fnmr
                )
            }
            CalibrationPoint::NotSupported {
                non_mated, needed, ..
            } => format!("not supported ({non_mated} of {needed} non-mated)"),
        };
        let _ = writeln!(
            s,
            "/// | {level:.0e} | {} | {} | {} |",
            cell(&table.crease, Some(&fusion.crease)),
            cell(&table.vein, Some(&fusion.vein)),
            cell(&table.fused, None)
        );
    }
    let _ = writeln!(
        s,
        "///\n/// Counts (mated / non-mated) and EER: crease {} / {}, EER {:.3} %; vein {} / {}, \
         EER {:.3} %; fused {} / {}, EER {:.3} %.\n///",
        table.crease.mated,
        table.crease.non_mated,
        100.0 * table.crease.eer,
        table.vein.mated,
        table.vein.non_mated,
        100.0 * table.vein.eer,
        table.fused.mated,
        table.fused.non_mated,
        100.0 * table.fused.eer
    );
    let _ = writeln!(
        s,
        "/// Capture pairs (single distances, for the enrolment consistency check), maximum\n\
         /// distance per target FMR:\n///\n/// | target FMR | crease | vein |\n/// |---|---|---|"
    );
    for (k, level) in CALIBRATED_FMR_LEVELS.iter().enumerate() {
        let cell = |s: &ScoreCalibration| match s.points[k] {
            CalibrationPoint::Measured {
                threshold, fnmr, ..
            } => format!("≤ {threshold:.4}, FNMR {:.2} %", 100.0 * fnmr),
            CalibrationPoint::NotSupported { .. } => "not supported".into(),
        };
        let _ = writeln!(
            s,
            "/// | {level:.0e} | {} | {} |",
            cell(&table.capture_pairs.crease),
            cell(&table.capture_pairs.vein)
        );
    }
    let _ = writeln!(
        s,
        "///\n/// Data set: {dataset}\n///\n/// Generator: {generator}.\n///\n/// Regenerate (also \
         rewrites `testdata/calibration/calibration.json`; then `cargo fmt`):\n///\n\
         /// ```text\n/// {command}\n/// ```\n///\n/// Synthetic figures only: re-measure on \
         the target sensor's captures before quoting an FMR.\npub static CALIBRATION: \
         CalibrationTable = {table:#?};"
    );
    s
}
