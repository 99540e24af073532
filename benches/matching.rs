//! Matching throughput (criterion). Throughput is reported in comparisons ("elements") per second.
//!
//! ```text
//! cargo bench --bench matching                       # everything (builds a 10⁶ gallery: 512 MB)
//! cargo bench --bench matching -- one_to_one         # 1:1 per backend only
//! cargo bench --bench matching -- one_to_one/32x32x3 # 1:1, default geometry only
//! ```
//!
//! Groups:
//! - `one_to_one/<geometry>/<backend>`: 1:1 comparisons, ±2 × ±2 shifts, 1 024 cache-resident
//!   references, one thread; plus `scalar-autovec` (the scalar reference compiled for this CPU's
//!   vector features) and `<dispatched>-sink` (the dispatched backend through the per-shift sink
//!   path, i.e. before the best-shift kernels); for the default geometry with AVX-512 also
//!   `<dispatched>-previous` (the default path before its dedicated kernel: the general best-shift
//!   kernel and the lane-search selection).
//! - `one_to_n/<threads>t/<N>`: top-10 gallery search with the dispatched backend, N = 10⁴, 10⁵,
//!   10⁶, on rayon pools of 1 and 2 threads.
//! - `bandwidth/<threads>t/{simsimd_hamming,unshifted_scan}`: simsimd's binary Hamming (no mask,
//!   no shift) over the same 10⁶ × 512 bytes, against our masked scan at shift (0, 0).
//!
//! `examples/matching_report.rs` prints the same figures as ratios in one run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use openpalm::Geometry;
use openpalm::matching::bench_support::{self as bs, gallery, probe};
use openpalm::matching::{Backend, MatchConfig, Matcher, words_as_bytes};

fn one_to_one(c: &mut Criterion) {
    let cfg = MatchConfig::default();
    for (_, g) in bs::geometries() {
        let refs = gallery(g, 1024, 11);
        let p = probe(g);
        let mut group = c.benchmark_group(format!(
            "one_to_one/{}x{}x{}",
            g.rows(),
            g.cols(),
            g.planes()
        ));
        group.throughput(Throughput::Elements(refs.len() as u64));
        group.measurement_time(Duration::from_secs(2));
        group.warm_up_time(Duration::from_millis(500));
        for b in Backend::available() {
            let m = Matcher::with_backend(&p, &cfg, b).unwrap();
            group.bench_function(b.name(), |bench| {
                bench.iter(|| {
                    let mut acc = 0u64;
                    for e in refs.iter() {
                        let o = m.compare_words(e.code, e.mask).unwrap();
                        acc += o.comparison().map_or(0, |c| u64::from(c.differing_bits));
                    }
                    black_box(acc)
                })
            });
        }
        let dispatched = Matcher::new(&p, &cfg).unwrap();
        group.bench_function(format!("{}-sink", dispatched.backend()), |bench| {
            bench.iter(|| {
                let mut acc = 0u64;
                for e in refs.iter() {
                    let o = dispatched.compare_words_via_sink(e.code, e.mask);
                    acc += o.comparison().map_or(0, |c| u64::from(c.differing_bits));
                }
                black_box(acc)
            })
        });
        if dispatched.uses_default_kernel() {
            group.bench_function(format!("{}-previous", dispatched.backend()), |bench| {
                bench.iter(|| {
                    let mut acc = 0u64;
                    for e in refs.iter() {
                        let o = dispatched.compare_words_previous(e.code, e.mask);
                        acc += o.comparison().map_or(0, |c| u64::from(c.differing_bits));
                    }
                    black_box(acc)
                })
            });
        }
        let m = Matcher::with_backend(&p, &cfg, Backend::Scalar).unwrap();
        group.bench_function("scalar-autovec", |bench| {
            bench.iter(|| {
                let mut acc = 0u64;
                for e in refs.iter() {
                    let o = m.compare_words_scalar_native(e.code, e.mask);
                    acc += o.comparison().map_or(0, |c| u64::from(c.differing_bits));
                }
                black_box(acc)
            })
        });
        group.finish();
    }
}

fn one_to_n(c: &mut Criterion) {
    let g = Geometry::DEFAULT;
    let big = gallery(g, 1_000_000, 99);
    let p = probe(g);
    let shifted = Matcher::new(&p, &MatchConfig::default()).unwrap();
    let unshifted = Matcher::new(&p, &MatchConfig::unshifted()).unwrap();
    let pools: Vec<(usize, rayon::ThreadPool)> = [1, 2]
        .into_iter()
        .map(|t| {
            (
                t,
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap(),
            )
        })
        .collect();

    let mut group = c.benchmark_group("one_to_n");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for n in [10_000usize, 100_000, 1_000_000] {
        let sub;
        let gal = if n == big.len() {
            &big
        } else {
            sub = bs::prefix(&big, n);
            &sub
        };
        group.throughput(Throughput::Elements(n as u64));
        for (threads, pool) in &pools {
            group.bench_with_input(
                BenchmarkId::new(format!("{threads}t"), n),
                &n,
                |bench, _| bench.iter(|| black_box(gal.search_in(pool, &shifted, 10).unwrap())),
            );
        }
    }
    group.finish();

    let mut group = c.benchmark_group("bandwidth");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(big.len() as u64));
    let mut probe_row = p.code_words().to_vec();
    probe_row.extend_from_slice(p.mask_words());
    probe_row.resize(big.row_words(), 0);
    let probe_bytes = words_as_bytes(&probe_row);
    let (rows, row_words) = (big.row_buffer(), big.row_words());
    for (threads, pool) in &pools {
        group.bench_function(format!("{threads}t/simsimd_hamming"), |bench| {
            bench.iter(|| pool.install(|| bs::simsimd_min_hamming(rows, row_words, probe_bytes)))
        });
        group.bench_function(format!("{threads}t/unshifted_scan"), |bench| {
            bench.iter(|| black_box(big.search_in(pool, &unshifted, 10).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, one_to_one, one_to_n);
criterion_main!(benches);
