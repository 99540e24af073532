//! Identification against galleries of two sizes: the false-positive identification rate of
//! never-enrolled people grows with the gallery as predicted from the calibrated per-comparison
//! FMR, `FPIR = 1 − (1 − FMR)^N` (see `openpalm::pipeline::calibration`).
//!
//! Fresh synthetic identities (seeds 4 000 000.., not in the calibration set): galleries of the
//! first 15 and all 60 of 60 enrolled people (3 captures each), 60 never-enrolled people
//! presenting once, decided at `Threshold::fmr(1e-2)` (an FMR high enough for false positives to
//! be observable with 60 probes; predicted FPIR 0.14 and 0.45). Loose bounds: ±0.2 around the
//! prediction (about 3 binomial standard deviations), and the larger gallery must have the
//! larger FPIR. (On the 1 000-identity calibration set the formula was accurate for
//! N · FMR ≲ 0.1 and conservative above: correlated comparisons make the measured FPIR lower.)
//!
//! ```text
//! cargo test --release --features synth --test pipeline_fpir -- --nocapture
//! ```

use openpalm::pipeline::calibration::{CALIBRATION, fpir_for_fmr};
use openpalm::pipeline::{Enrolment, PipelineConfig, Presentation, ProbeTemplates, Threshold};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, Pipeline, Spectrum};
use rayon::prelude::*;

const FIRST_SEED: u64 = 4_000_000;
const ENROLLED: u64 = 60;
const STRANGERS: u64 = 60;

fn capture(p: &mut Pipeline, g: &Generator, id: &Identity, sample: u64) -> Option<ProbeTemplates> {
    let c = g.capture(id, sample);
    let v = Frame::from_gray8(c.visible, Spectrum::Visible).unwrap();
    let n = Frame::from_gray8(c.nir, Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap();
    p.extract(&Presentation::new(&v, &n)).ok()
}

#[test]
fn fpir_grows_with_the_gallery_as_predicted() {
    let level = 1e-2;
    let config = PipelineConfig {
        threshold: Threshold::fmr(level),
        ..PipelineConfig::default()
    };
    let pipeline = Pipeline::default().with_config(config).unwrap();
    let g = Generator::new(CaptureOptions::default()).unwrap();
    let enrolments: Vec<Option<Enrolment>> = (0..ENROLLED)
        .into_par_iter()
        .map_init(
            || pipeline.clone(),
            |p, i| {
                let id = Identity::from_seed(FIRST_SEED + i);
                let caps: Vec<ProbeTemplates> =
                    (0..3).filter_map(|k| capture(p, &g, &id, k)).collect();
                let crease = caps.iter().filter_map(|c| c.crease.clone()).collect();
                let vein = caps.iter().filter_map(|c| c.vein.clone()).collect();
                Enrolment::from_references(crease, vein).ok()
            },
        )
        .collect();
    let probes: Vec<ProbeTemplates> = (0..STRANGERS)
        .into_par_iter()
        .map_init(
            || pipeline.clone(),
            |p, s| {
                let id = Identity::from_seed(FIRST_SEED + ENROLLED + s);
                capture(p, &g, &id, 0)
            },
        )
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    assert!(probes.len() >= 55, "{} probes acquired", probes.len());

    let measured_fmr = match CALIBRATION.fused.point_for(level).unwrap() {
        openpalm::pipeline::calibration::CalibrationPoint::Measured { fmr, .. } => *fmr,
        p => panic!("{p:?}"),
    };
    let mut fpirs = Vec::new();
    for size in [15u64, ENROLLED] {
        let mut gallery = pipeline.new_gallery();
        for (i, e) in enrolments.iter().enumerate().take(size as usize) {
            if let Some(e) = e {
                gallery
                    .add_subject((i as u64).into(), e, Vec::new())
                    .unwrap();
            }
        }
        let false_positives = probes
            .iter()
            .filter(|p| {
                pipeline
                    .identify(p, &gallery, 1)
                    .unwrap()
                    .first()
                    .is_some_and(|c| c.decision.is_match())
            })
            .count();
        let fpir = false_positives as f64 / probes.len() as f64;
        let predicted = fpir_for_fmr(measured_fmr, gallery.len() as u64);
        println!(
            "gallery {:>3}: FPIR {fpir:.3} ({false_positives} of {}), predicted 1 − (1 − {measured_fmr:.2e})^N = {predicted:.3}",
            gallery.len(),
            probes.len()
        );
        assert!(
            (fpir - predicted).abs() <= 0.2,
            "gallery {}: FPIR {fpir:.3}, predicted {predicted:.3}",
            gallery.len()
        );
        fpirs.push(fpir);
    }
    assert!(fpirs[1] > fpirs[0], "{fpirs:?}");
}
