//! Matching: masked fractional Hamming distance with a 2-D shift search, SIMD kernels, and 1:N
//! gallery search.
//!
//! # The comparison
//!
//! For a probe `a` and a reference `b` with `P` code planes and one validity mask each, and a shift
//! `s = (dy, dx)` that moves the probe so that probe cell `(r, c)` lies on reference cell
//! `(r + dy, c + dx)` (probe cells moved off the grid are dropped, reference cells nothing moved
//! onto are invalid):
//!
//! ```text
//! m(s)        = m_a′ ∧ m_b                                    (cells valid in both)
//! overlap(s)  = popcount(m(s))                                 (cells)
//! differ(s)   = Σ_planes popcount((a′ ⊕ b) ∧ m(s))             (bits)
//! HD(s)       = differ(s) / (P · overlap(s))                   ∈ [0, 1]
//! ```
//!
//! Only shifts with `overlap(s) ≥` the configured minimum ([`MatchConfig::min_overlap_fraction`],
//! [`MatchConfig::min_overlap_cells`]) count. The result is the minimum over those shifts, as a
//! [`Comparison`] (distance, overlap, and the best shift), or
//! [`ComparisonOutcome::InsufficientOverlap`] when no shift qualifies — never a made-up 0 or 1.
//!
//! **Exactness and ties.** Counts are integers and distances are compared as fractions by
//! cross-multiplication, so every backend returns bit-identical results. Among shifts with equal
//! distance the one with the larger overlap wins, then the smaller `|dy| + |dx|`, then the smaller
//! `dy`, then the smaller `dx` (this is the order of [`Matcher::shifts`]).
//!
//! Symmetry: the distance of `b` against probe `a` at shift `s` equals that of `a` against probe
//! `b` at `−s`; the minimum is symmetric as long as the tie-break does not decide between shifts of
//! equal distance and overlap.
//!
//! # Use
//!
//! Prepare the probe once, compare it with many references:
//!
//! ```
//! use openpalm::matching::{Gallery, MatchConfig, Matcher};
//! use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
//!
//! let g = Geometry::DEFAULT;
//! let alg = Algorithm::new(1, 1, 0);
//! let palm = |seed: usize| {
//!     PalmTemplate::from_fn(Modality::Crease, alg, g,
//!         |p, r, c| (r * 7 + c * 13 + p * 5 + seed) % 3 == 0, |_, _| true)
//! };
//! let probe = Matcher::new(&palm(0), &MatchConfig::default())?; // the per-probe work, once
//! let same = probe.compare(&palm(0))?.comparison().unwrap();
//! assert_eq!(same.distance, 0.0);
//!
//! let mut gallery = Gallery::new(Modality::Crease, alg, g);
//! for id in 0..100 {
//!     gallery.add(id, &palm(id as usize))?;
//! }
//! let top = gallery.search(&probe, 3)?;
//! assert_eq!(top[0].id, 0);
//! # Ok::<(), openpalm::matching::MatchingError>(())
//! ```
//!
//! [`Matcher::new`] does the per-probe work (every shifted copy of the probe's code and mask,
//! re-packed in the reference layout, in one 64-byte aligned block: 25 × 512 B for the default
//! geometry, so it stays in L1). [`Matcher::compare`] is `&self`, allocation-free and the type is
//! `Send + Sync`, so one matcher serves every thread. There is deliberately no free
//! `compare(a, b)` function: preparing the probe per candidate costs far more than comparing.
//!
//! # Backends
//!
//! [`Backend::Scalar`] (reference), [`Backend::Avx2`], [`Backend::Avx512`] (VPOPCNTDQ) and
//! [`Backend::Neon`] are chosen at run time ([`Backend::detect`]); force one with
//! [`Matcher::with_backend`] or the `OPENPALM_BACKEND` environment variable
//! ([`BACKEND_ENV_VAR`]). Forcing one this CPU lacks is [`MatchingError::BackendUnavailable`].
//!
//! # Performance
//!
//! Reproduce with `cargo run --release --example matching_report` (every figure below in one run,
//! about 20 s: the variants compared run interleaved, best of several repetitions; single-thread
//! rates per CPU-second of the thread; `-- bursts` times the 1:1 kernel over short bursts) or
//! `cargo bench --bench matching` (criterion; comparisons/s as "elements"/s). Figures below:
//! 2-vCPU AMD EPYC (Zen 4 at ~3.7 GHz, AVX-512 VPOPCNTDQ), backend `avx512`, default geometry
//! 32×32×3 with a 25-shift window, random templates with ~7/8 valid cells, 2026-12-04, measured
//! while other builds shared the two vCPUs (load average 5.8): wall-clock figures of that run
//! are unreliable, so throughput is given per CPU-second and as ratios measured side by side in
//! the same process ("previous": the per-shift sink path, kept as `compare_words_via_sink` /
//! `search_in_via_sink`). Re-measure on a quiet machine.
//!
//! | measurement | figure |
//! |---|---|
//! | 1:1, one thread, `avx512` | 6.9 M comparisons/s per CPU-second (81 % of the 8.6 M/s/core ceiling); 6.7–7.2 M/s over bursts of 64; previous path 5.6–5.9 M/s in the same runs (1.21×) |
//! | 1:1 `avx2` / `scalar` / scalar code compiled for AVX-512 | 2.07 / 0.74 / 0.74 M/s |
//! | dispatched ÷ scalar reference (same run) | 9.4× |
//! | 1:N top-10, N = 10⁴ … 10⁶, per thread | 8.1–8.3 M/s per CPU-second (94–97 % of the ceiling); 1.35–1.5× the previous scan |
//! | 1:10⁶ on 2 threads | 121 ms of CPU in all ⇒ ≈ 60 ms wall when each thread has its core (176 ms wall measured at load 5.8) |
//! | unshifted masked scan ÷ simsimd unmasked Hamming, same 512 MB | 104 % (1 thread) and 101 % (2 threads) by CPU time; previous scan 82–85 % |
//! | other geometries, 1:1 `avx512` | 16×16×3: 4.4 M/s (`avx2` 4.5) · 32×32×6: 4.2 M/s · 64×64×3: 1.2 M/s |
//!
//! How: for the default geometry (and 8 or 16 words per plane with 1–8 planes) the reference
//! stays in registers for every shift (the default 25-shift window fully unrolled); per shift 2 `vpandq`, 6 `vpternlogq` and 8 `vpopcntq`
//! leave `differing + overlap · 2³²` in the eight 64-bit lanes of one register, and eight shifts
//! are summed at once by a transposing reduction (21 instructions, no per-shift horizontal sum).
//! The best shift is then picked in vector registers: exact quotients as `f64` (the order of
//! fractions with at most 2²⁰ cells survives the rounding), one minimum, and the tie-break only
//! when two shifts share the minimum. A gallery scan does not even pick the best shift for most
//! references: it first tests, by exact cross-multiplication in the lanes, whether any shift could
//! reach the current k-th best, which only a few references per million can. The single-shift
//! scan keeps the probe in registers and compares eight references per reduction. Tried and
//! dropped, because measured slower: a carry-save adder over three planes (fewer `vpopcntq`,
//! more `vpternlogq`: −5 %), software prefetch in the single-shift scan (−20 % and worse; it is
//! within noise in the shifted scan and kept at two rows), and the eight-shift kernel for six
//! planes in 1:1 comparisons (−8 %: the reference then takes 14 of the 32 registers).

mod aligned;
mod backend;
#[doc(hidden)]
pub mod bench_support;
mod config;
mod gallery;
pub(crate) mod kernels;
mod prepared;

pub use backend::{BACKEND_ENV_VAR, Backend};
pub use config::{MAX_SHIFT_CELLS, MatchConfig};
pub use gallery::{Candidate, Gallery, GalleryEntry, SEARCH_CHUNK_ROWS};
pub use kernels::words_as_bytes;
pub use prepared::{MAX_PREPARED_BYTES, Matcher, ShiftScore};

use std::cmp::Ordering;
use std::fmt;

use crate::error::{ConfigError, LimitError};
use crate::template::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};

/// A shift of the probe relative to the reference, in cells: probe cell `(r, c)` is compared with
/// reference cell `(r + dy, c + dx)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Shift {
    /// Rows (positive: the probe moves down).
    pub dy: i8,
    /// Columns (positive: the probe moves right).
    pub dx: i8,
}

impl Shift {
    /// `(dy, dx)`.
    pub const fn new(dy: i8, dx: i8) -> Self {
        Self { dy, dx }
    }
    /// The opposite shift.
    pub const fn neg(self) -> Self {
        Self {
            dy: -self.dy,
            dx: -self.dx,
        }
    }
    /// `|dy| + |dx|`.
    pub const fn l1(self) -> u32 {
        self.dy.unsigned_abs() as u32 + self.dx.unsigned_abs() as u32
    }
}

impl fmt::Display for Shift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:+}, {:+})", self.dy, self.dx)
    }
}

/// The result of a comparison that had enough overlap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Fractional Hamming distance `differing_bits / overlap_bits`, in `[0, 1]`; lower is more
    /// similar. Exactly the quotient of the two integers below, rounded once to `f64`.
    pub distance: f64,
    /// Code bits that differ inside the overlap, over all planes.
    pub differing_bits: u32,
    /// Cells valid in both templates at the best shift.
    pub overlap_cells: u32,
    /// Code bits compared: `planes · overlap_cells`.
    pub overlap_bits: u32,
    /// The shift that gave the minimum. A shift on the edge of the window suggests the window is
    /// too small for this pair (a quality signal worth logging).
    pub shift: Shift,
}

impl Comparison {
    #[inline]
    pub(crate) fn from_counts(
        differing: u32,
        overlap_cells: u32,
        planes: usize,
        shift: Shift,
    ) -> Self {
        let overlap_bits = overlap_cells * planes as u32;
        Self {
            distance: f64::from(differing) / f64::from(overlap_bits),
            differing_bits: differing,
            overlap_cells,
            overlap_bits,
            shift,
        }
    }

    /// Exact comparison of the distances (by cross-multiplying the integer counts), without
    /// floating-point rounding.
    pub fn cmp_distance(&self, other: &Comparison) -> Ordering {
        let a = u64::from(self.differing_bits) * u64::from(other.overlap_bits);
        let b = u64::from(other.differing_bits) * u64::from(self.overlap_bits);
        a.cmp(&b)
    }
}

/// What a comparison gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ComparisonOutcome {
    /// At least one shift had enough overlap: the best one.
    Compared(Comparison),
    /// No shift in the window had the required overlap: the templates cannot be compared (too
    /// little of the palm is valid in both). Not a distance.
    InsufficientOverlap {
        /// The largest overlap any shift had, in cells.
        best_overlap_cells: u32,
        /// The overlap required, in cells.
        required_cells: u32,
    },
}

impl ComparisonOutcome {
    /// The comparison, if there was enough overlap.
    pub fn comparison(&self) -> Option<Comparison> {
        match self {
            ComparisonOutcome::Compared(c) => Some(*c),
            ComparisonOutcome::InsufficientOverlap { .. } => None,
        }
    }
    /// The distance, if there was enough overlap.
    pub fn distance(&self) -> Option<f64> {
        self.comparison().map(|c| c.distance)
    }
}

/// Why a matcher, a comparison or a gallery operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchingError {
    /// Probe and reference (or gallery) grids differ.
    #[error("geometry mismatch: probe {probe}, reference {reference}")]
    GeometryMismatch {
        /// The probe's (or matcher's) geometry.
        probe: Geometry,
        /// The reference's (or gallery's) geometry.
        reference: Geometry,
    },
    /// Probe and reference are of different modalities.
    #[error("modality mismatch: probe {probe}, reference {reference}")]
    ModalityMismatch {
        /// The probe's modality.
        probe: Modality,
        /// The reference's modality.
        reference: Modality,
    },
    /// Probe and reference were made by different algorithms or incompatible versions (different
    /// id, or different major version).
    #[error("algorithm mismatch: probe {probe}, reference {reference}")]
    AlgorithmMismatch {
        /// The probe's algorithm.
        probe: Algorithm,
        /// The reference's algorithm.
        reference: Algorithm,
    },
    /// Raw reference words of the wrong length.
    #[error("reference {part} has {found} words, the matcher's geometry needs {expected}")]
    WordCount {
        /// `"code"` or `"mask"`.
        part: &'static str,
        /// Words given.
        found: usize,
        /// Words needed.
        expected: usize,
    },
    /// Raw reference words violate the template layout (e.g. padding bits set).
    #[error("invalid reference words: {0}")]
    Template(#[from] TemplateError),
    /// A backend was forced that this build or CPU does not have.
    #[error("backend {backend} is not available on this CPU (available: {available:?})")]
    BackendUnavailable {
        /// The backend asked for.
        backend: Backend,
        /// What is available.
        available: Vec<Backend>,
    },
    /// A backend name (e.g. in `OPENPALM_BACKEND`) that is not a backend.
    #[error("unknown backend {name:?}: expected auto, scalar, avx2, avx512 or neon")]
    UnknownBackend {
        /// The name given.
        name: String,
    },
    /// Invalid [`MatchConfig`], or one that cannot work with this geometry.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The prepared probe would exceed [`MAX_PREPARED_BYTES`] (a very large geometry with a wide
    /// shift window).
    #[error("{0}")]
    Limit(#[from] LimitError),
    /// [`Gallery::add`] with an id already present.
    #[error("id {id} is already in the gallery")]
    DuplicateId {
        /// The id.
        id: u64,
    },
    /// [`Gallery::remove`] with an id not present.
    #[error("id {id} is not in the gallery")]
    UnknownId {
        /// The id.
        id: u64,
    },
    /// The gallery could not grow its storage.
    #[error("gallery storage could not grow to {requested_bytes} bytes")]
    OutOfMemory {
        /// Bytes the storage would have needed.
        requested_bytes: u64,
    },
}

/// What must agree between a probe and a reference for them to be comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    pub(crate) modality: Modality,
    pub(crate) algorithm: Algorithm,
    pub(crate) geometry: Geometry,
}

impl Kind {
    #[inline]
    pub(crate) fn of(t: &PalmTemplate) -> Self {
        Self {
            modality: t.modality(),
            algorithm: t.algorithm(),
            geometry: t.geometry(),
        }
    }

    /// `Ok` when `reference` may be compared with a probe of kind `self`: same geometry, same
    /// modality, same algorithm id and major version (minor versions are compatible by definition).
    #[inline]
    pub(crate) fn check(&self, reference: &Kind) -> Result<(), MatchingError> {
        if self.geometry != reference.geometry {
            return Err(MatchingError::GeometryMismatch {
                probe: self.geometry,
                reference: reference.geometry,
            });
        }
        if self.modality != reference.modality {
            return Err(MatchingError::ModalityMismatch {
                probe: self.modality,
                reference: reference.modality,
            });
        }
        if self.algorithm.id != reference.algorithm.id
            || self.algorithm.version.major != reference.algorithm.version.major
        {
            return Err(MatchingError::AlgorithmMismatch {
                probe: self.algorithm,
                reference: reference.algorithm,
            });
        }
        Ok(())
    }
}
