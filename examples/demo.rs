//! The main demo: enrol synthetic people, then identify fresh captures of them and of people who
//! never enrolled — the palm-payment flow, with no card — and report what happened.
//!
//! ```text
//! cargo run --release --features synth --example demo [-- ENROLLED [STRANGERS]]   (defaults: 300, 100)
//! ```
//!
//! Everything goes through the public [`Pipeline`] API, as a terminal would use it:
//!
//! 1. Each person is a synthetic identity (`openpalm::synth`); each presentation is a fresh
//!    640 × 480 visible + near-infrared capture (new pose, rotation, lighting, noise, blur).
//! 2. [`Pipeline::enrol`] takes three presentations (ROI detection on both frames → BOCV crease
//!    code and maximum-curvature vein code → consistency check between the captures). A
//!    capture the pipeline refuses (failure to acquire, or inconsistent with the others) is
//!    retaken, as a terminal asks the person to present again; the enrolment goes into a
//!    [`SubjectGallery`](openpalm::pipeline::SubjectGallery) with opaque metadata (here a fake
//!    payment token).
//! 3. Each enrolled person and each never-enrolled person presents once more;
//!    [`Pipeline::identify`] returns the top candidate with its decision at the operating point
//!    [`Threshold::fpir`]`(1e-3, N)`: the per-comparison FMR that keeps the false-positive
//!    identification rate at 0.1 % for a gallery of N people, looked up in the calibration table
//!    measured on synthetic data (a different population from this demo's).

use std::time::{Duration, Instant};

use openpalm::pipeline::{
    CALIBRATION, ComparedModalities, PipelineError, Presentation, ProbeTemplates, SubjectId,
    Threshold, Verdict,
};
use openpalm::roi::RoiDetector;
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, Pipeline, Spectrum};
use rayon::prelude::*;

/// Captures per enrolment.
const ENROL_CAPTURES: u64 = 3;
/// Most retakes one enrolment may ask for.
const MAX_RETAKES: u64 = 5;
/// Sample number of the identification presentation (never used at enrolment).
const PROBE_SAMPLE: u64 = 100;
/// Seeds of never-enrolled people start here (enrolled people are 0..N).
const STRANGER_SEED: u64 = 2_000_000;
/// Target false-positive identification rate.
const TARGET_FPIR: f64 = 1e-3;

#[derive(Default, Clone, Copy)]
struct Timing {
    capture: Duration,
    extract: Duration,
    enrol: Duration,
    presentations: u32,
}

impl Timing {
    fn add(&mut self, o: &Timing) {
        self.capture += o.capture;
        self.extract += o.extract;
        self.enrol += o.enrol;
        self.presentations += o.presentations;
    }
}

fn frames(generator: &Generator, identity: &Identity, sample: u64, t: &mut Timing) -> [Frame; 2] {
    let start = Instant::now();
    let c = generator.capture(identity, sample);
    let out = [
        Frame::from_gray8(c.visible, Spectrum::Visible).expect("synthetic frame"),
        Frame::from_gray8(c.nir, Spectrum::NearInfrared { wavelength_nm: 850 })
            .expect("synthetic frame"),
    ];
    t.capture += start.elapsed();
    t.presentations += 1;
    out
}

/// An enrolment with retakes, or the last refusal.
struct Enrolled {
    enrolment: Result<openpalm::pipeline::Enrolment, PipelineError>,
    retakes: u64,
}

fn enrol(p: &mut Pipeline, g: &Generator, seed: u64, t: &mut Timing) -> Enrolled {
    let identity = Identity::from_seed(seed);
    let mut samples: Vec<u64> = (0..ENROL_CAPTURES).collect();
    let mut captured: Vec<[Frame; 2]> = samples
        .iter()
        .map(|&s| frames(g, &identity, s, t))
        .collect();
    let mut retakes = 0;
    let mut last_retaken = None;
    loop {
        let presentations: Vec<Presentation<'_>> = captured
            .iter()
            .map(|[v, n]| Presentation::new(v, n))
            .collect();
        let start = Instant::now();
        let result = p.enrol(&presentations);
        t.enrol += start.elapsed();
        // A disagreeing pair: retake its later capture; if the same pair disagrees again, the
        // earlier one was the poor capture: retake that.
        let retake = match &result {
            Err(PipelineError::InconsistentCaptures { first, second, .. })
            | Err(PipelineError::CapturesOverlap { first, second, .. }) => {
                Some(if last_retaken == Some(*second) {
                    *first
                } else {
                    *second
                })
            }
            Err(PipelineError::Capture { capture, .. }) => Some(*capture),
            _ => None,
        };
        last_retaken = retake;
        match retake {
            Some(k) if retakes < MAX_RETAKES => {
                retakes += 1;
                samples[k] = ENROL_CAPTURES + retakes;
                captured[k] = frames(g, &identity, samples[k], t);
            }
            _ => {
                return Enrolled {
                    enrolment: result,
                    retakes,
                };
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let enrolled = args.next().transpose()?.unwrap_or(300).max(2);
    let strangers = args.next().transpose()?.unwrap_or(100).max(1);
    let generator = Generator::new(CaptureOptions::default())?;
    let config = openpalm::pipeline::PipelineConfig {
        threshold: Threshold::fpir(TARGET_FPIR, enrolled),
        ..Default::default()
    };
    let pipeline = Pipeline::default().with_config(config)?;
    let Threshold::Fmr { fmr } = pipeline.config().threshold else {
        unreachable!("set above")
    };
    let level = CALIBRATION
        .fused
        .point_for(fmr)
        .map(|p| p.target_fmr())
        .ok_or("FMR level not calibrated")?;
    let min_score = pipeline
        .config()
        .threshold
        .min_fused_score(ComparedModalities::Both)
        .ok_or("FMR level not calibrated")?;
    println!(
        "openpalm demo: {enrolled} people enrol with {ENROL_CAPTURES} captures each; then {enrolled} \
         of them and {strangers} never-enrolled people present their hand once.\n\
         operating point: Threshold::fpir({TARGET_FPIR:e}, {enrolled}) → per-comparison FMR {fmr:.2e} \
         → calibrated level {level:.0e}: fused score ≥ {min_score:.3} (crease + vein)\n"
    );

    // 1. Enrolment, in parallel (one pipeline per thread), then into the gallery.
    let t0 = Instant::now();
    let results: Vec<(u64, Enrolled, Timing)> = (0..enrolled)
        .into_par_iter()
        .map_init(
            || pipeline.clone(),
            |p, seed| {
                let mut t = Timing::default();
                let e = enrol(p, &generator, seed, &mut t);
                (seed, e, t)
            },
        )
        .collect();
    let mut gallery = pipeline.new_gallery();
    let mut timing = Timing::default();
    let (mut retakes, mut failed) = (0, Vec::new());
    for (seed, e, t) in results {
        timing.add(&t);
        retakes += e.retakes;
        match e.enrolment {
            Ok(enrolment) => {
                let token = format!("pay-token-{seed:06}").into_bytes();
                gallery.add_subject(SubjectId::Number(seed), &enrolment, token)?;
            }
            Err(why) => failed.push(format!("person {seed}: {why}")),
        }
    }
    let enrol_wall = t0.elapsed();
    println!(
        "enrolment: {} of {enrolled} people enrolled in {:.1} s ({} presentations, {retakes} retakes \
         asked for); gallery {} crease + {} vein references",
        gallery.len(),
        enrol_wall.as_secs_f64(),
        timing.presentations,
        gallery.reference_count(openpalm::Modality::Crease),
        gallery.reference_count(openpalm::Modality::Vein),
    );
    for f in &failed {
        println!("  failed to enrol: {f}");
    }

    // 2. Identification: one fresh presentation of every enrolled and never-enrolled person.
    let seeds: Vec<u64> = (0..enrolled)
        .chain((0..strangers).map(|s| STRANGER_SEED + s))
        .collect();
    let t1 = Instant::now();
    let probes: Vec<(u64, Result<ProbeTemplates, PipelineError>)> = seeds
        .par_iter()
        .map_init(
            || pipeline.clone(),
            |p, &seed| {
                let mut t = Timing::default();
                let [v, n] = frames(&generator, &Identity::from_seed(seed), PROBE_SAMPLE, &mut t);
                (seed, p.extract(&Presentation::new(&v, &n)))
            },
        )
        .collect();
    let results: Vec<(u64, Result<_, String>)> = probes
        .par_iter()
        .map(|(seed, probe)| match probe {
            Ok(probe) => (
                *seed,
                pipeline
                    .identify(probe, &gallery, 1)
                    .map_err(|e| e.to_string()),
            ),
            Err(_) => (*seed, Err("failed to acquire".to_string())),
        })
        .collect();
    let identify_wall = t1.elapsed();

    let (mut e_n, mut e_fta, mut rank1, mut hits, mut below, mut wrong) = (0, 0, 0, 0, 0, 0);
    let (mut s_n, mut s_fta, mut false_accepts) = (0, 0, 0);
    let mut notes = Vec::new();
    for (seed, result) in &results {
        // People who failed to enrol are not in the gallery: for identification they are
        // strangers like the never-enrolled ones.
        let stranger = !gallery.contains(&SubjectId::Number(*seed));
        if stranger {
            s_n += 1;
        } else {
            e_n += 1;
        }
        let top = match result {
            Ok(top) => top,
            Err(why) => {
                if stranger {
                    s_fta += 1;
                } else {
                    e_fta += 1;
                }
                notes.push(format!("person {seed}: {why}"));
                continue;
            }
        };
        let Some(best) = top.first() else { continue };
        let matched = best.decision.verdict == Verdict::Match;
        let right = best.subject == SubjectId::Number(*seed);
        if stranger {
            if matched {
                false_accepts += 1;
                notes.push(format!(
                    "never-enrolled person {seed} accepted as {} (fused score {:.2})",
                    best.subject,
                    best.decision.fused_score.unwrap_or(f64::NAN)
                ));
            }
            continue;
        }
        rank1 += u32::from(right);
        match (right, matched) {
            (true, true) => hits += 1,
            (true, false) => below += 1,
            (false, true) => {
                wrong += 1;
                notes.push(format!("person {seed} accepted as {}", best.subject));
            }
            (false, false) => notes.push(format!(
                "person {seed}: top candidate {} (fused score {:.2}, not accepted)",
                best.subject,
                best.decision.fused_score.unwrap_or(f64::NAN)
            )),
        }
    }
    let pct = |a: u32, b: u32| 100.0 * f64::from(a) / f64::from(b.max(1));
    let e_acq = e_n - e_fta;
    println!(
        "\nidentification ({:.1} s), top candidate by fused crease + vein score:",
        identify_wall.as_secs_f64()
    );
    println!(
        "  enrolled people:       {e_n} presentations, {e_fta} failed to acquire; rank-1 rate \
         {:.1} % ({rank1} of {e_acq}); identified at the operating point {:.1} % ({hits}); \
         right person below the threshold {below}; wrong person accepted {wrong}",
        pct(rank1, e_acq),
        pct(hits, e_acq),
    );
    println!(
        "  not enrolled:          {s_n} presentations ({} never enrolled, {} failed to enrol), {s_fta} \
         failed to acquire; false accepts \
         {false_accepts} of {} (target FPIR {TARGET_FPIR:e}; 1 − (1 − FMR)^N at the level: {:.1e})",
        strangers,
        failed.len(),
        s_n - s_fta,
        openpalm::pipeline::calibration::fpir_for_fmr(level, gallery.len() as u64),
    );
    for n in notes.iter().take(8) {
        println!("    {n}");
    }

    // 3. Time per stage, measured one call at a time on this thread over a sample of 40
    // presentations (the parallel phases above overlap calls, so their per-call times would
    // mix in waiting for the cores).
    let mut p = pipeline.clone();
    let detector = pipeline.roi_detector();
    let sample: Vec<u64> = seeds.iter().copied().step_by(8).take(40).collect();
    let mut t = Timing::default();
    let (mut roi_time, mut identify_time, mut searches) = (Duration::ZERO, Duration::ZERO, 0u32);
    for &seed in &sample {
        let [v, n] = frames(&generator, &Identity::from_seed(seed), PROBE_SAMPLE, &mut t);
        let start = Instant::now();
        let _ = detector.detect(&v);
        let _ = detector.detect(&n);
        roi_time += start.elapsed();
        let start = Instant::now();
        let probe = p.extract(&Presentation::new(&v, &n));
        t.extract += start.elapsed();
        if let Ok(probe) = probe {
            let start = Instant::now();
            let _ = pipeline.identify(&probe, &gallery, 1)?;
            identify_time += start.elapsed();
            searches += 1;
        }
    }
    let ms = |d: Duration, n: u32| d.as_secs_f64() * 1e3 / f64::from(n.max(1));
    let extract_per = ms(t.extract, t.presentations);
    let roi_per = ms(roi_time, t.presentations);
    println!(
        "\ntime per presentation (visible + NIR, one call at a time, {} presentations): synthetic \
         capture {:.1} ms; Pipeline::extract {extract_per:.1} ms = ROI detection {roi_per:.1} ms + \
         features {:.1} ms; Pipeline::identify over {} subjects {:.3} ms per probe",
        t.presentations,
        ms(t.capture, t.presentations),
        (extract_per - roi_per).max(0.0),
        gallery.len(),
        ms(identify_time, searches),
    );
    println!(
        "enrolment and identification phases ran on {} threads: enrolment {:.1} s, \
         identification {:.1} s (wall, including the synthetic captures)",
        rayon::current_num_threads(),
        enrol_wall.as_secs_f64(),
        identify_wall.as_secs_f64()
    );
    println!(
        "(rank-1 rate: acquired enrolled presentations whose top candidate is the right person; \
         identified: … and accepted at the operating point; false accepts: never-enrolled \
         presentations whose top candidate was accepted.)"
    );
    Ok(())
}
