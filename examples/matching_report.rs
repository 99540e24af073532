//! Prints every matching figure of the README table in one run, as absolute figures and as ratios
//! measured side by side in the same process.
//!
//! ```text
//! cargo run --release --example matching_report             # everything (a 10⁶ gallery: 512 MB)
//! cargo run --release --example matching_report -- quick    # 1:1 figures and N ≤ 10⁵ only
//! cargo run --release --example matching_report -- prefetch=2,16   # AVX-512 scan prefetch rows
//! cargo run --release --example matching_report -- bursts   # 1:1 kernel over short bursts only
//! cargo run --release --example matching_report -- 1to1     # the 1:1 section only
//! cargo run --release --example matching_report -- shipped  # 1:N over the shipped 16×16 codes only
//! cargo run --release --example matching_report -- no1to1 no1ton   # bandwidth section only
//! ```
//!
//! Every figure is the best of several repetitions, and the variants being compared (new path,
//! previous path, baselines) run interleaved — repetition 1 of each, then repetition 2 of each, … —
//! so that load from other processes hits them alike. Single-thread rates are per CPU-second of
//! the measuring thread; multi-thread figures are wall-clock (with the process CPU time beside
//! them). The load average is printed at the start and the end: other processes on the same cores
//! lower every absolute figure, much less the ratios.

use std::hint::black_box;
use std::time::Instant;

use openpalm::Geometry;
use openpalm::matching::bench_support::{self as bs, Rng};
use openpalm::matching::{Backend, Gallery, MatchConfig, Matcher, words_as_bytes};

/// The per-core ceiling measured for this machine (shifted comparisons/s, default geometry).
const CEILING_PER_CORE: f64 = 8.6e6;

fn clock(id: libc::clockid_t) -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; both clocks used here always exist on Linux.
    unsafe { libc::clock_gettime(id, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Best wall-clock seconds, best CPU seconds of the calling thread, and best CPU seconds of the
/// whole process, of each closure, over `reps` interleaved repetitions (after one warm-up each).
fn interleaved(reps: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<(f64, f64, f64)> {
    for f in fs.iter_mut() {
        f();
    }
    let mut best = vec![(f64::MAX, f64::MAX, f64::MAX); fs.len()];
    for _ in 0..reps {
        for (f, b) in fs.iter_mut().zip(&mut best) {
            let (w0, t0, p0) = (
                Instant::now(),
                clock(libc::CLOCK_THREAD_CPUTIME_ID),
                clock(libc::CLOCK_PROCESS_CPUTIME_ID),
            );
            f();
            let (t1, p1) = (
                clock(libc::CLOCK_THREAD_CPUTIME_ID),
                clock(libc::CLOCK_PROCESS_CPUTIME_ID),
            );
            b.0 = b.0.min(w0.elapsed().as_secs_f64());
            b.1 = b.1.min(t1 - t0);
            b.2 = b.2.min(p1 - p0);
        }
    }
    best
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One 1:1 pass over the cache-resident references: `rounds` × every reference.
fn pass(refs: &Gallery, rounds: usize, mut cmp: impl FnMut(&[u64], &[u64]) -> u64) {
    let mut acc = 0u64;
    for _ in 0..rounds {
        for e in refs.iter() {
            acc = acc.wrapping_add(cmp(e.code, e.mask));
        }
    }
    black_box(acc);
}

fn bits(o: openpalm::matching::ComparisonOutcome) -> u64 {
    o.comparison().map_or(0, |c| u64::from(c.differing_bits))
}

fn one_to_one(reps: usize) {
    let cfg = MatchConfig::default();
    let dispatched = Backend::detect();
    let available = Backend::available();
    println!();
    println!(
        "## 1:1, one thread, ±2 × ±2 shifts (25), 1 024 cache-resident references; M comparisons per CPU-second (best of {reps} passes)"
    );
    for (name, g) in bs::geometries() {
        let probe = bs::probe(g);
        let refs = bs::gallery(g, 1024, 11);
        let rounds = 1;
        let n = (rounds * refs.len()) as f64;
        let matchers: Vec<Matcher> = available
            .iter()
            .map(|&b| Matcher::with_backend(&probe, &cfg, b).unwrap())
            .collect();
        let scalar = Matcher::with_backend(&probe, &cfg, Backend::Scalar).unwrap();
        let best = Matcher::with_backend(&probe, &cfg, dispatched).unwrap();
        let mut fs: Vec<Box<dyn FnMut()>> = Vec::new();
        for m in &matchers {
            fs.push(Box::new(|| {
                pass(&refs, rounds, |c, k| bits(m.compare_words(c, k).unwrap()))
            }));
        }
        fs.push(Box::new(|| {
            pass(&refs, rounds, |c, k| {
                bits(best.compare_words_via_sink(c, k))
            })
        }));
        let previous = best.uses_default_kernel();
        if previous {
            fs.push(Box::new(|| {
                pass(&refs, rounds, |c, k| {
                    bits(best.compare_words_previous(c, k))
                })
            }));
        }
        fs.push(Box::new(|| {
            pass(&refs, rounds, |c, k| {
                bits(scalar.compare_words_scalar_native(c, k))
            })
        }));

        let mut refs_mut: Vec<&mut dyn FnMut()> = fs.iter_mut().map(|f| &mut **f as _).collect();
        let t = interleaved(reps, &mut refs_mut);
        let rate = |i: usize| n / t[i].1;
        println!("### {name}: {} bytes per template", g.total_words() * 8);
        let mut by_backend = Vec::new();
        for (i, b) in available.iter().enumerate() {
            println!("  {:<8} {:>8.3} M/s", b.name(), rate(i) / 1e6);
            by_backend.push((*b, rate(i)));
        }
        let k = available.len();
        let of = |b: Backend| {
            by_backend
                .iter()
                .find(|x| x.0 == b)
                .map_or(f64::NAN, |x| x.1)
        };
        let (d, s) = (of(dispatched), of(Backend::Scalar));
        println!(
            "  {dispatched} per-shift sink path (before the best-shift kernels): {:>8.3} M/s",
            rate(k) / 1e6
        );
        let autovec = if previous { k + 2 } else { k + 1 };
        if previous {
            println!(
                "  {dispatched} previous default path (general best-shift kernel, lane-search selection): {:>8.3} M/s | dispatched / previous = {:.3}×",
                rate(k + 1) / 1e6,
                d_of(&by_backend, dispatched) / rate(k + 1)
            );
        }
        println!(
            "  scalar code auto-vectorised for this CPU: {:>8.3} M/s",
            rate(autovec) / 1e6
        );
        println!(
            "  ratios: dispatched ({dispatched}) / scalar = {:.2}× | / auto-vectorised scalar = {:.2}× | best-shift kernel / per-shift sink path = {:.2}×",
            d / s,
            d / rate(autovec),
            d / rate(k)
        );
        if g == Geometry::DEFAULT {
            println!(
                "  dispatched / ceiling ({:.1} M/s/core): {:.0} %",
                CEILING_PER_CORE / 1e6,
                100.0 * d / CEILING_PER_CORE
            );
        }
    }
}

/// The 1:1 kernels timed over short bursts (64 comparisons, best of many): the figure a core
/// reaches when nothing else runs on it, even on a loaded machine.
fn bursts() {
    let g = Geometry::DEFAULT;
    let cfg = MatchConfig::default();
    let probe = bs::probe(g);
    let refs = bs::gallery(g, 64, 11);
    let m = Matcher::new(&probe, &cfg).unwrap();
    let previous = m.uses_default_kernel();
    let mut best = [f64::MAX; 3];
    for _ in 0..3000 {
        for (i, b) in best.iter_mut().enumerate() {
            let t = Instant::now();
            match i {
                0 => pass(&refs, 1, |c, k| bits(m.compare_words(c, k).unwrap())),
                1 => pass(&refs, 1, |c, k| bits(m.compare_words_via_sink(c, k))),
                _ if previous => pass(&refs, 1, |c, k| bits(m.compare_words_previous(c, k))),
                _ => {}
            }
            *b = b.min(t.elapsed().as_secs_f64());
        }
    }
    println!(
        "## bursts of 64 comparisons, best of 3000: compare_words {:.3} M/s | previous default path {} | per-shift sink {:.3} M/s",
        64.0 / best[0] / 1e6,
        if previous {
            format!("{:.3} M/s", 64.0 / best[2] / 1e6)
        } else {
            "n/a".into()
        },
        64.0 / best[1] / 1e6,
    );
}

/// The rate of backend `b` in `(backend, rate)` pairs (NaN when absent).
fn d_of(by_backend: &[(Backend, f64)], b: Backend) -> f64 {
    by_backend
        .iter()
        .find(|x| x.0 == b)
        .map_or(f64::NAN, |x| x.1)
}

fn pools() -> Vec<(usize, rayon::ThreadPool)> {
    [1, 2]
        .into_iter()
        .map(|t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            (t, pool)
        })
        .collect()
}

fn one_to_n(big: &Gallery, max_n: usize) {
    let dispatched = Backend::detect();
    let g = big.geometry();
    let probe = bs::random_template(g, &mut Rng(3));
    let m = Matcher::new(&probe, &MatchConfig::default()).unwrap();
    let pools = pools();
    println!();
    println!(
        "## 1:N search, default geometry, 25 shifts, top-10, {dispatched}: best-shift scan (new) vs per-shift sink scan (old), interleaved"
    );
    let mut n = 10_000;
    while n <= max_n {
        let small;
        let gal = if n == big.len() {
            big
        } else {
            small = bs::prefix(big, n);
            &small
        };
        for (threads, pool) in &pools {
            let reps = if n >= 1_000_000 { 3 } else { 5 };
            let (mut new, mut old) = (
                || {
                    black_box(gal.search_in(pool, &m, 10).unwrap());
                },
                || {
                    black_box(gal.search_in_via_sink(pool, &m, 10).unwrap());
                },
            );
            let t = interleaved(reps, &mut [&mut new, &mut old]);
            let (wall, cpu) = (t[0].0, t[0].2);
            println!(
                "  N = {n:>8}, {threads} thread(s): {:>8.2} ms wall = {:>6.2} M/s ({:>5.2} M/s per thread, {:.0} % of ceiling) | CPU {:>8.2} ms = {:.2} M/s per CPU-second | old: {:>8.2} ms wall | new / old speed: {:.2}×",
                wall * 1e3,
                n as f64 / wall / 1e6,
                n as f64 / wall / 1e6 / *threads as f64,
                100.0 * n as f64 / wall / *threads as f64 / CEILING_PER_CORE,
                cpu * 1e3,
                n as f64 / cpu / 1e6,
                t[1].0 * 1e3,
                t[1].0 / wall,
            );
        }
        n *= 10;
    }
}

/// 1:N over the geometries the default extractors ship (crease BOCV 16×16×6, maximum-curvature
/// vein 16×16×4): the gallery scan against the 1:1 rate of the same kernel on cache-resident
/// references, per thread.
fn shipped_one_to_n(max_n: usize) {
    let cfg = MatchConfig::default();
    let pools = pools();
    println!();
    println!(
        "## 1:N search over the shipped geometries, 25 shifts, top-10, {}: scan rate vs the same geometry's 1:1 rate",
        Backend::detect()
    );
    for (name, g) in [
        ("16x16x6 (BOCV crease)", Geometry::new(16, 16, 6).unwrap()),
        (
            "16x16x4 (max-curvature vein)",
            Geometry::new(16, 16, 4).unwrap(),
        ),
    ] {
        let probe = bs::random_template(g, &mut Rng(3));
        let m = Matcher::new(&probe, &cfg).unwrap();
        let refs = bs::gallery(g, 1024, 11);
        let mut one = || pass(&refs, 1, |c, k| bits(m.compare_words(c, k).unwrap()));
        let t1 = interleaved(40, &mut [&mut one]);
        let rate_1to1 = refs.len() as f64 / t1[0].1;
        let big = bs::gallery(g, max_n, 99);
        println!(
            "  {name}: 1:1 {:.2} M/s per CPU-second; gallery row {} bytes, {} MB",
            rate_1to1 / 1e6,
            big.row_words() * 8,
            big.memory_bytes() / 1_000_000
        );
        let mut n = 100_000;
        while n <= max_n {
            let small;
            let gal = if n == big.len() {
                &big
            } else {
                small = bs::prefix(&big, n);
                &small
            };
            for (threads, pool) in &pools {
                let mut scan = || {
                    black_box(gal.search_in(pool, &m, 10).unwrap());
                };
                let t = interleaved(3, &mut [&mut scan]);
                let per_thread = n as f64 / t[0].0 / *threads as f64;
                println!(
                    "    N = {n:>8}, {threads} thread(s): {:>7.2} ms wall, {:>5.2} M/s per thread = {:.0} % of the 1:1 rate",
                    t[0].0 * 1e3,
                    per_thread / 1e6,
                    100.0 * per_thread / rate_1to1
                );
            }
            n *= 10;
        }
    }
}

fn bandwidth(big: &Gallery) {
    let g = big.geometry();
    let probe = bs::random_template(g, &mut Rng(3));
    let unshifted = Matcher::new(&probe, &MatchConfig::unshifted()).unwrap();
    let pools = pools();
    println!();
    println!(
        "## Unshifted masked scan (top-10) vs simsimd binary Hamming (no mask, no shift, minimum) over the same {} × {} B, interleaved",
        big.len(),
        big.row_words() * 8
    );
    let probe_row: Vec<u64> = {
        let mut v = probe.code_words().to_vec();
        v.extend_from_slice(probe.mask_words());
        v.resize(big.row_words(), 0);
        v
    };
    let probe_bytes = words_as_bytes(&probe_row);
    let row_words = big.row_words();
    let rows = big.row_buffer();
    let bytes = (rows.len() * 8) as f64;
    for (threads, pool) in &pools {
        let mut simsimd = || {
            let best = pool.install(|| bs::simsimd_min_hamming(rows, row_words, probe_bytes));
            black_box(best);
        };
        let mut ours = || {
            black_box(big.search_in(pool, &unshifted, 10).unwrap());
        };
        let mut old = || {
            black_box(big.search_in_via_sink(pool, &unshifted, 10).unwrap());
        };
        let t = interleaved(5, &mut [&mut simsimd, &mut ours, &mut old]);
        println!(
            "  {threads} thread(s): simsimd {:.2} ms wall ({:.1} GB/s), {:.2} ms CPU | unshifted masked scan {:.2} ms wall ({:.1} GB/s), {:.2} ms CPU | ours / simsimd speed: {:.0} % by wall, {:.0} % by CPU time (previous scan: {:.0} % by wall, {:.0} % by CPU time)",
            t[0].0 * 1e3,
            bytes / t[0].0 / 1e9,
            t[0].2 * 1e3,
            t[1].0 * 1e3,
            bytes / t[1].0 / 1e9,
            t[1].2 * 1e3,
            100.0 * t[0].0 / t[1].0,
            100.0 * t[0].2 / t[1].2,
            100.0 * t[0].0 / t[2].0,
            100.0 * t[0].2 / t[2].2,
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "quick");
    if let Some(p) = args.iter().find_map(|a| a.strip_prefix("prefetch=")) {
        let (a, b) = p.split_once(',').expect("prefetch=SHIFTED,SINGLE");
        bs::set_prefetch_rows(a.parse().unwrap(), b.parse().unwrap());
    }
    let start = Instant::now();
    println!("# openpalm matching report");
    println!(
        "load average at start (1/5/15 min): {}   logical CPUs: {}",
        load(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "backends available: {:?}; dispatched: {}; AVX-512 scan prefetch rows (shifted, single shift): {:?}",
        Backend::available(),
        Backend::detect(),
        bs::prefetch_rows()
    );
    if args.iter().any(|a| a == "shipped") {
        shipped_one_to_n(if quick { 100_000 } else { 1_000_000 });
        return;
    }
    if args.iter().any(|a| a == "bursts") {
        bursts();
        return;
    }
    if !args.iter().any(|a| a == "no1to1") {
        one_to_one(40);
    }
    if args.iter().any(|a| a == "1to1") {
        return;
    }
    let max_n = if quick { 100_000 } else { 1_000_000 };
    let build = Instant::now();
    let big = bs::gallery(Geometry::DEFAULT, max_n, 99);
    println!();
    println!(
        "gallery of {max_n} built in {:.2} s, memory_bytes = {} MB",
        build.elapsed().as_secs_f64(),
        big.memory_bytes() / 1_000_000
    );
    if !args.iter().any(|a| a == "no1ton") {
        one_to_n(&big, max_n);
    }
    bandwidth(&big);
    println!();
    println!(
        "load average at end: {}; report took {:.0} s",
        load(),
        start.elapsed().as_secs_f64()
    );
}
