//! What transparency costs: the untraced pipeline methods (which run the traced code with
//! `NoTrace`), the same through a `&mut dyn TraceSink` that accepts nothing (one virtual call
//! per key), and a sink that accepts every key and drops it (what building the artefacts costs:
//! the hand mask is recomputed on demand).
//!
//! Run: `cargo bench --features synth --bench trace`. Thread CPU time (`ThreadCpuTime`), so
//! the figures hold on a loaded machine (extraction and verification use no thread pool). Input:
//! one synthetic 640×480 visible + NIR presentation, and a three-capture enrolment of the same
//! palm.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use openpalm::pipeline::{Artefact, Presentation, TraceKey, TraceSink};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::{Frame, Pipeline, Spectrum};

struct Refuse;
impl TraceSink for Refuse {
    fn accepts(&self, _: &TraceKey) -> bool {
        false
    }
    fn record(&mut self, _: &TraceKey, _: Artefact<'_>) {}
}

struct Discard(usize);
impl TraceSink for Discard {
    fn record(&mut self, _: &TraceKey, a: Artefact<'_>) {
        self.0 += black_box(&a as *const _ as usize) & 1;
    }
}

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::ThreadCpuTime;

fn frames(g: &Generator, seed: u64, sample: u64) -> (Frame, Frame) {
    let c = g.capture(&Identity::from_seed(seed), sample);
    (
        Frame::from_gray8(c.visible, Spectrum::Visible).unwrap(),
        Frame::from_gray8(c.nir, Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap(),
    )
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let g = Generator::new(CaptureOptions::default()).unwrap();
    let mut p = Pipeline::default();
    let (v, n) = frames(&g, 4, 0);
    let pres = Presentation::new(&v, &n);
    let all: Vec<(Frame, Frame)> = (1..4).map(|s| frames(&g, 4, s)).collect();
    let enrol: Vec<Presentation<'_>> = all.iter().map(|(v, n)| Presentation::new(v, n)).collect();
    let enrolment = p.enrol(&enrol).unwrap();
    let probe = p.extract(&pres).unwrap();
    let mut grp = c.benchmark_group("trace/extract");
    grp.sample_size(20).measurement_time(Duration::from_secs(4));
    grp.bench_function("untraced", |b| {
        b.iter(|| p.extract(black_box(&pres)).unwrap())
    });
    grp.bench_function("dyn sink accepting nothing", |b| {
        b.iter(|| {
            let s: &mut dyn TraceSink = &mut Refuse;
            p.extract_traced(black_box(&pres), s).unwrap()
        })
    });
    grp.bench_function("sink accepting everything", |b| {
        b.iter(|| p.extract_traced(black_box(&pres), &mut Discard(0)).unwrap())
    });
    grp.finish();
    let mut grp = c.benchmark_group("trace/verify");
    grp.bench_function("untraced", |b| {
        b.iter(|| p.verify(black_box(&probe), &enrolment).unwrap())
    });
    grp.bench_function("dyn sink accepting nothing", |b| {
        b.iter(|| {
            let s: &mut dyn TraceSink = &mut Refuse;
            p.verify_traced(black_box(&probe), &enrolment, s).unwrap()
        })
    });
    grp.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = bench
}
criterion_main!(benches);
