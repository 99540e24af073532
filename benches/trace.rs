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

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

/// CPU time of the calling thread (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, ns), so that the
/// figures are the per-core extraction cost even on a shared, loaded machine (wall time then
/// overstates it by the load factor). Wall time on non-Unix targets.
struct ThreadCpuTime;

#[cfg(unix)]
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(not(unix))]
fn thread_cpu_ns() -> u64 {
    use std::sync::OnceLock;
    static T0: OnceLock<std::time::Instant> = OnceLock::new();
    T0.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if ns < 1e3 {
            (1.0, "ns cpu")
        } else if ns < 1e6 {
            (1e3, "µs cpu")
        } else {
            (1e6, "ms cpu")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(&self, _: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) => *n as f64,
            _ => 1.0,
        };
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v);
        "elem/s cpu"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns cpu"
    }
}

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
