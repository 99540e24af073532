//! Synthetic palm generation speed: one 640×480 visible + NIR capture pair (the budget
//! is 20 ms on one core), a colour capture, and building an identity.
//!
//! `cargo bench --features synth --bench synth`
//!
//! The `cpu/` variant measures the bench thread's CPU time instead of wall time (see
//! `ThreadCpuTime`): the per-core cost even while other processes load the machine.

use criterion::{Criterion, criterion_group, criterion_main};
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

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::ThreadCpuTime;
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
