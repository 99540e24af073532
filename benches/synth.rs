//! Synthetic palm generation speed: one 640×480 visible + NIR capture pair (the budget
//! is 20 ms on one core), a colour capture, and building an identity.
//!
//! `cargo bench --features synth --bench synth`
//!
//! The `cpu/` variant measures the bench thread's CPU time instead of wall time (see
//! `ThreadCpuTime`): the per-core cost even while other processes load the machine.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let id = Identity::from_seed(1);
    let g = Generator::new(CaptureOptions::default()).expect("valid");
    let mut s = 0u64;
    c.bench_function("capture 640x480 visible+nir", |b| {
        b.iter(|| {
            s += 1;
            black_box(g.capture(&id, s))
        })
    });
    let gc = Generator::new(CaptureOptions {
        color: true,
        ..CaptureOptions::default()
    })
    .expect("valid");
    c.bench_function("capture 640x480 rgb+visible+nir", |b| {
        b.iter(|| {
            s += 1;
            black_box(gc.capture(&id, s))
        })
    });
    let mut seed = 0u64;
    c.bench_function("identity from seed", |b| {
        b.iter(|| {
            seed += 1;
            black_box(Identity::from_seed(seed))
        })
    });
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
fn bench_cpu(c: &mut Criterion<ThreadCpuTime>) {
    let id = Identity::from_seed(1);
    let g = Generator::new(CaptureOptions::default()).expect("valid");
    let mut s = 0u64;
    c.bench_function("cpu/capture 640x480 visible+nir", |b| {
        b.iter(|| {
            s += 1;
            black_box(g.capture(&id, s))
        })
    });
}

criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime).sample_size(20);
    targets = bench_cpu
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches, cpu);
