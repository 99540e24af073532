//! Full-pipeline accuracy on synthetic captures (issue 7 item 5): generator → ROI detection →
//! crease and vein codes → matcher → EER, FNMR at FMR = 10⁻³ / 10⁻⁴, distance statistics, FTA,
//! per extractor and fused at score level (see `openpalm::eval::synthetic` for the method).
//!
//! Run:
//! `cargo run --release --features synth --example accuracy -- [--subjects 200] [--samples 10] [--non-mated N|all] [--roi detected|truth] [--out DIR]`
//!
//! The first half of the identities is the development split (fusion μ/σ/weights), the second
//! half the evaluation split (every figure printed). With `--out DIR` it writes one scores CSV
//! per row (`scores_<name>.csv`, evaluation split) and `det.png` / `det.svg` with the best crease,
//! the best vein and the fused curve.

use std::path::PathBuf;

use openpalm::eval::synthetic::{self, AccuracyConfig, NonMatedPairs, RoiSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = AccuracyConfig::default();
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--subjects" => cfg.subjects = val()?.parse()?,
            "--samples" => cfg.samples = val()?.parse()?,
            "--non-mated" => {
                let v = val()?;
                cfg.non_mated = if v == "all" {
                    NonMatedPairs::All
                } else {
                    NonMatedPairs::Sample(v.parse()?)
                };
            }
            "--roi" => {
                cfg.roi = match val()?.as_str() {
                    "detected" => RoiSource::Detected,
                    "truth" => RoiSource::GroundTruth,
                    v => return Err(format!("--roi {v}: expected detected or truth").into()),
                }
            }
            "--out" => out = Some(PathBuf::from(val()?)),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let t0 = std::time::Instant::now();
    let report = synthetic::run(&cfg)?;
    println!(
        "openpalm full-pipeline accuracy: {} identities × {} samples, ROI {:?}, non-mated {:?}, {} threads, {:.0} s",
        cfg.subjects,
        cfg.samples,
        cfg.roi,
        cfg.non_mated,
        rayon::current_num_threads(),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "development split: identities {}..{} (fusion parameters); evaluation split: identities {}..{} (all figures below)\n",
        cfg.first_identity,
        cfg.first_identity + report.dev_identities,
        cfg.first_identity + report.dev_identities,
        cfg.first_identity + cfg.subjects
    );
    print!("{}", report.table());
    println!("\nFTA over all {} captures:", report.fta.captures);
    println!("  ROI visible: {:?}", report.fta.roi_visible);
    println!("  ROI NIR:     {:?}", report.fta.roi_nir);
    for (k, (name, _)) in synthetic::EXTRACTORS.iter().enumerate() {
        println!(
            "  {name}: {} captures without template; feature-stage failures {:?}; dev d′ {:.2}",
            report.fta.failed[k], report.fta.features[k], report.dev_d_prime[k]
        );
    }
    for f in &report.fusion {
        println!(
            "{}: μ_nm {:?}, σ_nm {:?}, weights {:?} (development split)",
            f.name, f.mu, f.sigma, f.weights
        );
    }
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir)?;
        for (row, rec) in report.rows.iter().zip(&report.records) {
            let name = row.name.replace([' ', '+'], "_");
            let f = std::fs::File::create(dir.join(format!("scores_{name}.csv")))?;
            openpalm::eval::scores::write_csv(std::io::BufWriter::new(f), rec)?;
        }
        #[cfg(feature = "plot")]
        {
            use openpalm::eval::plot::{DetCurve, det_png, det_svg};
            let f = &report.fusion[0];
            let pick = [f.members[0], f.members[1], synthetic::EXTRACTORS.len()];
            let curves: Vec<DetCurve> = pick
                .iter()
                .map(|&i| DetCurve::new(report.rows[i].name.clone(), &report.rows[i].scores))
                .collect();
            let title = format!(
                "synthetic {}×{}, ROI {:?}, evaluation split",
                cfg.subjects, cfg.samples, cfg.roi
            );
            std::fs::write(dir.join("det.png"), det_png(&curves, Some(&title))?)?;
            std::fs::write(dir.join("det.svg"), det_svg(&curves, Some(&title))?)?;
        }
        std::fs::write(dir.join("table.md"), report.table())?;
        println!(
            "wrote scores CSVs, det.png/det.svg and table.md to {}",
            dir.display()
        );
    }
    Ok(())
}
