//! Property tests of the matching engine against naive references:
//! every backend = scalar reference, bit for bit; the shifted fast path = "shift the probe in cell
//! space, then compare unshifted"; both = a cell-by-cell naive count; d(a, a) = 0 with full
//! overlap; symmetry; d ∈ [0, 1]; gallery search = sorting every comparison.

use openpalm::matching::{
    Backend, Candidate, ComparisonOutcome, Gallery, MatchConfig, Matcher, Shift,
};
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
use proptest::prelude::*;

const ALG: Algorithm = Algorithm::new(1, 1, 0);

/// How a template's mask is drawn.
#[derive(Debug, Clone, Copy)]
enum MaskKind {
    Zero,
    One,
    /// Valid with probability `k / 8`.
    Random(u8),
    /// A rectangle of valid cells (like an ROI partly off the hand).
    Rect(u8, u8, u8, u8),
}

fn mask_kind() -> impl Strategy<Value = MaskKind> {
    prop_oneof![
        1 => Just(MaskKind::Zero),
        3 => Just(MaskKind::One),
        4 => (1u8..=8).prop_map(MaskKind::Random),
        2 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| MaskKind::Rect(a, b, c, d)),
    ]
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn template(g: Geometry, mask: MaskKind, seed: u64) -> PalmTemplate {
    let mut rng = Rng(seed | 1);
    let n = g.cells();
    let code: Vec<bool> = (0..n * g.planes()).map(|_| rng.next() >> 63 == 1).collect();
    let valid: Vec<bool> = (0..n)
        .map(|i| {
            let (r, c) = (i / g.cols(), i % g.cols());
            match mask {
                MaskKind::Zero => false,
                MaskKind::One => true,
                MaskKind::Random(k) => (rng.next() >> 61) < u64::from(k),
                MaskKind::Rect(a, b, h, w) => {
                    let (r0, c0) = (a as usize % g.rows(), b as usize % g.cols());
                    r >= r0
                        && r < r0 + h as usize % g.rows() + 1
                        && c >= c0
                        && c < c0 + w as usize % g.cols() + 1
                }
            }
        })
        .collect();
    PalmTemplate::from_fn(
        Modality::Crease,
        ALG,
        g,
        |p, r, c| code[p * n + r * g.cols() + c],
        |r, c| valid[r * g.cols() + c],
    )
}

/// The probe moved by `s` in cell space: cell `(r, c)` of the result is probe cell
/// `(r − dy, c − dx)`, invalid (and zero) when that is off the grid.
fn shift_naive(t: &PalmTemplate, s: Shift) -> PalmTemplate {
    let g = t.geometry();
    let src = |r: usize, c: usize| -> Option<(usize, usize)> {
        let (sr, sc) = (r as isize - s.dy as isize, c as isize - s.dx as isize);
        ((0..g.rows() as isize).contains(&sr) && (0..g.cols() as isize).contains(&sc))
            .then_some((sr as usize, sc as usize))
    };
    PalmTemplate::from_fn(
        t.modality(),
        t.algorithm(),
        g,
        |p, r, c| src(r, c).is_some_and(|(sr, sc)| t.bit(p, sr, sc)),
        |r, c| src(r, c).is_some_and(|(sr, sc)| t.is_valid(sr, sc)),
    )
}

/// Cell-by-cell `(differing bits, overlap cells)` of `a` moved by `s` against `b`.
fn naive_counts(a: &PalmTemplate, b: &PalmTemplate, s: Shift) -> (u32, u32) {
    let g = a.geometry();
    let (mut num, mut den) = (0, 0);
    for r in 0..g.rows() {
        for c in 0..g.cols() {
            let (sr, sc) = (r as isize - s.dy as isize, c as isize - s.dx as isize);
            if !(0..g.rows() as isize).contains(&sr) || !(0..g.cols() as isize).contains(&sc) {
                continue;
            }
            let (sr, sc) = (sr as usize, sc as usize);
            if a.is_valid(sr, sc) && b.is_valid(r, c) {
                den += 1;
                num += (0..g.planes())
                    .filter(|&p| a.bit(p, sr, sc) != b.bit(p, r, c))
                    .count() as u32;
            }
        }
    }
    (num, den)
}

fn geometry() -> impl Strategy<Value = Geometry> {
    prop_oneof![
        3 => (1u16..=40, 1u16..=70, 1u8..=7).prop_map(|(r, c, p)| Geometry::new(r, c, p).unwrap()),
        1 => Just(Geometry::DEFAULT),
        1 => Just(Geometry::new(32, 32, 6).unwrap()),
        1 => Just(Geometry::new(16, 16, 3).unwrap()),
        1 => Just(Geometry::new(16, 16, 4).unwrap()),
        1 => Just(Geometry::new(16, 16, 6).unwrap()),
        1 => Just(Geometry::new(16, 32, 3).unwrap()),
        1 => Just(Geometry::new(9, 7, 3).unwrap()),
    ]
}

fn config() -> impl Strategy<Value = MatchConfig> {
    (0u8..=4, 0u8..=4, 0.0f64..0.6, 1u32..=4).prop_map(|(r, c, f, n)| MatchConfig {
        max_shift_rows: r,
        max_shift_cols: c,
        min_overlap_fraction: f,
        min_overlap_cells: n,
    })
}

/// `cfg` with the absolute minimum overlap capped at the grid's cells (asking for more is a
/// configuration error, tested in the unit tests).
fn fit(cfg: MatchConfig, t: &PalmTemplate) -> MatchConfig {
    let cells = t.geometry().cells() as u32;
    MatchConfig {
        min_overlap_cells: cfg.min_overlap_cells.min(cells),
        ..cfg
    }
}

/// Templates with matching geometry: a probe and a reference.
fn pair() -> impl Strategy<Value = (PalmTemplate, PalmTemplate)> {
    (
        geometry(),
        mask_kind(),
        mask_kind(),
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(g, ma, mb, sa, sb, related)| {
            let a = template(g, ma, sa);
            // Half the time the reference is a noisy copy of the probe (small distances).
            let b = if related {
                let noise = template(g, MaskKind::One, sb);
                let mut rng = Rng(sb ^ 0x5555);
                let mut rng2 = Rng(sb ^ 0xAAAA);
                PalmTemplate::from_fn(
                    Modality::Crease,
                    ALG,
                    g,
                    |p, r, c| a.bit(p, r, c) ^ (noise.bit(p, r, c) && rng.next() >> 62 == 0),
                    |r, c| match mb {
                        MaskKind::Zero => false,
                        _ => a.is_valid(r, c) || rng2.next() >> 63 == 0,
                    },
                )
            } else {
                template(g, mb, sb)
            };
            (a, b)
        })
}

proptest! {
    // 160 cases by default (fast); set PROPTEST_CASES for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(160),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_backend_equals_the_scalar_reference((a, b) in pair(), cfg in config()) {
        let cfg = fit(cfg, &a);
        let scalar = Matcher::with_backend(&a, &cfg, Backend::Scalar).unwrap();
        let want_scores = scalar.shift_scores(&b).unwrap();
        let want = scalar.compare(&b).unwrap();
        for backend in Backend::available() {
            let m = Matcher::with_backend(&a, &cfg, backend).unwrap();
            prop_assert_eq!(m.shift_scores(&b).unwrap(), want_scores.clone(), "{}", backend);
            let got = m.compare(&b).unwrap();
            prop_assert_eq!(got, want, "{}", backend);
            prop_assert_eq!(m.compare_words(b.code_words(), b.mask_words()).unwrap(), want);
        }
        // The auto-vectorised build of the scalar code (a benchmark baseline) agrees too.
        prop_assert_eq!(scalar.compare_words_scalar_native(b.code_words(), b.mask_words()), want);
    }

    #[test]
    fn shifted_fast_path_equals_shift_then_compare((a, b) in pair(), cfg in config()) {
        let cfg = fit(cfg, &a);
        let m = Matcher::new(&a, &cfg).unwrap();
        let scores = m.shift_scores(&b).unwrap();
        prop_assert_eq!(scores.len(), cfg.shift_count());
        let unshifted = MatchConfig { max_shift_rows: 0, max_shift_cols: 0, ..cfg.clone() };
        for s in scores {
            let moved = shift_naive(&a, s.shift);
            let single = Matcher::new(&moved, &unshifted).unwrap().shift_scores(&b).unwrap();
            prop_assert_eq!(single.len(), 1);
            prop_assert_eq!((single[0].differing_bits, single[0].overlap_cells),
                (s.differing_bits, s.overlap_cells), "shift {}", s.shift);
            prop_assert_eq!(naive_counts(&a, &b, s.shift), (s.differing_bits, s.overlap_cells));
        }
    }

    #[test]
    fn best_shift_is_the_documented_minimum((a, b) in pair(), cfg in config()) {
        let cfg = fit(cfg, &a);
        let m = Matcher::new(&a, &cfg).unwrap();
        let req = m.required_overlap_cells();
        let planes = a.geometry().planes() as u64;
        let qualifying: Vec<_> = m.shift_scores(&b).unwrap().into_iter()
            .filter(|s| s.overlap_cells >= req).collect();
        match m.compare(&b).unwrap() {
            ComparisonOutcome::Compared(c) => {
                prop_assert!((0.0..=1.0).contains(&c.distance));
                prop_assert_eq!(c.overlap_bits as u64, planes * c.overlap_cells as u64);
                prop_assert_eq!(c.distance, c.differing_bits as f64 / c.overlap_bits as f64);
                // Naive arg-min: by exact fraction, then larger overlap, then canonical order.
                let best = qualifying.iter().min_by(|x, y| {
                    (x.differing_bits as u64 * y.overlap_cells as u64)
                        .cmp(&(y.differing_bits as u64 * x.overlap_cells as u64))
                        .then(y.overlap_cells.cmp(&x.overlap_cells))
                        .then((x.shift.l1(), x.shift).cmp(&(y.shift.l1(), y.shift)))
                }).unwrap();
                prop_assert_eq!((c.differing_bits, c.overlap_cells, c.shift),
                    (best.differing_bits, best.overlap_cells, best.shift));
            }
            ComparisonOutcome::InsufficientOverlap { best_overlap_cells, required_cells } => {
                prop_assert!(qualifying.is_empty());
                prop_assert_eq!(required_cells, req);
                let max = m.shift_scores(&b).unwrap().iter().map(|s| s.overlap_cells).max().unwrap();
                prop_assert_eq!(best_overlap_cells, max);
            }
        }
    }

    #[test]
    fn self_distance_is_zero_with_full_overlap((a, _b) in pair(), cfg in config()) {
        let cfg = fit(cfg, &a);
        let m = Matcher::new(&a, &cfg).unwrap();
        let valid = a.valid_cells() as u32;
        match m.compare(&a).unwrap() {
            ComparisonOutcome::Compared(c) => {
                prop_assert_eq!(c.distance, 0.0);
                prop_assert_eq!(c.overlap_cells, valid);
                prop_assert_eq!(c.shift, Shift::new(0, 0));
            }
            ComparisonOutcome::InsufficientOverlap { best_overlap_cells, required_cells } => {
                prop_assert_eq!(best_overlap_cells, valid);
                prop_assert!(valid < required_cells);
            }
        }
    }

    #[test]
    fn per_shift_counts_are_symmetric((a, b) in pair(), cfg in config()) {
        let cfg = fit(cfg, &a);
        let ab = Matcher::new(&a, &cfg).unwrap().shift_scores(&b).unwrap();
        let ba = Matcher::new(&b, &cfg).unwrap().shift_scores(&a).unwrap();
        for s in &ab {
            let t = ba.iter().find(|t| t.shift == s.shift.neg()).unwrap();
            prop_assert_eq!((s.differing_bits, s.overlap_cells), (t.differing_bits, t.overlap_cells));
        }
    }

    #[test]
    fn gallery_search_equals_sorting_every_comparison(
        g in geometry(), seeds in proptest::collection::vec((any::<u64>(), mask_kind()), 1..40),
        probe_seed in any::<u64>(), k in 1usize..12, remove in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let mut gallery = Gallery::new(Modality::Crease, ALG, g);
        for (i, (s, mk)) in seeds.iter().enumerate() {
            // Repeated seeds give exact ties: broken by id.
            gallery.add(1000 - i as u64, &template(g, *mk, *s % 8)).unwrap();
        }
        for ix in remove {
            if gallery.is_empty() { break; }
            let id = gallery.ids()[ix.index(gallery.len())];
            gallery.remove(id).unwrap();
        }
        let probe = template(g, MaskKind::One, probe_seed % 8);
        let cfg = MatchConfig { min_overlap_fraction: 0.2, ..MatchConfig::default() };
        for backend in Backend::available() {
            let m = Matcher::with_backend(&probe, &cfg, backend).unwrap();
            let mut all: Vec<Candidate> = gallery.iter().filter_map(|e| {
                m.compare_words(e.code, e.mask).unwrap().comparison()
                    .map(|comparison| Candidate { id: e.id, comparison })
            }).collect();
            all.sort_by(|x, y| x.comparison.cmp_distance(&y.comparison).then(x.id.cmp(&y.id)));
            all.truncate(k);
            prop_assert_eq!(gallery.search(&m, k).unwrap(), all.clone());
            prop_assert_eq!(gallery.search_sequential(&m, k).unwrap(), all);
        }
    }
}

/// Geometries with a dedicated AVX-512 best-shift kernel (8 or 16 words per plane), and a few
/// without.
fn fast_path_geometry() -> impl Strategy<Value = Geometry> {
    prop_oneof![
        3 => Just(Geometry::DEFAULT),
        1 => Just(Geometry::new(32, 32, 6).unwrap()),
        1 => Just(Geometry::new(32, 32, 1).unwrap()),
        1 => Just(Geometry::new(16, 32, 3).unwrap()),
        1 => Just(Geometry::new(16, 32, 8).unwrap()),
        1 => Just(Geometry::new(16, 16, 3).unwrap()),
        1 => Just(Geometry::new(16, 16, 4).unwrap()),
        1 => Just(Geometry::new(16, 16, 6).unwrap()),
        1 => Just(Geometry::new(64, 64, 3).unwrap()),
        1 => (1u16..=20, 1u16..=40, 1u8..=4).prop_map(|(r, c, p)| Geometry::new(r, c, p).unwrap()),
    ]
}

/// A template whose codes are all zero (every qualifying shift has distance 0: exact ties on the
/// fraction, decided by the overlap and then the shift order) or random.
fn maybe_flat(g: Geometry, mask: MaskKind, seed: u64, flat: bool) -> PalmTemplate {
    let t = template(g, mask, seed);
    if !flat {
        return t;
    }
    PalmTemplate::from_fn(
        Modality::Crease,
        ALG,
        g,
        |_, _, _| false,
        |r, c| t.is_valid(r, c),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    /// The best-shift kernels (and the previous per-shift sink path) agree with the scalar
    /// reference, including exact ties on the fraction.
    #[test]
    fn best_shift_kernels_equal_the_scalar_reference(
        g in fast_path_geometry(), ma in mask_kind(), mb in mask_kind(), sa in any::<u64>(),
        sb in any::<u64>(), flat in any::<bool>(), cfg in config(),
    ) {
        let a = maybe_flat(g, ma, sa, flat);
        let b = maybe_flat(g, mb, sb, flat);
        let cfg = fit(cfg, &a);
        let want = Matcher::with_backend(&a, &cfg, Backend::Scalar).unwrap().compare(&b).unwrap();
        for backend in Backend::available() {
            let m = Matcher::with_backend(&a, &cfg, backend).unwrap();
            prop_assert_eq!(m.compare(&b).unwrap(), want, "{}", backend);
            prop_assert_eq!(m.compare_words_via_sink(b.code_words(), b.mask_words()), want, "{}", backend);
        }
    }

    /// The default ±2 × ±2 window on the best-shift geometries: the dedicated default-geometry
    /// kernel (AVX-512, 32 × 32 × 3) and the unrolled 25-shift kernels of the others agree with
    /// the scalar reference through every entry point, including exact ties on the fraction (flat
    /// codes), all-zero and all-one masks and overlap requirements from 1 cell to all of them
    /// (none qualifying: the general path's explicit outcome); the default kernel also agrees with
    /// the previous default path.
    #[test]
    fn window25_kernels_equal_the_scalar_reference(
        g in fast_path_geometry(), ma in mask_kind(), mb in mask_kind(), sa in any::<u64>(),
        sb in any::<u64>(), flat in any::<bool>(), fraction in 0.0f64..=1.0, cells in 1u32..=1024,
    ) {
        let a = maybe_flat(g, ma, sa, flat);
        let b = maybe_flat(g, mb, sb, flat);
        let cfg = MatchConfig {
            min_overlap_fraction: fraction,
            min_overlap_cells: cells.min(g.cells() as u32),
            ..MatchConfig::default()
        };
        let want = Matcher::with_backend(&a, &cfg, Backend::Scalar).unwrap().compare(&b).unwrap();
        for backend in Backend::available() {
            let m = Matcher::with_backend(&a, &cfg, backend).unwrap();
            prop_assert_eq!(
                m.uses_default_kernel(),
                backend.name() == "avx512" && g == Geometry::DEFAULT
            );
            prop_assert_eq!(m.compare(&b).unwrap(), want, "{}", backend);
            prop_assert_eq!(m.compare_words(b.code_words(), b.mask_words()).unwrap(), want, "{}", backend);
            if m.uses_default_kernel() {
                prop_assert_eq!(m.compare_words_previous(b.code_words(), b.mask_words()), want);
            }
        }
    }

    /// Gallery top-k (every search entry point, every backend, shifted and single-shift windows,
    /// enough references to fill the eight-row groups of the single-shift scan and leave a
    /// remainder) = comparing each reference with the scalar reference matcher and sorting by
    /// exact distance then id; references with too little overlap are left out.
    #[test]
    fn gallery_top_k_equals_naive_compare_and_sort(
        g in fast_path_geometry(),
        refs in proptest::collection::vec((0u64..6, mask_kind(), any::<bool>()), 0..70),
        probe_seed in any::<u64>(), probe_mask in mask_kind(), k in 1usize..80,
        rows in 0u8..=3, cols in 0u8..=3, frac in 0.0f64..0.9,
    ) {
        let cfg = MatchConfig {
            max_shift_rows: rows, max_shift_cols: cols, min_overlap_fraction: frac, min_overlap_cells: 1,
        };
        let mut gallery = Gallery::new(Modality::Crease, ALG, g);
        for (i, (seed, mk, flat)) in refs.iter().enumerate() {
            // Few distinct seeds: exact ties between references, broken by id (ids descend, so
            // the id order is not the row order).
            gallery.add(5000 - 7 * i as u64, &maybe_flat(g, *mk, *seed, *flat)).unwrap();
        }
        let probe = template(g, probe_mask, probe_seed);
        let scalar = Matcher::with_backend(&probe, &cfg, Backend::Scalar).unwrap();
        let mut want: Vec<Candidate> = gallery.iter().filter_map(|e| {
            scalar.compare_words(e.code, e.mask).unwrap().comparison()
                .map(|comparison| Candidate { id: e.id, comparison })
        }).collect();
        want.sort_by(|x, y| x.comparison.cmp_distance(&y.comparison).then(x.id.cmp(&y.id)));
        want.truncate(k);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for backend in Backend::available() {
            let m = Matcher::with_backend(&probe, &cfg, backend).unwrap();
            prop_assert_eq!(gallery.search(&m, k).unwrap(), want.clone(), "{}", backend);
            prop_assert_eq!(gallery.search_sequential(&m, k).unwrap(), want.clone(), "{}", backend);
            prop_assert_eq!(gallery.search_in(&pool, &m, k).unwrap(), want.clone(), "{}", backend);
            prop_assert_eq!(gallery.search_in_via_sink(&pool, &m, k).unwrap(), want.clone(), "{}", backend);
        }
    }
}

#[test]
fn matcher_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Matcher>();
    check::<Gallery>();
}
