//! Shared setup of `benches/matching.rs` and `examples/matching_report.rs` (random templates and
//! galleries, tuning knobs). Not API: hidden from the documentation and may change at any time.

use std::sync::atomic::Ordering;

use super::{Gallery, kernels};
use crate::template::{Algorithm, Geometry, Modality, PalmTemplate};

/// The algorithm of every generated template.
pub const ALG: Algorithm = Algorithm::new(1, 1, 0);

/// The geometries the benchmarks report: `(label, geometry)`, the default first.
pub fn geometries() -> [(&'static str, Geometry); 6] {
    let g = |r, c, p| Geometry::new(r, c, p).expect("valid benchmark geometry");
    [
        ("32x32x3 (format default)", Geometry::DEFAULT),
        ("16x16x6 (BOCV crease v2, vein BOCV)", g(16, 16, 6)),
        ("16x16x4 (maximum-curvature vein)", g(16, 16, 4)),
        ("16x16x3 (CompCode v2)", g(16, 16, 3)),
        ("32x32x6", g(32, 32, 6)),
        ("64x64x3", g(64, 64, 3)),
    ]
}

/// xorshift64* (deterministic, fast; not for anything but test data).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Random code words and a mask with about 7/8 of the cells valid, in the template layout
/// (padding bits zero).
pub fn random_words(g: Geometry, rng: &mut Rng) -> (Vec<u64>, Vec<u64>) {
    let (w, last) = (g.words_per_plane(), g.last_word_mask());
    let mut code: Vec<u64> = (0..g.code_words()).map(|_| rng.next_u64()).collect();
    let mut mask: Vec<u64> = (0..w)
        .map(|_| rng.next_u64() | rng.next_u64() | rng.next_u64())
        .collect();
    for p in 0..g.planes() {
        code[p * w + w - 1] &= last;
    }
    mask[w - 1] &= last;
    (code, mask)
}

/// A random template (see [`random_words`]).
pub fn random_template(g: Geometry, rng: &mut Rng) -> PalmTemplate {
    let (code, mask) = random_words(g, rng);
    PalmTemplate::new(Modality::Crease, ALG, g, code, mask).expect("valid random template")
}

/// The benchmark probe of geometry `g`.
pub fn probe(g: Geometry) -> PalmTemplate {
    random_template(g, &mut Rng(3))
}

/// A gallery of `n` random references with ids `0..n`.
pub fn gallery(g: Geometry, n: usize, seed: u64) -> Gallery {
    let mut rng = Rng(seed | 1);
    let mut gal = Gallery::new(Modality::Crease, ALG, g);
    gal.reserve(n).expect("gallery memory");
    for id in 0..n as u64 {
        let (code, mask) = random_words(g, &mut rng);
        gal.add_words(id, &code, &mask).expect("valid reference");
    }
    gal
}

/// The first `n` references of `big`, as a gallery of their own.
pub fn prefix(big: &Gallery, n: usize) -> Gallery {
    let mut gal = Gallery::new(big.modality(), big.algorithm(), big.geometry());
    gal.reserve(n).expect("gallery memory");
    for e in big.iter().take(n) {
        gal.add_words(e.id, e.code, e.mask)
            .expect("valid reference");
    }
    gal
}

/// Rows the AVX-512 gallery scans prefetch ahead: `(shifted window, single shift)`.
pub fn prefetch_rows() -> (usize, usize) {
    (
        kernels::PREFETCH_ROWS[0].load(Ordering::Relaxed),
        kernels::PREFETCH_ROWS[1].load(Ordering::Relaxed),
    )
}

/// Sets the prefetch distances of [`prefetch_rows`], in rows, for tuning experiments (0 prefetches
/// the row being compared, which is already on its way: in effect no software prefetch).
pub fn set_prefetch_rows(shifted: usize, single: usize) {
    kernels::PREFETCH_ROWS[0].store(shifted, Ordering::Relaxed);
    kernels::PREFETCH_ROWS[1].store(single, Ordering::Relaxed);
}

/// The bandwidth baseline: simsimd's binary Hamming distance (no mask, no shift) of
/// `probe_bytes` against every `row_words`-word row of `rows`, minimised, in parallel on the
/// current rayon pool (run it inside `pool.install`). The same bytes the unshifted masked scan
/// streams, so the ratio of the two is the masked scan's fraction of the bandwidth limit.
pub fn simsimd_min_hamming(rows: &[u64], row_words: usize, probe_bytes: &[u8]) -> f64 {
    use rayon::prelude::*;
    use simsimd::BinarySimilarity;
    rows.par_chunks(row_words * 1024)
        .map(|chunk| {
            chunk
                .chunks_exact(row_words)
                .map(|r| {
                    u8::hamming(probe_bytes, kernels::words_as_bytes(r))
                        .expect("probe and rows have the same length")
                })
                .fold(f64::MAX, f64::min)
        })
        .reduce(|| f64::MAX, f64::min)
}
