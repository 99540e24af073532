//! Feature extraction: a normalised palm ROI in, a [`PalmTemplate`] of code bit planes out.
//!
//! # Pipeline position
//!
//! The ROI detector (`openpalm::roi`) produces a square, normalised, gray patch of the palm centre
//! plus a validity mask; that is a [`RoiImage`]. A [`FeatureExtractor`] turns it into a
//! [`PalmTemplate`]: `planes` code bits and one mask bit per cell of a `rows × cols` grid (from a
//! 128 × 128 px ROI: 16 × 16 cells of 8 × 8 px for every built-in code, so that the matcher's
//! default ±2-cell shift window absorbs ±16 px of ROI misplacement, the error a contactless ROI
//! detector actually makes).
//!
//! # Extractors
//!
//! | Type / constructor | Modality | Algorithm id | Geometry | What a cell holds |
//! |---|---|---|---|---|
//! | [`OrientedCodeExtractor::comp_code`] | crease | [`ALGORITHM_COMP_CODE`] | 16×16×3 | CompCode: winner-take-all dark-line orientation of 6 Gabors, thermometer-coded |
//! | [`OrientedCodeExtractor::bocv`] | crease | [`ALGORITHM_BOCV`] | 16×16×6 | BOCV: sign of each of the 6 Gabor responses |
//! | [`OrientedCodeExtractor::double_orientation`] | crease | [`ALGORITHM_DOC`] | 16×16×6 | DOC: the two darkest-line orientations, each thermometer-coded |
//! | [`OrientedCodeExtractor::vein_bocv`] | vein | [`ALGORITHM_VEIN_BOCV`] | 16×16×6 | BOCV at a coarser scale for NIR veins |
//! | [`MaxCurvatureVein`] | vein | [`ALGORITHM_VEIN_MAX_CURVATURE`] | 16×16×4 | maximum-curvature vein map: fine and coarse occupancy, valley orientation |
//!
//! All codes are compared with the masked fractional Hamming distance under a joint 2-D cell
//! shift (`openpalm::matching`); every code is designed so that the Hamming distance of one cell
//! is a meaningful dissimilarity (thermometer / Gray codes for orientations), and every plane is a
//! local, translation-equivariant measurement so that a whole-cell shift of the ROI is a whole-cell
//! shift of the code.
//!
//! # Which default
//!
//! **BOCV** for creases, by measured EER on the full synthetic pipeline (issue 7 item 5: 200
//! identities × 10 captures, evaluation split = identities 100..200, all pairs, ROIs from
//! [`FullHandDetector`](crate::roi::FullHandDetector) on the visible frame; ground-truth ROIs in
//! brackets). The variants below were chosen with the ROI detector of 2026-12-04 (first
//! table); the second table is the same set after the ROI valley fixes of 2026-12-05 (edge
//! cut segmentation, valleys on the hand's edge, floor-vertex valleys under visible light):
//!
//! | crease code (version 2: 16×16 grid, [`GaborParams::CREASE`]), 2026-12-04 ROIs | EER | FNMR@FMR=1e-3 | FNMR@FMR=1e-4 | mated d | non-mated d | d′ |
//! |---|---|---|---|---|---|---|
//! | **BOCV** | **0.201 %** (0.067 %) | 0.201 % | 0.358 % | 0.178 ± 0.047 | 0.408 ± 0.024 | 6.18 |
//! | CompCode | 0.402 % (0.089 %) | 0.559 % | 1.006 % | 0.203 ± 0.052 | 0.408 ± 0.025 | 5.01 |
//! | DOC | 0.443 % (0.133 %) | 0.693 % | 1.073 % | 0.253 ± 0.049 | 0.425 ± 0.021 | 4.52 |
//!
//! | crease code v2, 2026-12-05 ROIs | EER | FNMR@FMR=1e-3 | FNMR@FMR=1e-4 | mated d | non-mated d | d′ |
//! |---|---|---|---|---|---|---|
//! | **BOCV** | **0.000 %** (0.067 %) | 0.000 % | 0.000 % | 0.174 ± 0.046 | 0.407 ± 0.024 | 6.39 |
//! | CompCode | 0.044 % (0.089 %) | 0.000 % | 0.244 % | 0.201 ± 0.051 | 0.408 ± 0.025 | 5.13 |
//! | DOC | 0.047 % (0.133 %) | 0.022 % | 0.311 % | 0.251 ± 0.049 | 0.425 ± 0.021 | 4.59 |
//!
//! The version-1 codes (32×32 grid of 4-px cells at the published scale
//! [`GaborParams::CREASE_PUBLISHED`]) reached BOCV 1.051 % (0.267 %), CompCode 1.127 %, DOC
//! 1.252 % on the same set: they discriminate well on well-placed ROIs but the ±2-cell window
//! spans only ±8 px, while the detector misplaces the visible ROI by more than that on a few
//! percent of captures (translation, rotation and scale errors). On 8-px cells the
//! published 12.6-px wavelength decorrelates under the ±4-px residual between whole-cell
//! shifts (EER 3.4 %), so the filter moved to a 31-px wavelength (ω = 0.2; 0.25: 0.29 %, 0.3:
//! 0.43 %); pre-smoothing the ROI, fragile-bit masking, other core radii, a stronger
//! weak-response mask and a 32-cell grid at the coarse scale (0.72 %) did not do better.
//! BOCV stays ahead of CompCode and DOC at every scale tried; CompCode stays as the compact
//! 128-byte tier. The non-mated distances (0.41 ± 0.024, not ≈ 0.5) reflect creases that
//! correlate across people. For veins, the coarse-scale BOCV is the cheaper code; maximum
//! curvature is the peer-validated baseline and the default.
//!
//! A wider matcher window does not help (±3 or ±4 cells: 0.201 % too). On the development
//! split (identities 0..100, not used for tuning) BOCV reaches 0.515 % (version 1: 1.165 %):
//! all 23 mated pairs it rejects at its EER threshold involve one of three captures whose
//! visible ROI is 33–37 % of its side off, beyond what any shift window recovers (±4 cells:
//! 0.473 %).
//!
//! Reproduce: `cargo run --release --features synth --example accuracy -- --subjects 200
//! --samples 10 --non-mated all` (184 s on 2 loaded cores), or in seconds per variant from a
//! cache: `cargo run --release --features synth --example vein_lab -- cache FILE --band
//! visible`, then `... -- eval FILE [--roi truth] [--split dev] bocv compcode doc` (variants
//! by `key=value`, see the example's docs).
//!
//! # Speed and allocation
//!
//! The oriented filter banks are evaluated only at the code grid's sample points (one per cell),
//! which is exactly equal to a full convolution followed by subsampling but about `stride²` = 64
//! times cheaper (a proptest checks the equality). The maximum-curvature path uses separable
//! derivative-of-Gaussian convolutions. Every extractor owns its scratch buffers, so that
//! [`FeatureExtractor::extract_into`] allocates nothing in steady state and
//! [`FeatureExtractor::extract`] allocates only the returned template's two word vectors.
//!
//! # Thread safety
//!
//! `extract` takes `&mut self` (the scratch buffers). Extractors are `Clone + Send + Sync` and
//! cheap to clone (kernels and scratch are a few tens of KiB): give each worker thread its own
//! clone.

mod crease;
mod filters;
pub mod maxcurv;
#[doc(hidden)]
pub mod pattern;
mod roi_image;
mod vein;

pub use crease::{OrientedCode, OrientedCodeExtractor, OrientedCodeParams};
pub use filters::GaborParams;
pub use roi_image::RoiImage;
pub use vein::{MaxCurvatureVein, MaxCurvatureVeinParams};

use crate::template::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};

/// Algorithm id of CompCode (Kong & Zhang 2004), 3 planes. Version 2.0 (see
/// [`CREASE_ALGORITHM_VERSION`]).
pub const ALGORITHM_COMP_CODE: u16 = 0x0100;
/// Algorithm id of BOCV (Guo et al. 2009), 6 sign planes. Version 2.0 (see
/// [`CREASE_ALGORITHM_VERSION`]).
pub const ALGORITHM_BOCV: u16 = 0x0101;
/// Algorithm id of the double-orientation code (after Fei et al. 2016, Hamming-matched), 6 planes.
/// Version 2.0 (see [`CREASE_ALGORITHM_VERSION`]).
pub const ALGORITHM_DOC: u16 = 0x0102;
/// Algorithm id of the maximum-curvature vein code (Miura et al. 2005 vein map, encoded on the
/// cell grid), 4 planes. Version 2.0 (see [`VEIN_ALGORITHM_VERSION`]).
pub const ALGORITHM_VEIN_MAX_CURVATURE: u16 = 0x0200;
/// Algorithm id of the coarse-scale BOCV vein code on NIR ROIs, 6 planes. Version 2.0 (see
/// [`VEIN_ALGORITHM_VERSION`]).
pub const ALGORITHM_VEIN_BOCV: u16 = 0x0201;

/// Major and minor version of the crease extractors (CompCode, BOCV, DOC).
///
/// Major 2: the crease codes went from a 32 × 32 grid of 4-px cells at the published Gabor
/// scale ([`GaborParams::CREASE_PUBLISHED`]) to a 16 × 16 grid of 8-px cells at a 2.5× coarser
/// scale ([`GaborParams::CREASE`]), so a version-1 crease template describes a different code.
/// Decoding one with this build gives [`TemplateError::AlgorithmVersionMismatch`]: re-enrol the
/// subject.
pub const CREASE_ALGORITHM_VERSION: (u16, u16) = (2, 0);

/// Major and minor version of the vein extractors (maximum curvature, vein BOCV).
///
/// Major 2: the default code grid went from 32 × 32 to 16 × 16 cells (8-pixel cells on the
/// 128-pixel ROI), so a version-1 vein template describes a different code. Decoding one with
/// this build gives [`TemplateError::AlgorithmVersionMismatch`]: re-enrol the subject.
pub const VEIN_ALGORITHM_VERSION: (u16, u16) = (2, 0);

/// The version this build produces for a built-in algorithm id, or `None` for an id that is not
/// one of this module's extractors.
pub const fn algorithm_version(id: u16) -> Option<(u16, u16)> {
    match id {
        ALGORITHM_COMP_CODE | ALGORITHM_BOCV | ALGORITHM_DOC => Some(CREASE_ALGORITHM_VERSION),
        ALGORITHM_VEIN_MAX_CURVATURE | ALGORITHM_VEIN_BOCV => Some(VEIN_ALGORITHM_VERSION),
        _ => None,
    }
}

/// Why an ROI could not be turned into a template.
///
/// **Whose fault:** the caller that built the [`RoiImage`] (wrong size or shape, non-finite
/// pixels) or, for [`FeatureError::BufferSize`], the caller of
/// [`FeatureExtractor::extract_into`]. Each variant carries the measured value and its bound.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// The ROI pixel array is not square.
    #[error("ROI is {rows}×{cols} px, must be square")]
    NotSquare {
        /// Rows found.
        rows: usize,
        /// Columns found.
        cols: usize,
    },
    /// The ROI side is outside the supported range.
    #[error("ROI side is {side} px, must be in {min}..={max}")]
    SideOutOfRange {
        /// Side found (px).
        side: usize,
        /// Smallest supported side (px).
        min: usize,
        /// Largest supported side (px).
        max: usize,
    },
    /// The mask's shape differs from the pixels' shape.
    #[error("mask is {mask_rows}×{mask_cols}, pixels are {rows}×{cols}")]
    MaskShape {
        /// Mask rows.
        mask_rows: usize,
        /// Mask columns.
        mask_cols: usize,
        /// Pixel rows.
        rows: usize,
        /// Pixel columns.
        cols: usize,
    },
    /// A pixel is NaN or infinite.
    #[error("pixel ({row}, {col}) is not finite")]
    NonFinitePixel {
        /// Row (0 = top).
        row: usize,
        /// Column (0 = left).
        col: usize,
    },
    /// The ROI side differs from the side the extractor is configured for.
    #[error("ROI side is {found} px, this extractor is configured for {expected} px")]
    RoiSide {
        /// Side of the given ROI (px).
        found: usize,
        /// Side the extractor expects (px).
        expected: usize,
    },
    /// An output buffer passed to [`FeatureExtractor::extract_into`] has the wrong length.
    #[error("{part} buffer has {found} words, geometry needs {expected}")]
    BufferSize {
        /// `"code"` or `"mask"`.
        part: &'static str,
        /// Words given.
        found: usize,
        /// Words needed.
        expected: usize,
    },
    /// An image passed to a [`maxcurv`] step function has no pixels.
    #[error("image is {rows}×{cols} px, must not be empty")]
    EmptyImage {
        /// Rows found.
        rows: usize,
        /// Columns found.
        cols: usize,
    },
    /// The σ passed to a [`maxcurv`] step function is out of range.
    #[error("sigma is {sigma} px, must be in {min}..={max}")]
    SigmaOutOfRange {
        /// σ given (px).
        sigma: f64,
        /// Smallest accepted σ (px).
        min: f64,
        /// Largest accepted σ (px).
        max: f64,
    },
    /// The curvature array passed to [`maxcurv::vein_centres`] does not have 4 planes.
    #[error("curvature array has {found} planes, needs 4")]
    KappaPlanes {
        /// Planes found.
        found: usize,
    },
    /// The extractor produced words the template type rejected. This is a bug in openpalm.
    #[error("internal error building the template: {0}")]
    Template(#[from] TemplateError),
}

/// A feature extractor: normalised ROI in, template out.
///
/// Implementations own reusable scratch buffers, hence `&mut self`; clone one extractor per
/// thread. The output depends only on the ROI and the extractor's parameters (never on earlier
/// calls).
pub trait FeatureExtractor {
    /// What the templates encode.
    fn modality(&self) -> Modality;
    /// Algorithm id and version written into the templates.
    fn algorithm(&self) -> Algorithm;
    /// Grid geometry of the templates.
    fn geometry(&self) -> Geometry;
    /// The ROI side (px) this extractor accepts.
    fn roi_side(&self) -> usize;

    /// Extracts into caller-provided words in the [`PalmTemplate`] layout
    /// (`code.len() == geometry().code_words()`, `mask.len() == geometry().words_per_plane()`);
    /// allocation-free in steady state. Padding bits are left zero.
    fn extract_into(
        &mut self,
        roi: &RoiImage,
        code: &mut [u64],
        mask: &mut [u64],
    ) -> Result<(), FeatureError>;

    /// Extracts a template. Allocates only the template's word vectors.
    fn extract(&mut self, roi: &RoiImage) -> Result<PalmTemplate, FeatureError> {
        let geometry = self.geometry();
        let mut code = vec![0u64; geometry.code_words()];
        let mut mask = vec![0u64; geometry.words_per_plane()];
        self.extract_into(roi, &mut code, &mut mask)?;
        Ok(PalmTemplate::new(
            self.modality(),
            self.algorithm(),
            geometry,
            code,
            mask,
        )?)
    }
}

/// Checks output buffer sizes and the ROI side; zeroes the buffers.
pub(crate) fn prepare_output(
    geometry: Geometry,
    roi_side: usize,
    roi: &RoiImage,
    code: &mut [u64],
    mask: &mut [u64],
) -> Result<(), FeatureError> {
    if roi.side() != roi_side {
        return Err(FeatureError::RoiSide {
            found: roi.side(),
            expected: roi_side,
        });
    }
    if code.len() != geometry.code_words() {
        return Err(FeatureError::BufferSize {
            part: "code",
            found: code.len(),
            expected: geometry.code_words(),
        });
    }
    if mask.len() != geometry.words_per_plane() {
        return Err(FeatureError::BufferSize {
            part: "mask",
            found: mask.len(),
            expected: geometry.words_per_plane(),
        });
    }
    code.fill(0);
    mask.fill(0);
    Ok(())
}

/// Sets bit `cell` of plane `plane` in words laid out as in [`PalmTemplate`].
#[inline]
pub(crate) fn set_bit(words: &mut [u64], words_per_plane: usize, plane: usize, cell: usize) {
    words[plane * words_per_plane + cell / 64] |= 1u64 << (cell % 64);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread-safety contract in the module docs: clone one extractor per thread.
    #[test]
    fn extractors_are_clone_send_sync() {
        fn check<T: Clone + Send + Sync + FeatureExtractor>(t: &T) -> T {
            t.clone()
        }
        let _ = check(&OrientedCodeExtractor::comp_code());
        let _ = check(&MaxCurvatureVein::default());
        fn send_sync<T: Send + Sync>() {}
        send_sync::<RoiImage>();
        send_sync::<FeatureError>();
    }

    #[test]
    fn every_extractor_is_a_registered_builtin_algorithm() {
        use crate::template::BUILTIN_ALGORITHMS;
        let extractors: Vec<Box<dyn Fn() -> Algorithm>> = vec![
            Box::new(|| OrientedCodeExtractor::comp_code().algorithm()),
            Box::new(|| OrientedCodeExtractor::bocv().algorithm()),
            Box::new(|| OrientedCodeExtractor::double_orientation().algorithm()),
            Box::new(|| OrientedCodeExtractor::vein_bocv().algorithm()),
            Box::new(|| MaxCurvatureVein::default().algorithm()),
        ];
        let mut ids = Vec::new();
        for algorithm in extractors.iter().map(|f| f()) {
            assert!(!algorithm.is_user_defined(), "{algorithm}");
            assert_eq!(
                Algorithm::builtin_version(algorithm.id),
                Some(algorithm.version),
                "{algorithm} is not registered in BUILTIN_ALGORITHMS"
            );
            ids.push(algorithm.id);
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            extractors.len(),
            "algorithm ids must be distinct"
        );
        let mut all: Vec<u16> = BUILTIN_ALGORITHMS.iter().map(|(id, _, _)| *id).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len(),
            BUILTIN_ALGORITHMS.len(),
            "registry ids must be distinct"
        );
    }
}
