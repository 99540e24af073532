//! Extraction time from one 128 × 128 ROI, per extractor, on one core (the extractors are
//! single-threaded; criterion runs them on the bench thread), measured as the bench thread's
//! CPU time (see `ThreadCpuTime`).
//!
//! `cargo bench --bench features`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::ThreadCpuTime;
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
