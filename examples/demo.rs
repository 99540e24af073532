//! The main demo: enrol synthetic people, then identify fresh captures of them and of people who
//! never enrolled — the palm-payment flow, with no card — and report what happened.
//!
//! ```text
//! cargo run --release --features synth --example demo [-- ENROLLED [STRANGERS]]   (defaults: 100, 50)
//! ```
//!
//! Each person is a synthetic identity (`openpalm::synth`); each presentation is a fresh
//! 640 × 480 visible + near-infrared capture (new pose, rotation ±25°, lighting, noise, blur).
//! Per capture: ROI detection on both frames → crease code (BOCV, visible) and vein code
//! (maximum curvature, NIR) → templates, stored and reloaded through the binary format as a
//! terminal's database would. Each enrolled person leaves three captures as references.
//!
//! The operating threshold per modality is set on a separate **development** group of
//! never-enrolled people: just below the closest of all their comparisons with the gallery
//! (no false match in `n` comparisons, so FMR ≲ 3/n at 95 % confidence — in 1:N the
//! false-positive identification rate grows with the gallery, FPIR ≈ N · FMR, so a 1:N
//! threshold must sit this far into the tail). It is then applied to the test probes: rank-1
//! identification of enrolled people and false accepts of never-enrolled ones. Until calibrated operating points land
//! (pipeline issue), this is how the demo picks its threshold: on data it does not test on.

use std::time::{Duration, Instant};

use openpalm::eval::ScoreSet;
use openpalm::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor, RoiImage};
use openpalm::matching::{Gallery, MatchConfig, Matcher};
use openpalm::roi::{FullHandDetector, RoiDetector};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, PalmTemplate, Spectrum};
use rayon::prelude::*;

/// References per enrolled person.
const ENROL_SAMPLES: u64 = 3;
/// First sample number used for probes (never used at enrolment).
const PROBE_SAMPLE: u64 = 100;
/// Seeds of never-enrolled people start here (enrolled people are 0..N).
const STRANGER_SEED: u64 = 1_000_000;

#[derive(Default, Clone, Copy)]
struct Timing {
    roi: Duration,
    extract: Duration,
    captures: u32,
}

/// The templates of one presentation, or why it failed to acquire.
type Acquired = Result<[PalmTemplate; 2], String>;

fn acquire(generator: &Generator, identity: &Identity, sample: u64, t: &mut Timing) -> Acquired {
    let capture = generator.capture(identity, sample);
    let detector = FullHandDetector::default();
    let frames = [
        Frame::from_gray8(capture.visible, Spectrum::Visible),
        Frame::from_gray8(capture.nir, Spectrum::NearInfrared { wavelength_nm: 850 }),
    ];
    let mut out = Vec::with_capacity(2);
    for (k, frame) in frames.into_iter().enumerate() {
        let frame = frame.map_err(|e| e.to_string())?;
        let start = Instant::now();
        let roi = detector
            .detect(&frame)
            .map_err(|e| format!("{}: {e}", ["visible", "NIR"][k]))?;
        let mid = Instant::now();
        let roi = RoiImage::from_gray(&roi.patch, Some(&roi.mask)).map_err(|e| e.to_string())?;
        let template = if k == 0 {
            OrientedCodeExtractor::bocv().extract(&roi)
        } else {
            MaxCurvatureVein::default().extract(&roi)
        }
        .map_err(|e| e.to_string())?;
        t.roi += mid - start;
        t.extract += mid.elapsed();
        // A terminal stores templates as bytes and reads them back, checked.
        out.push(PalmTemplate::from_bytes(&template.to_bytes()).map_err(|e| e.to_string())?);
    }
    t.captures += 1;
    Ok([out.remove(0), out.remove(0)])
}

/// Acquires every (seed, sample) in parallel, keeping only templates.
fn acquire_all(generator: &Generator, jobs: &[(u64, u64)]) -> (Vec<(u64, Acquired)>, Timing) {
    let results: Vec<(u64, Acquired, Timing)> = jobs
        .par_iter()
        .map(|&(seed, sample)| {
            let mut t = Timing::default();
            let a = acquire(generator, &Identity::from_seed(seed), sample, &mut t);
            (seed, a, t)
        })
        .collect();
    let mut total = Timing::default();
    let mut out = Vec::with_capacity(results.len());
    for (seed, a, t) in results {
        total.roi += t.roi;
        total.extract += t.extract;
        total.captures += t.captures;
        out.push((seed, a));
    }
    (out, total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let enrolled = args.next().transpose()?.unwrap_or(100).max(2);
    let strangers = args.next().transpose()?.unwrap_or(50).max(2);
    let generator = Generator::new(CaptureOptions::default())?;
    let config = MatchConfig::default();
    let names = ["crease (BOCV, visible)", "vein (max. curvature, NIR)"];
    println!(
        "openpalm demo: {enrolled} people enrol with {ENROL_SAMPLES} captures each; then {enrolled} \
         of them and {strangers} never-enrolled people present their hand once.\n"
    );

    // 1. Enrolment.
    let t0 = Instant::now();
    let jobs: Vec<(u64, u64)> = (0..enrolled)
        .flat_map(|s| (0..ENROL_SAMPLES).map(move |k| (s, k)))
        .collect();
    let (enrol, mut timing) = acquire_all(&generator, &jobs);
    let mut galleries: Vec<Option<Gallery>> = vec![None, None];
    let mut enrol_fta = Vec::new();
    for (i, (seed, acquired)) in enrol.into_iter().enumerate() {
        match acquired {
            Ok(templates) => {
                for (m, t) in templates.iter().enumerate() {
                    let g = galleries[m].get_or_insert_with(|| Gallery::like(t));
                    g.add(i as u64, t)?; // reference id; subject = id / ENROL_SAMPLES
                }
            }
            Err(why) => enrol_fta.push(format!("person {seed}: {why}")),
        }
    }
    let galleries: Vec<Gallery> = galleries
        .into_iter()
        .map(|g| g.expect("someone enrolled"))
        .collect();
    println!(
        "enrolment: {} captures in {:.1} s, {} failed to acquire; gallery {} references, {:.1} KiB per modality",
        jobs.len(),
        t0.elapsed().as_secs_f64(),
        enrol_fta.len(),
        galleries[0].len(),
        galleries[0].memory_bytes() as f64 / 1024.0
    );
    for f in enrol_fta.iter().take(5) {
        println!("  FTA {f}");
    }

    // 2. Probes: development strangers (threshold), then test probes.
    let dev: Vec<(u64, u64)> = (0..strangers)
        .map(|s| (STRANGER_SEED + s, PROBE_SAMPLE))
        .collect();
    let test: Vec<(u64, u64)> = (0..enrolled)
        .map(|s| (s, PROBE_SAMPLE))
        .chain((0..strangers).map(|s| (2 * STRANGER_SEED + s, PROBE_SAMPLE)))
        .collect();
    let (dev_probes, t_dev) = acquire_all(&generator, &dev);
    let (test_probes, t_test) = acquire_all(&generator, &test);
    for t in [t_dev, t_test] {
        timing.roi += t.roi;
        timing.extract += t.extract;
        timing.captures += t.captures;
    }

    let mut search_time = Duration::ZERO;
    let mut searches = 0u32;
    println!();
    println!(
        "{:<28} {:>9} {:>10} {:>12} {:>14} {:>9}",
        "modality", "FMR ≲ (dev)", "threshold", "rank-1 rate", "false accepts", "FNMR dev"
    );
    for (m, gallery) in galleries.iter().enumerate() {
        // Threshold from the development strangers: every comparison with the gallery.
        let mut dev_non_mated = Vec::new();
        for (_, acquired) in &dev_probes {
            if let Ok(t) = acquired {
                let matcher = Matcher::new(&t[m], &config)?;
                for entry in gallery.iter() {
                    if let Some(d) = matcher.compare_words(entry.code, entry.mask)?.distance() {
                        dev_non_mated.push(d);
                    }
                }
            }
        }
        // Mated development distances: enrolled people's references against each other.
        let mut dev_mated = Vec::new();
        for entry in gallery.iter() {
            let subject = entry.id / ENROL_SAMPLES;
            for other in gallery.iter() {
                if other.id > entry.id && other.id / ENROL_SAMPLES == subject {
                    let probe = PalmTemplate::new(
                        gallery.modality(),
                        gallery.algorithm(),
                        gallery.geometry(),
                        entry.code.to_vec(),
                        entry.mask.to_vec(),
                    )?;
                    let matcher = Matcher::new(&probe, &config)?;
                    if let Some(d) = matcher.compare_words(other.code, other.mask)?.distance() {
                        dev_mated.push(d);
                    }
                }
            }
        }
        let dev_set = ScoreSet::new(dev_mated, dev_non_mated)?;
        // 1:N: the chance that a stranger matches *someone* grows with the gallery (FPIR ≈
        // N · FMR), so the per-comparison threshold must sit far into the non-mated tail: here
        // just below the closest development non-mated distance (FMR = 0 of n measured, so
        // FMR ≲ 3/n at 95 %, and FPIR ≲ N · 3/n).
        let n_dev = dev_set.non_mated().len();
        let Some(&closest) = dev_set.non_mated().first() else {
            println!("{:<28} no development comparisons", names[m]);
            continue;
        };
        let threshold = closest - 1e-9;
        let dev_fnmr = dev_set.fnmr(threshold);
        let fmr_bound = 3.0 / n_dev as f64;

        let (mut hits, mut enrolled_probes, mut false_accepts, mut stranger_probes) = (0, 0, 0, 0);
        for (seed, acquired) in &test_probes {
            let Ok(t) = acquired else { continue };
            let start = Instant::now();
            let matcher = Matcher::new(&t[m], &config)?;
            let top = gallery.search(&matcher, 1)?;
            search_time += start.elapsed();
            searches += 1;
            let accepted = top.first().filter(|c| c.comparison.distance <= threshold);
            if *seed < STRANGER_SEED {
                enrolled_probes += 1;
                if accepted.is_some_and(|c| c.id / ENROL_SAMPLES == *seed) {
                    hits += 1;
                }
            } else {
                stranger_probes += 1;
                if accepted.is_some() {
                    false_accepts += 1;
                }
            }
        }
        println!(
            "{:<28} {:>9.1e} {:>10.4} {:>11.1}% {:>8} of {:<4} {:>8.2}%",
            names[m],
            fmr_bound,
            threshold,
            100.0 * hits as f64 / enrolled_probes.max(1) as f64,
            false_accepts,
            stranger_probes,
            100.0 * dev_fnmr
        );
    }
    let fta_test = test_probes.iter().filter(|(_, a)| a.is_err()).count();
    println!(
        "\nfailures to acquire among test probes: {fta_test} of {}",
        test_probes.len()
    );
    for (seed, a) in test_probes.iter().filter(|(_, a)| a.is_err()).take(5) {
        println!("  person {seed}: {}", a.as_ref().err().unwrap());
    }
    let per = |d: Duration, n: u32| d.as_secs_f64() * 1e3 / n.max(1) as f64;
    println!(
        "\ntime per capture (CPU of one thread): ROI detection {:.2} ms for two frames, feature \
         extraction {:.2} ms for two templates; 1:N search ({} references) {:.3} ms per probe",
        per(timing.roi, timing.captures),
        per(timing.extract, timing.captures),
        galleries[0].len(),
        per(search_time, searches)
    );
    println!(
        "(rank-1 rate: enrolled probes whose top candidate is the right person within the \
         threshold; false accepts: never-enrolled probes whose top candidate is within it.)"
    );
    Ok(())
}
