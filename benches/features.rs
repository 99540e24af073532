//! Extraction time from one 128 × 128 ROI, per extractor, on one core (the extractors are
//! single-threaded; criterion runs them on the bench thread), measured as the bench thread's
//! CPU time (see `ThreadCpuTime`).
//!
//! `cargo bench --bench features`

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
use openpalm::features::pattern::{PatternKind, line_texture};
use openpalm::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor, maxcurv};

fn bench_one(
    c: &mut Criterion<ThreadCpuTime>,
    name: &str,
    mut ex: impl FeatureExtractor,
    kind: PatternKind,
) {
    let roi = line_texture(kind, 128, 7, 0, 2.0);
    let g = ex.geometry();
    let mut code = vec![0u64; g.code_words()];
    let mut mask = vec![0u64; g.words_per_plane()];
    c.bench_function(&format!("extract_into/{name}"), |b| {
        b.iter(|| {
            ex.extract_into(black_box(&roi), &mut code, &mut mask)
                .unwrap();
            black_box(&code);
        })
    });
}

fn extractors(c: &mut Criterion<ThreadCpuTime>) {
    bench_one(
        c,
        "compcode",
        OrientedCodeExtractor::comp_code(),
        PatternKind::Crease,
    );
    bench_one(
        c,
        "bocv",
        OrientedCodeExtractor::bocv(),
        PatternKind::Crease,
    );
    bench_one(
        c,
        "doc",
        OrientedCodeExtractor::double_orientation(),
        PatternKind::Crease,
    );
    bench_one(
        c,
        "vein_bocv",
        OrientedCodeExtractor::vein_bocv(),
        PatternKind::Vein,
    );
    bench_one(
        c,
        "vein_maxcurv",
        MaxCurvatureVein::default(),
        PatternKind::Vein,
    );
    // The allocating step-by-step API (for comparison with the scratch-reusing extractor).
    let roi = line_texture(PatternKind::Vein, 128, 7, 0, 2.0);
    let img = roi.pixels().mapv(|v| v as f64);
    let mask = roi.mask().to_owned();
    c.bench_function("maxcurv_steps_allocating/128", |b| {
        b.iter(|| black_box(maxcurv::max_curvature(img.view(), mask.view(), 3.0).unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime).sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = extractors
}
criterion_main!(benches);
