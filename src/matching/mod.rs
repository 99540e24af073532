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
//! Reproduce with `cargo run --release --example matching_report` (all figures and ratios in one
//! run, medians of 3–5 repetitions) or `cargo bench --bench matching` (criterion; comparisons/s as
//! "elements"/s). Figures below: 2-vCPU AMD EPYC (Zen 4, AVX-512 VPOPCNTDQ), backend `avx512`,
//! default geometry 32×32×3 with a 25-shift window, random templates with ~7/8 valid cells,
//! 2026-12-04, six runs of the report. The machine was shared with other builds (load average
//! 4.9–7 on 2 vCPUs), so throughput is given **per CPU-second** (process CPU time: it excludes time
//! the threads were descheduled, but not contention from the SMT sibling), as the range over the
//! runs; wall-clock figures were up to 2× worse. Re-measure on a quiet machine.
//!
//! | measurement | figure |
//! |---|---|
//! | 1:1, one thread, `avx512` | 4.3–5.6 M comparisons/s |
//! | 1:1 `avx2` / `scalar` / scalar code compiled for AVX-512 | 1.9–2.0 / 0.70–0.72 / 0.67–0.72 M/s |
//! | dispatched ÷ scalar reference (same run) | 6.1–7.8× |
//! | 1:N top-10, N = 10⁴ … 10⁶ | 3.6–5.9 M/s per CPU-second (42–68 % of the 8.6 M/s/core ceiling) |
//! | 1:10⁶ on 2 threads | 170–271 ms CPU ⇒ 85–135 ms if each thread had its own core; best wall 183 ms |
//! | unshifted masked scan ÷ simsimd unmasked Hamming, same 512 MB | median ≈ 88 % (range 53–102 %, 1 or 2 threads) |
//! | other geometries, 1:1 `avx512` | 16×16×3: 3.8–4.2 M/s (`avx2` is as fast) · 32×32×6: 2.6–4.2 M/s · 64×64×3: 0.8–1.2 M/s |
//!
//! The kernel for the default geometry keeps the reference in eight registers for all 25 shifts;
//! per shift it issues 2 `vpandq`, 6 `vpternlogq`, 8 `vpopcntq` and 8 adds, and two shifts share
//! one horizontal reduction. The best-shift selection is branch-free (two independent running
//! minima): a branchy version looked faster on a small, repeatedly scanned gallery only because
//! the branch predictor learnt its outcomes.

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
    pub(crate) fn of(t: &PalmTemplate) -> Self {
        Self {
            modality: t.modality(),
            algorithm: t.algorithm(),
            geometry: t.geometry(),
        }
    }

    /// `Ok` when `reference` may be compared with a probe of kind `self`: same geometry, same
    /// modality, same algorithm id and major version (minor versions are compatible by definition).
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
