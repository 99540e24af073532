//! The prepared probe.

use super::aligned::{AlignedWords, round_up_to_line};
use super::kernels::{self, Layout, RowSink, ShiftSink};
use super::{Backend, Comparison, ComparisonOutcome, Kind, MatchConfig, MatchingError, Shift};
use crate::error::{ConfigError, ConfigIssue, LimitError};
use crate::template::{Algorithm, Geometry, Modality, PalmTemplate};

/// Most bytes a [`Matcher`] may allocate for its shifted probe copies (64 MiB; the default
/// geometry and window need 12.5 KiB, the largest geometry with a ±8 window would need ~640 MiB).
pub const MAX_PREPARED_BYTES: u64 = 64 << 20;

/// A probe prepared for comparison with many references.
///
/// Building it does the per-probe work once: every shifted copy of the probe's code and mask in
/// the window, re-packed in the reference layout (cells shifted in from outside the grid are
/// invalid), laid out contiguously in one 64-byte aligned block in the canonical shift order.
/// Comparing is then `&self`, allocation-free and thread-safe (`Matcher: Send + Sync`).
#[derive(Debug, Clone)]
pub struct Matcher {
    kind: Kind,
    config: MatchConfig,
    backend: Backend,
    layout: Layout,
    shifts: Box<[Shift]>,
    variants: AlignedWords,
    required_overlap: u32,
    /// [`kernels::has_default_kernel`] holds: comparisons take [`kernels::best_default`].
    default_kernel: bool,
}

/// The exact counts at one shift (see [`Matcher::shift_scores`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftScore {
    /// The shift.
    pub shift: Shift,
    /// Differing code bits in the overlap, over all planes.
    pub differing_bits: u32,
    /// Cells valid in both.
    pub overlap_cells: u32,
}

/// Picks the best shift from the exact counts with the tie-break documented in the module:
/// smaller fraction, then larger overlap, then smaller index (the canonical order). Shared by every
/// backend, so every backend picks the same shift.
///
/// That rule is a total order, so the minimum can be taken in any grouping: even and odd shift
/// indices go to two independent running minima (halving the dependency chain of the branch-free
/// updates), merged by [`Selector::finish`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selector {
    pub(crate) num: u32,
    /// 0 = nothing qualified yet (the sentinel `1/0` loses to every real fraction).
    pub(crate) den: u32,
    pub(crate) index: u32,
    /// The odd-index lane (merged into the fields above by `finish`).
    odd: (u32, u32, u32),
    /// The largest overlap of any shift; only meaningful when nothing qualified (vectorised
    /// kernels fill in the winner's overlap otherwise).
    pub(crate) max_overlap: u32,
    pub(crate) required: u32,
}

/// Whether `(n, d, i)` beats `(bn, bd, bi)` under the total order (qualification is checked by
/// the caller). Branch-free.
#[inline(always)]
fn beats(n: u32, d: u32, i: u32, bn: u32, bd: u32, bi: u32) -> bool {
    let lhs = u64::from(n) * u64::from(bd);
    let rhs = u64::from(bn) * u64::from(d);
    (lhs < rhs) | ((lhs == rhs) & ((d > bd) | ((d == bd) & (i < bi))))
}

/// `if take { new } else { old }` without a jump.
#[inline(always)]
fn pick(take: bool, new: u32, old: u32) -> u32 {
    let keep = (take as u32).wrapping_sub(1); // all ones when not taken
    (old & keep) | (new & !keep)
}

impl Selector {
    #[inline(always)]
    pub(crate) fn new(required: u32) -> Self {
        Self {
            num: 1,
            den: 0,
            index: u32::MAX,
            odd: (1, 0, u32::MAX),
            max_overlap: 0,
            required,
        }
    }

    /// Merges the two lanes; call once after the kernel ran.
    #[inline(always)]
    pub(crate) fn finish(&mut self) {
        let (n, d, i) = self.odd;
        let take = beats(n, d, i, self.num, self.den, self.index) & (d != 0);
        self.num = pick(take, n, self.num);
        self.den = pick(take, d, self.den);
        self.index = pick(take, i, self.index);
        self.odd = (1, 0, u32::MAX);
    }

    /// The selection of a vectorised kernel that already picked shift `index` (`den ≥ required`).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn chosen(num: u32, den: u32, index: u32, required: u32) -> Self {
        debug_assert!(den >= required && den != 0);
        Self {
            num,
            den,
            index,
            odd: (1, 0, u32::MAX),
            max_overlap: den,
            required,
        }
    }

    /// The selection when no shift had the required overlap; `max_overlap` is the largest overlap
    /// of any shift.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn none(max_overlap: u32, required: u32) -> Self {
        Self {
            max_overlap,
            ..Self::new(required)
        }
    }

    /// Whether some shift had the required overlap.
    #[inline(always)]
    pub(crate) fn found(&self) -> bool {
        self.den != 0
    }
}

impl ShiftSink for Selector {
    #[inline(always)]
    fn offer(&mut self, s: usize, num: u32, den: u32) {
        // Branch-free updates: which shift wins is data-dependent and unpredictable.
        let i = s as u32;
        let ok = den >= self.required;
        if s & 1 == 0 {
            let take = ok & beats(num, den, i, self.num, self.den, self.index);
            self.num = pick(take, num, self.num);
            self.den = pick(take, den, self.den);
            self.index = pick(take, i, self.index);
        } else {
            let (bn, bd, bi) = self.odd;
            let take = ok & beats(num, den, i, bn, bd, bi);
            self.odd = (pick(take, num, bn), pick(take, den, bd), pick(take, i, bi));
        }
        self.max_overlap = self.max_overlap.max(den);
    }
}

/// Collects every shift's counts (diagnostics; allocates).
struct Collect<'a> {
    shifts: &'a [Shift],
    out: Vec<ShiftScore>,
}

impl ShiftSink for Collect<'_> {
    fn offer(&mut self, s: usize, num: u32, den: u32) {
        self.out.push(ShiftScore {
            shift: self.shifts[s],
            differing_bits: num,
            overlap_cells: den,
        });
    }
}

impl Matcher {
    /// Prepares `probe` with the backend chosen by [`Backend::selected`] (the fastest available,
    /// unless `OPENPALM_BACKEND` forces one).
    ///
    /// Fails with [`MatchingError::Config`] when `config` is invalid or asks for more overlap than
    /// the grid has cells, and with the backend errors of [`Backend::selected`].
    pub fn new(probe: &PalmTemplate, config: &MatchConfig) -> Result<Self, MatchingError> {
        Self::with_backend(probe, config, Backend::selected()?)
    }

    /// Prepares `probe` with a given backend; [`MatchingError::BackendUnavailable`] when this CPU
    /// lacks it.
    pub fn with_backend(
        probe: &PalmTemplate,
        config: &MatchConfig,
        backend: Backend,
    ) -> Result<Self, MatchingError> {
        let backend = backend.check()?;
        config.validate()?;
        let g = probe.geometry();
        let required = config.required_overlap_cells(g.cells());
        if required > g.cells() as u64 {
            return Err(ConfigError {
                issues: vec![ConfigIssue {
                    field: "matching.min_overlap_cells / min_overlap_fraction".into(),
                    value: format!("{required} cells required"),
                    bound: format!("must be ≤ the {} cells of the {g} grid", g.cells()),
                }],
            }
            .into());
        }
        let (rows, cols) = (config.max_shift_rows as i8, config.max_shift_cols as i8);
        let mut shifts: Vec<Shift> = (-rows..=rows)
            .flat_map(|dy| (-cols..=cols).map(move |dx| Shift::new(dy, dx)))
            .collect();
        shifts.sort_by_key(|s| (s.l1(), s.dy, s.dx));
        let words = g.words_per_plane();
        let padded = round_up_to_line(words);
        let layout = Layout {
            planes: g.planes(),
            words,
            padded,
            stride: (g.planes() + 1) * padded,
            shifts: shifts.len(),
        };
        let bytes = (layout.shifts * layout.stride * 8) as u64;
        if bytes > MAX_PREPARED_BYTES {
            return Err(LimitError {
                what: "prepared probe (shifted copies) size (bytes)",
                value: bytes,
                limit: MAX_PREPARED_BYTES,
            }
            .into());
        }
        let mut variants = AlignedWords::zeroed(layout.shifts * layout.stride);
        let buf = variants.words_mut();
        for (s, shift) in shifts.iter().enumerate() {
            let block = &mut buf[s * layout.stride..(s + 1) * layout.stride];
            for p in 0..=layout.planes {
                let src = if p < layout.planes {
                    probe.plane_words(p)
                } else {
                    probe.mask_words()
                };
                shift_plane(g, src, &mut block[p * padded..p * padded + words], *shift);
            }
        }
        Ok(Self {
            kind: Kind::of(probe),
            config: config.clone(),
            backend,
            layout,
            shifts: shifts.into_boxed_slice(),
            variants,
            required_overlap: required as u32,
            default_kernel: kernels::has_default_kernel(backend, &layout),
        })
    }

    /// The backend that runs the comparisons.
    pub fn backend(&self) -> Backend {
        self.backend
    }
    /// The configuration.
    pub fn config(&self) -> &MatchConfig {
        &self.config
    }
    /// The probe's geometry.
    pub fn geometry(&self) -> Geometry {
        self.kind.geometry
    }
    /// The probe's modality.
    pub fn modality(&self) -> Modality {
        self.kind.modality
    }
    /// The probe's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.kind.algorithm
    }
    /// The shifts tried, in the canonical (tie-break) order: by `|dy| + |dx|`, then `dy`, then `dx`.
    pub fn shifts(&self) -> &[Shift] {
        &self.shifts
    }
    /// The overlap a shift needs, in cells.
    pub fn required_overlap_cells(&self) -> u32 {
        self.required_overlap
    }
    /// Bytes of prepared probe data (the shifted variants).
    pub fn prepared_bytes(&self) -> usize {
        self.variants.capacity_bytes()
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }

    /// Compares the probe with a reference template.
    ///
    /// Errors: geometry, modality or algorithm (id or major version) mismatch.
    #[inline]
    pub fn compare(&self, reference: &PalmTemplate) -> Result<ComparisonOutcome, MatchingError> {
        self.kind.check(&Kind::of(reference))?;
        Ok(self.compare_unchecked(reference.code_words(), reference.mask_words()))
    }

    /// Compares with a reference given as raw words in the template layout (`code`: the planes
    /// one after the other, `mask`: one plane), e.g. straight from a store. The caller vouches
    /// that the words come from a template of the matcher's modality and algorithm; only the
    /// lengths are checked ([`MatchingError::WordCount`]). Padding bits are ignored.
    #[inline]
    pub fn compare_words(
        &self,
        code: &[u64],
        mask: &[u64],
    ) -> Result<ComparisonOutcome, MatchingError> {
        let expected = self.layout.planes * self.layout.words;
        if code.len() != expected {
            return Err(MatchingError::WordCount {
                part: "code",
                found: code.len(),
                expected,
            });
        }
        if mask.len() != self.layout.words {
            return Err(MatchingError::WordCount {
                part: "mask",
                found: mask.len(),
                expected: self.layout.words,
            });
        }
        Ok(self.compare_unchecked(code, mask))
    }

    /// Every shift's exact counts, in [`Matcher::shifts`] order (for diagnostics and overlays;
    /// allocates).
    pub fn shift_scores(&self, reference: &PalmTemplate) -> Result<Vec<ShiftScore>, MatchingError> {
        self.kind.check(&Kind::of(reference))?;
        let mut sink = Collect {
            shifts: &self.shifts,
            out: Vec::with_capacity(self.shifts.len()),
        };
        kernels::run(
            self.backend,
            &self.layout,
            self.variants.words(),
            reference.code_words(),
            reference.mask_words(),
            &mut sink,
        );
        Ok(sink.out)
    }

    /// The best shift's raw selection (lengths must match the layout; asserted).
    #[inline]
    pub(crate) fn select(&self, code: &[u64], mask: &[u64]) -> Selector {
        kernels::best(
            self.backend,
            &self.layout,
            self.variants.words(),
            code,
            mask,
            self.required_overlap,
        )
    }

    /// The selection through the per-shift [`ShiftSink`] interface (every shift's counts reduced
    /// horizontally and offered to the scalar [`Selector`]): the path before the best-shift
    /// kernels, kept as a benchmark baseline and test oracle.
    #[inline]
    fn select_via_sink(&self, code: &[u64], mask: &[u64]) -> Selector {
        let mut sel = Selector::new(self.required_overlap);
        kernels::run(
            self.backend,
            &self.layout,
            self.variants.words(),
            code,
            mask,
            &mut sel,
        );
        sel.finish();
        sel
    }

    /// Scans a gallery chunk (rows of `row_words` words: code, mask, padding), offering to
    /// `sink` the rows that have a qualifying shift and may reach its bound.
    #[inline]
    pub(crate) fn select_rows(&self, rows: &[u64], row_words: usize, sink: &mut impl RowSink) {
        kernels::rows_best(
            self.backend,
            &self.layout,
            self.variants.words(),
            rows,
            row_words,
            self.required_overlap,
            sink,
        );
    }

    /// [`Matcher::select_rows`] through the per-shift sink path (benchmark baseline).
    #[inline]
    pub(crate) fn select_rows_via_sink(
        &self,
        rows: &[u64],
        row_words: usize,
        mut done: impl FnMut(usize, Selector),
    ) {
        let required = self.required_overlap;
        kernels::run_rows(
            self.backend,
            &self.layout,
            self.variants.words(),
            rows,
            row_words,
            || Selector::new(required),
            |i, mut sel: Selector| {
                sel.finish();
                done(i, sel)
            },
        );
    }

    /// Benchmark baseline, not API: [`Matcher::compare_words`] through the per-shift sink path
    /// (the kernels before the best-shift kernels). No length checks beyond the kernel's
    /// assertions. Same results as `compare_words`.
    #[doc(hidden)]
    pub fn compare_words_via_sink(&self, code: &[u64], mask: &[u64]) -> ComparisonOutcome {
        self.outcome(&self.select_via_sink(code, mask))
    }

    /// Benchmark baseline, not API: [`Matcher::compare_words`] with the scalar reference kernel
    /// compiled for this CPU's best vector features (the "compiler-vectorised scalar"). No length
    /// checks beyond the kernel's assertions.
    #[doc(hidden)]
    pub fn compare_words_scalar_native(&self, code: &[u64], mask: &[u64]) -> ComparisonOutcome {
        let mut sel = Selector::new(self.required_overlap);
        kernels::run_scalar_native(&self.layout, self.variants.words(), code, mask, &mut sel);
        sel.finish();
        self.outcome(&sel)
    }

    /// Benchmark baseline, not API: [`Matcher::compare_words`] for the default geometry and
    /// window as it ran before the dedicated default kernel (the general best-shift kernel and its
    /// lane-search selection, reached through the general dispatch). Panics unless this matcher
    /// runs the default kernel. Same results as `compare_words`.
    #[doc(hidden)]
    pub fn compare_words_previous(&self, code: &[u64], mask: &[u64]) -> ComparisonOutcome {
        assert!(
            self.default_kernel,
            "only for the AVX-512 default-geometry kernel"
        );
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(code.len(), self.layout.planes * self.layout.words);
            assert_eq!(mask.len(), self.layout.words);
            assert!(self.variants.words().len() >= self.layout.shifts * self.layout.stride);
            // SAFETY: `default_kernel` implies the AVX-512 backend, available (checked when the
            // matcher was built), and the default layout; the lengths were asserted above.
            let sel = unsafe {
                kernels::avx512::best_default_previous(
                    &self.layout,
                    self.variants.words(),
                    code,
                    mask,
                    self.required_overlap,
                )
            };
            self.outcome(&sel)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (code, mask);
            unreachable!("the default kernel is x86-64 only")
        }
    }

    /// Whether comparisons take the dedicated AVX-512 default-geometry kernel (benchmarks).
    #[doc(hidden)]
    pub fn uses_default_kernel(&self) -> bool {
        self.default_kernel
    }

    /// The comparison for a successful selection.
    #[inline]
    pub(crate) fn comparison_of(&self, sel: &Selector) -> Comparison {
        self.comparison_at(sel.num, sel.den, sel.index)
    }

    /// The comparison for `num` differing bits over `den` cells at shift index `index`.
    #[inline]
    pub(crate) fn comparison_at(&self, num: u32, den: u32, index: u32) -> Comparison {
        Comparison::from_counts(num, den, self.layout.planes, self.shifts[index as usize])
    }

    /// The comparison (lengths must match the layout). Inlined into the public entry points, so
    /// that with the default geometry and window a comparison is one call of the AVX-512 kernel
    /// (which returns the best shift in a register) around a few inlined checks.
    #[inline]
    fn compare_unchecked(&self, code: &[u64], mask: &[u64]) -> ComparisonOutcome {
        if self.default_kernel {
            // SAFETY: `default_kernel` is `has_default_kernel(backend, layout)`, computed when the
            // matcher was built from a backend that passed `Backend::check` (available here).
            let sel = unsafe {
                kernels::best_default(self.variants.words(), code, mask, self.required_overlap)
            };
            if let Some(sel) = sel {
                return self.outcome(&sel);
            }
        }
        self.compare_general(code, mask)
    }

    /// [`Matcher::compare_unchecked`] through the general dispatch (every backend and layout; the
    /// default kernel's rare "no shift had the overlap" case).
    #[inline(never)]
    fn compare_general(&self, code: &[u64], mask: &[u64]) -> ComparisonOutcome {
        self.outcome(&self.select(code, mask))
    }

    #[inline]
    fn outcome(&self, sel: &Selector) -> ComparisonOutcome {
        if sel.found() {
            ComparisonOutcome::Compared(self.comparison_of(sel))
        } else {
            ComparisonOutcome::InsufficientOverlap {
                best_overlap_cells: sel.max_overlap,
                required_cells: self.required_overlap,
            }
        }
    }
}

/// Writes plane `src` of geometry `g`, moved by `shift`, into the zeroed `dst`: destination cell
/// `(r + dy, c + dx)` receives source cell `(r, c)`; destination cells with no source stay 0.
fn shift_plane(g: Geometry, src: &[u64], dst: &mut [u64], shift: Shift) {
    let (rows, cols) = (g.rows() as isize, g.cols() as isize);
    let (dy, dx) = (shift.dy as isize, shift.dx as isize);
    let c_lo = dx.max(0);
    let c_hi = (cols + dx).min(cols);
    if c_hi <= c_lo {
        return;
    }
    let len = (c_hi - c_lo) as usize;
    for r_dst in 0..rows {
        let r_src = r_dst - dy;
        if !(0..rows).contains(&r_src) {
            continue;
        }
        let from = (r_src * cols + c_lo - dx) as usize;
        let to = (r_dst * cols + c_lo) as usize;
        copy_bits(src, from, dst, to, len);
    }
}

/// ORs `len` bits of `src` starting at bit `from` into `dst` starting at bit `to`.
fn copy_bits(src: &[u64], from: usize, dst: &mut [u64], to: usize, len: usize) {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(64);
        let v = get_bits(src, from + done, n);
        or_bits(dst, to + done, v, n);
        done += n;
    }
}

/// `n ≤ 64` bits of `words` from bit `pos`, in the low bits.
fn get_bits(words: &[u64], pos: usize, n: usize) -> u64 {
    let (w, o) = (pos / 64, pos % 64);
    let mut v = words[w] >> o;
    if o != 0 && o + n > 64 {
        v |= words[w + 1] << (64 - o);
    }
    if n < 64 { v & ((1u64 << n) - 1) } else { v }
}

/// ORs the low `n ≤ 64` bits of `v` into `words` at bit `pos`.
fn or_bits(words: &mut [u64], pos: usize, v: u64, n: usize) {
    let (w, o) = (pos / 64, pos % 64);
    words[w] |= v << o;
    if o != 0 && o + n > 64 {
        words[w + 1] |= v >> (64 - o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Algorithm;

    fn t(g: Geometry, seed: u64) -> PalmTemplate {
        let h = move |a: usize, b: usize, c: usize| {
            let x =
                (a as u64 * 0x9E37_79B9 + b as u64 * 0x85EB_CA6B + c as u64 * 0xC2B2_AE35 + seed)
                    .wrapping_mul(0x2545_F491_4F6C_DD1D);
            x >> 61 & 1 == 1
        };
        PalmTemplate::from_fn(
            Modality::Crease,
            Algorithm::new(1, 1, 0),
            g,
            h,
            move |r, c| h(99, r, c) || h(98, r, c),
        )
    }

    #[test]
    fn shift_plane_moves_cells() {
        let g = Geometry::new(3, 70, 1).unwrap();
        let src = t(g, 1);
        for shift in [
            Shift::new(1, -3),
            Shift::new(-2, 65),
            Shift::new(0, 0),
            Shift::new(0, -70),
        ] {
            let mut dst = vec![0u64; g.words_per_plane()];
            shift_plane(g, src.plane_words(0), &mut dst, shift);
            for r in 0..3isize {
                for c in 0..70isize {
                    let (sr, sc) = (r - shift.dy as isize, c - shift.dx as isize);
                    let want = (0..3).contains(&sr)
                        && (0..70).contains(&sc)
                        && src.bit(0, sr as usize, sc as usize);
                    let i = (r * 70 + c) as usize;
                    assert_eq!(dst[i / 64] >> (i % 64) & 1 == 1, want, "{shift} {r} {c}");
                }
            }
            assert_eq!(dst[3] >> (210 - 192), 0, "padding stays zero");
        }
    }

    #[test]
    fn self_comparison_is_zero_with_full_overlap_on_every_backend() {
        let g = Geometry::DEFAULT;
        let a = t(g, 7);
        for b in Backend::available() {
            let m = Matcher::with_backend(&a, &MatchConfig::default(), b).unwrap();
            let c = m.compare(&a).unwrap().comparison().unwrap();
            assert_eq!(c.distance, 0.0);
            assert_eq!(c.shift, Shift::new(0, 0));
            assert_eq!(c.overlap_cells as usize, a.valid_cells());
            assert_eq!(c.overlap_bits, 3 * c.overlap_cells);
        }
    }

    #[test]
    fn mismatches_are_typed_errors() {
        let a = t(Geometry::DEFAULT, 1);
        let m = Matcher::new(&a, &MatchConfig::default()).unwrap();
        let other_geom = t(Geometry::new(32, 32, 6).unwrap(), 1);
        assert!(matches!(
            m.compare(&other_geom),
            Err(MatchingError::GeometryMismatch { .. })
        ));
        let (code, mask) = a.clone().into_words();
        let vein = PalmTemplate::new(
            Modality::Vein,
            a.algorithm(),
            a.geometry(),
            code.clone(),
            mask.clone(),
        )
        .unwrap();
        assert!(matches!(
            m.compare(&vein),
            Err(MatchingError::ModalityMismatch { .. })
        ));
        let other_alg = PalmTemplate::new(
            Modality::Crease,
            Algorithm::new(1, 2, 0),
            a.geometry(),
            code.clone(),
            mask.clone(),
        )
        .unwrap();
        assert!(matches!(
            m.compare(&other_alg),
            Err(MatchingError::AlgorithmMismatch { .. })
        ));
        let minor = PalmTemplate::new(
            Modality::Crease,
            Algorithm::new(1, 1, 9),
            a.geometry(),
            code.clone(),
            mask.clone(),
        )
        .unwrap();
        assert!(m.compare(&minor).is_ok());
        assert!(matches!(
            m.compare_words(&code[1..], &mask),
            Err(MatchingError::WordCount { part: "code", .. })
        ));
        assert!(matches!(
            m.compare_words(&code, &mask[1..]),
            Err(MatchingError::WordCount { part: "mask", .. })
        ));
    }

    #[test]
    fn insufficient_overlap_is_explicit() {
        let g = Geometry::new(8, 8, 3).unwrap();
        let empty = PalmTemplate::from_fn(
            Modality::Crease,
            Algorithm::new(1, 1, 0),
            g,
            |_, _, _| true,
            |_, _| false,
        );
        let m = Matcher::new(&t(g, 3), &MatchConfig::default()).unwrap();
        assert_eq!(
            m.compare(&empty).unwrap(),
            ComparisonOutcome::InsufficientOverlap {
                best_overlap_cells: 0,
                required_cells: 32
            }
        );
        let cfg = MatchConfig {
            min_overlap_cells: 65,
            ..MatchConfig::default()
        };
        assert!(matches!(
            Matcher::new(&empty, &cfg),
            Err(MatchingError::Config(_))
        ));
    }

    #[test]
    fn huge_prepared_probe_is_a_limit_error() {
        let g = Geometry::new(1024, 1024, 16).unwrap();
        let t = PalmTemplate::from_fn(
            Modality::Crease,
            Algorithm::new(1, 1, 0),
            g,
            |_, _, _| false,
            |_, _| true,
        );
        let cfg = MatchConfig {
            max_shift_rows: 8,
            max_shift_cols: 8,
            ..MatchConfig::default()
        };
        match Matcher::new(&t, &cfg) {
            Err(MatchingError::Limit(e)) => {
                assert_eq!(e.value, 289 * 17 * 16384 * 8);
                assert_eq!(e.limit, MAX_PREPARED_BYTES);
            }
            other => panic!("expected a limit error, got {other:?}"),
        }
    }

    #[test]
    fn shifts_are_in_canonical_order() {
        let m = Matcher::new(&t(Geometry::DEFAULT, 1), &MatchConfig::default()).unwrap();
        let s = m.shifts();
        assert_eq!(s.len(), 25);
        assert_eq!(s[0], Shift::new(0, 0));
        assert_eq!(
            &s[1..5],
            &[
                Shift::new(-1, 0),
                Shift::new(0, -1),
                Shift::new(0, 1),
                Shift::new(1, 0)
            ]
        );
        assert!(s.windows(2).all(|w| (w[0].l1(), w[0]) < (w[1].l1(), w[1])));
    }
}
