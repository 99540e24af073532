//! Prints the matching engine's throughput figures and ratios in one run.
//!
//! ```text
//! cargo run --release --example matching_report            # everything (builds a 10⁶ gallery, 512 MB)
//! cargo run --release --example matching_report -- quick   # 1:1 figures and N ≤ 10⁵ only
//! ```
//!
//! Each figure is the median of several timed repetitions (`std::time::Instant`). The machine's
//! load average is printed first: other processes on the same cores make every figure lower.

use std::hint::black_box;
use std::time::Instant;

use openpalm::matching::{Backend, Gallery, MatchConfig, Matcher, words_as_bytes};
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
use rayon::prelude::*;
use simsimd::BinarySimilarity;

const ALG: Algorithm = Algorithm::new(1, 1, 0);
/// The per-core ceiling measured for this machine (shifted comparisons/s, default geometry).
const CEILING_PER_CORE: f64 = 8.6e6;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Random code; about 7/8 of the cells valid.
fn random_words(g: Geometry, rng: &mut Rng) -> (Vec<u64>, Vec<u64>) {
    let last = g.last_word_mask();
    let w = g.words_per_plane();
    let mut code: Vec<u64> = (0..g.code_words()).map(|_| rng.next()).collect();
    let mut mask: Vec<u64> = (0..w)
        .map(|_| rng.next() | rng.next() | rng.next())
        .collect();
    for p in 0..g.planes() {
        code[p * w + w - 1] &= last;
    }
    mask[w - 1] &= last;
    (code, mask)
}

fn random_template(g: Geometry, rng: &mut Rng) -> PalmTemplate {
    let (code, mask) = random_words(g, rng);
    PalmTemplate::new(Modality::Crease, ALG, g, code, mask).unwrap()
}

fn gallery(g: Geometry, n: usize, seed: u64) -> Gallery {
    let mut rng = Rng(seed);
    let mut gal = Gallery::new(Modality::Crease, ALG, g);
    gal.reserve(n).unwrap();
    for id in 0..n as u64 {
        let (code, mask) = random_words(g, &mut rng);
        gal.add_words(id, &code, &mask).unwrap();
    }
    gal
}

/// CPU time of this process (all threads), in seconds.
fn process_cpu_secs() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is always supported on
    // Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Median wall-clock seconds and median process-CPU seconds of `reps` runs of `f`. On a machine
/// shared with other work, CPU seconds (time our threads actually ran) are the steadier figure.
fn median_secs(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up
    let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..reps)
        .map(|_| {
            let (start, c0) = (Instant::now(), process_cpu_secs());
            f();
            (start.elapsed().as_secs_f64(), process_cpu_secs() - c0)
        })
        .unzip();
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (wall[wall.len() / 2], cpu[cpu.len() / 2])
}

/// 1:1 comparisons per CPU-second on this thread, over `refs` (cache-resident).
fn one_to_one(m: &Matcher, refs: &Gallery, native_scalar: bool, reps: usize) -> f64 {
    let rounds = 4;
    let (_wall, secs) = median_secs(reps, || {
        let mut acc = 0u64;
        for _ in 0..rounds {
            for e in refs.iter() {
                let o = if native_scalar {
                    m.compare_words_scalar_native(e.code, e.mask)
                } else {
                    m.compare_words(e.code, e.mask).unwrap()
                };
                acc += o.comparison().map_or(0, |c| u64::from(c.differing_bits));
            }
        }
        black_box(acc);
    });
    (rounds * refs.len()) as f64 / secs
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = 5;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("# openpalm matching report");
    println!(
        "load average (1/5/15 min): {}   logical CPUs: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let available = Backend::available();
    let dispatched = Backend::detect();
    println!("backends available: {available:?}; dispatched: {dispatched}");

    let cfg = MatchConfig::default();
    let geometries = [
        ("32×32×3 (default, CompCode-like)", Geometry::DEFAULT),
        ("16×16×3", Geometry::new(16, 16, 3).unwrap()),
        ("32×32×6 (BOCV-like)", Geometry::new(32, 32, 6).unwrap()),
        ("64×64×3", Geometry::new(64, 64, 3).unwrap()),
    ];
    println!();
    println!("## 1:1, one thread, ±2 × ±2 shifts (25), references cache-resident, per CPU-second");
    for (name, g) in geometries {
        let mut rng = Rng(7);
        let probe = random_template(g, &mut rng);
        let refs = gallery(g, 1024, 11);
        println!("### {name}: {} bytes per template", g.total_words() * 8);
        let native = {
            let m = Matcher::with_backend(&probe, &cfg, Backend::Scalar).unwrap();
            one_to_one(&m, &refs, true, reps)
        };
        let mut plain_scalar = 0.0;
        let mut best = 0.0;
        for &b in &available {
            let m = Matcher::with_backend(&probe, &cfg, b).unwrap();
            let r = one_to_one(&m, &refs, false, reps);
            if b == Backend::Scalar {
                plain_scalar = r;
            }
            if b == dispatched {
                best = r;
            }
            println!("  {:<8} {:>8.3} M comparisons/s", b.name(), r / 1e6);
        }
        println!(
            "  scalar code auto-vectorised for this CPU: {:>8.3} M/s",
            native / 1e6
        );
        println!(
            "  dispatched ({dispatched}) / scalar reference (baseline target): {:.2}×",
            best / plain_scalar
        );
        println!(
            "  dispatched ({dispatched}) / scalar auto-vectorised for this CPU: {:.2}×",
            best / native
        );
        if g == Geometry::DEFAULT {
            println!(
                "  dispatched / ceiling ({:.1} M/s/core): {:.0} %",
                CEILING_PER_CORE / 1e6,
                100.0 * best / CEILING_PER_CORE
            );
        }
    }

    println!();
    println!("## 1:N search, default geometry, top-10, dispatched backend ({dispatched})");
    let g = Geometry::DEFAULT;
    let max_n = if quick { 100_000 } else { 1_000_000 };
    let build = Instant::now();
    let big = gallery(g, max_n, 99);
    println!(
        "gallery of {max_n} built in {:.2} s, memory_bytes = {} MB",
        build.elapsed().as_secs_f64(),
        big.memory_bytes() / 1_000_000
    );
    let mut rng = Rng(3);
    let probe = random_template(g, &mut rng);
    let shifted = Matcher::new(&probe, &cfg).unwrap();
    let unshifted = Matcher::new(&probe, &MatchConfig::unshifted()).unwrap();
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
    let mut n = 10_000;
    while n <= max_n {
        let gal = if n == max_n {
            None
        } else {
            let mut small = Gallery::like(&probe);
            small.reserve(n).unwrap();
            for e in big.iter().take(n) {
                small.add_words(e.id, e.code, e.mask).unwrap();
            }
            Some(small)
        };
        let gal = gal.as_ref().unwrap_or(&big);
        for (threads, pool) in &pools {
            let reps = if n >= 1_000_000 { 3 } else { reps };
            let (s, cpu) = median_secs(reps, || {
                black_box(gal.search_in(pool, &shifted, 10).unwrap());
            });
            let per_cpu = n as f64 / cpu;
            println!(
                "  N = {n:>8}, {threads} thread(s): wall {:>8.2} ms ({:>6.2} M/s) | CPU {:>8.2} ms: {:.2} M/s per CPU-second = {:.0} % of ceiling; {:.2} ms wall if each thread had its core",
                s * 1e3,
                n as f64 / s / 1e6,
                cpu * 1e3,
                per_cpu / 1e6,
                100.0 * per_cpu / CEILING_PER_CORE,
                cpu * 1e3 / *threads as f64,
            );
        }
        n *= 10;
    }

    println!();
    println!(
        "## Unshifted scan vs simsimd binary Hamming (no mask, no shift) over the same {max_n} × 512 B"
    );
    let probe_row: Vec<u64> = {
        let mut v = probe.code_words().to_vec();
        v.extend_from_slice(probe.mask_words());
        v
    };
    let probe_bytes = words_as_bytes(&probe_row);
    let row_words = big.row_words();
    let rows = big.row_buffer();
    let bytes = (rows.len() * 8) as f64;
    for (threads, pool) in &pools {
        let reps = 5;
        let (simsimd_s, simsimd_cpu) = median_secs(reps, || {
            let best = pool.install(|| {
                rows.par_chunks(row_words * 1024)
                    .map(|chunk| {
                        chunk
                            .chunks_exact(row_words)
                            .map(|r| u8::hamming(probe_bytes, words_as_bytes(r)).unwrap())
                            .fold(f64::MAX, f64::min)
                    })
                    .reduce(|| f64::MAX, f64::min)
            });
            black_box(best);
        });
        let (ours_s, ours_cpu) = median_secs(reps, || {
            black_box(big.search_in(pool, &unshifted, 10).unwrap());
        });
        println!(
            "  {threads} thread(s): simsimd wall {:.2} ms ({:.1} GB/s), CPU {:.2} ms | unshifted masked scan wall {:.2} ms ({:.1} GB/s), CPU {:.2} ms | ours / simsimd speed: {:.0} % by wall, {:.0} % by CPU time",
            simsimd_s * 1e3,
            bytes / simsimd_s / 1e9,
            simsimd_cpu * 1e3,
            ours_s * 1e3,
            bytes / ours_s / 1e9,
            ours_cpu * 1e3,
            100.0 * simsimd_s / ours_s,
            100.0 * simsimd_cpu / ours_cpu
        );
    }
}
