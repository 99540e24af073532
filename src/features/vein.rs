//! Palm-vein code from the maximum-curvature vein map of an NIR ROI.

use crate::error::{ConfigError, ConfigIssue};
use crate::template::{Algorithm, Geometry, Modality};

use super::maxcurv::{MAX_SIGMA, MIN_SIGMA, MaxCurvScratch};
use super::{
    ALGORITHM_VEIN_MAX_CURVATURE, FeatureError, FeatureExtractor, RoiImage, VEIN_ALGORITHM_VERSION,
    prepare_output, set_bit,
};

/// Parameters of [`MaxCurvatureVein`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxCurvatureVeinParams {
    /// σ (px) of the derivative-of-Gaussian filters (kernel radius `⌈4σ⌉`). Range `0.5..=16`.
    /// Default 3 px: the scale of the peer's reference test; palm veins at a 128 px ROI
    /// (≈ 0.5 mm/px) are 2–6 px wide.
    pub sigma_px: f64,
    /// ROI side (px) accepted; a multiple of `grid_cells`.
    pub roi_side_px: usize,
    /// Code grid side (cells). Default 16 (8 × 8 px cells at 128 px): the matcher's ±2-cell
    /// shift window then spans ±16 px (±12.5 % of the ROI side) instead of ±8 px at 32 cells,
    /// which is what absorbs the ROI detector's residual placement error on NIR frames (palm
    /// veins are 3–10 px wide and run for tens of px, so an 8-px cell still resolves them;
    /// ALGORITHMS.md §3 suggestion 3 names the 16 × 16 grid for vein codes). Measured on 200
    /// synthetic identities × 10 captures, full pipeline: EER 0.54 % at 32 cells, 0.27 % at 16
    /// (`vein_lab` example; module docs of [`MaxCurvatureVein`]).
    pub grid_cells: usize,
    /// Rings of cells along the ROI border that are always masked: the replicated-border
    /// convolution and the 2-px connection step make the outermost pixels unreliable.
    pub border_cells: usize,
    /// A cell is valid only if every ROI pixel of its block, widened by this many pixels on each
    /// side, is valid in the ROI mask.
    pub mask_margin_px: usize,
    /// A cell is valid only if the standard deviation of the (filled) ROI pixels over its
    /// 3×3-cell neighbourhood reaches this value (intensity units): blank or saturated areas
    /// carry no structure at all. `0` disables.
    pub min_contrast: f64,
}

impl Default for MaxCurvatureVeinParams {
    fn default() -> Self {
        Self {
            sigma_px: 3.0,
            roi_side_px: RoiImage::DEFAULT_SIDE,
            grid_cells: 16,
            border_cells: 1,
            mask_margin_px: 2,
            min_contrast: 0.5 / 255.0,
        }
    }
}

impl MaxCurvatureVeinParams {
    /// Every invalid value, with its bound.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Vec::new();
        let mut push = |field: &str, value: String, bound: String| {
            issues.push(ConfigIssue {
                field: field.into(),
                value,
                bound,
            })
        };
        if !(MIN_SIGMA..=MAX_SIGMA).contains(&self.sigma_px) {
            push(
                "sigma_px",
                self.sigma_px.to_string(),
                format!("must be in {MIN_SIGMA}..={MAX_SIGMA}"),
            );
        }
        if !(RoiImage::MIN_SIDE..=RoiImage::MAX_SIDE).contains(&self.roi_side_px) {
            push(
                "roi_side_px",
                self.roi_side_px.to_string(),
                "must be in 16..=1024".into(),
            );
        }
        if !(4..=256).contains(&self.grid_cells) {
            push(
                "grid_cells",
                self.grid_cells.to_string(),
                "must be in 4..=256".into(),
            );
        } else if !self.roi_side_px.is_multiple_of(self.grid_cells) {
            push(
                "grid_cells",
                self.grid_cells.to_string(),
                format!("must divide roi_side_px = {}", self.roi_side_px),
            );
        } else if 2 * self.border_cells >= self.grid_cells {
            push(
                "border_cells",
                self.border_cells.to_string(),
                format!("must be < grid_cells / 2 = {}", self.grid_cells / 2),
            );
        }
        if self.mask_margin_px > 64 {
            push(
                "mask_margin_px",
                self.mask_margin_px.to_string(),
                "must be ≤ 64".into(),
            );
        }
        if !(self.min_contrast >= 0.0 && self.min_contrast.is_finite()) {
            push(
                "min_contrast",
                self.min_contrast.to_string(),
                "must be finite and ≥ 0".into(),
            );
        }
        ConfigError::check(issues)
    }
}

/// Palm-vein extractor: maximum-curvature vein map ([`super::maxcurv`]) of an NIR ROI, encoded
/// on a `grid × grid` cell grid (default 16 × 16 from 128 px, 8 × 8 px per cell) in 4 planes
/// ([`ALGORITHM_VEIN_MAX_CURVATURE`], 16×16×4 = 160 bytes with mask):
///
/// | Plane | Meaning | Why |
/// |---|---|---|
/// | 0 | fine occupancy: vein pixels in the cell's block > their median over valid cells | where the veins are, at cell resolution; the median makes the plane ≈ balanced, so non-mated distances sit near 0.5 instead of being dominated by shared background |
/// | 1 | coarse occupancy: vein pixels in the 3×3-cell neighbourhood > their median | the same at a coarser scale: tolerant to sub-cell misalignment and vein-width changes |
/// | 2, 3 | dominant valley orientation of the 3×3-cell neighbourhood (argmax of `Σ max(κ_d, 0)` over 0°, 45°, 90°, 135°), Gray-coded `0→00, 1→01, 2→11, 3→10` | Hamming distance = circular orientation distance (0, 1 or 2 steps of 45°); orientation is defined off the veins too, and complements occupancy |
///
/// All planes are local measurements around the cell, so the matcher's whole-cell shift of a
/// template corresponds to a whole-cell shift of the ROI (±8 px per cell at 16 cells, 128 px).
///
/// Grid choice (full pipeline — synthetic sensor → detected ROI → this code → default
/// matcher, ±2-cell window — 200 identities × 10 captures, evaluation split of 100 identities,
/// all 4 439 mated and 488 089 non-mated pairs; `cargo run --release --features synth
/// --example vein_lab -- eval FILE maxcurv:grid=32 maxcurv:grid=16 maxcurv:grid=8` on a
/// `vein_lab cache`, 2026-12-04):
///
/// | grid | EER | FNMR @ FMR 10⁻³ | FNMR @ FMR 10⁻⁴ | mated | non-mated |
/// |---|---|---|---|---|---|
/// | 32 × 32 (4 px cells) | 0.54 % | 0.56 % | 0.63 % | 0.219 ± 0.042 | 0.459 ± 0.016 |
/// | **16 × 16 (8 px cells)** | **0.27 %** | **0.32 %** | **0.45 %** | 0.217 ± 0.039 | 0.433 ± 0.024 |
/// | 8 × 8 (16 px cells) | 3.0 % | 15 % | 30 % | 0.224 ± 0.068 | 0.480 ± 0.061 |
///
/// At 32 cells, 16 of the 24 mated pairs rejected at the EER threshold involve two captures
/// whose detected NIR ROI is 33–38 % of its side off the truth (no code absorbs that); the
/// others involve ROI errors of 5–18 % of the side or defocus, and the wider window recovers
/// them: at 16 cells 11 of the 12 rejected pairs involve those two captures. With the
/// generator's ground-truth ROI the 16-cell code is better too (EER 0.033 % vs 0.13 %): cells
/// of 8 px average out vein-width and blur differences between captures. 8 cells are too
/// few bits (non-mated spread 0.061).
///
/// Mask: not in the `border_cells` ring, block (± `mask_margin_px`) on valid ROI pixels, and
/// enough local contrast (`min_contrast`). Invalid ROI pixels are replaced by the mean of the valid
/// ones before filtering; curvature is zeroed outside the ROI mask, as in bob.
#[derive(Debug, Clone)]
pub struct MaxCurvatureVein {
    params: MaxCurvatureVeinParams,
    geometry: Geometry,
    mc: MaxCurvScratch,
    img: Vec<f64>,
    invalid_integral: Vec<u32>,
    fine: Vec<u32>,
    coarse: Vec<u32>,
    orient: Vec<f64>,
    orient_coarse: Vec<f64>,
    /// Per cell: sum and sum of squares of the filled pixels of its block.
    sums: Vec<[f64; 2]>,
    valid: Vec<bool>,
    select: Vec<u32>,
}

impl Default for MaxCurvatureVein {
    fn default() -> Self {
        Self::new(MaxCurvatureVeinParams::default()).expect("default parameters are valid")
    }
}

impl MaxCurvatureVein {
    /// An extractor with validated parameters.
    pub fn new(params: MaxCurvatureVeinParams) -> Result<Self, ConfigError> {
        params.validate()?;
        let (side, grid) = (params.roi_side_px, params.grid_cells);
        let geometry = Geometry::new(grid as u16, grid as u16, 4).expect("validated grid");
        let cells = grid * grid;
        Ok(Self {
            mc: MaxCurvScratch::new(side, side, params.sigma_px),
            params,
            geometry,
            img: vec![0.0; side * side],
            invalid_integral: vec![0; (side + 1) * (side + 1)],
            fine: vec![0; cells],
            coarse: vec![0; cells],
            orient: vec![0.0; 4 * cells],
            orient_coarse: vec![0.0; 4 * cells],
            sums: vec![[0.0; 2]; cells],
            valid: vec![false; cells],
            select: Vec::with_capacity(cells),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &MaxCurvatureVeinParams {
        &self.params
    }

    /// The binarised vein map of the last extraction, row-major `side × side` (`true` = vein).
    pub fn last_vein_map(&self) -> &[bool] {
        &self.mc.veins
    }

    /// The connected-centre scores `G` of the last extraction, row-major `side × side`.
    pub fn last_g(&self) -> &[f64] {
        &self.mc.g
    }

    /// Median of `values` over valid cells (lower median; 0 when no cell is valid).
    fn valid_median(values: &[u32], valid: &[bool], select: &mut Vec<u32>) -> u32 {
        select.clear();
        select.extend(
            values
                .iter()
                .zip(valid)
                .filter(|(_, v)| **v)
                .map(|(c, _)| *c),
        );
        if select.is_empty() {
            return 0;
        }
        let k = (select.len() - 1) / 2;
        *select.select_nth_unstable(k).1
    }
}

/// Angle index (0°, 45°, 90°, 135° → 0..4) of curvature plane `d` (horizontal, vertical, "\\",
/// "/"): the profile directions in circular order.
const PLANE_ANGLE: [usize; 4] = [0, 2, 1, 3];

impl FeatureExtractor for MaxCurvatureVein {
    fn modality(&self) -> Modality {
        Modality::Vein
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::new(
            ALGORITHM_VEIN_MAX_CURVATURE,
            VEIN_ALGORITHM_VERSION.0,
            VEIN_ALGORITHM_VERSION.1,
        )
    }

    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn roi_side(&self) -> usize {
        self.params.roi_side_px
    }

    fn extract_into(
        &mut self,
        roi: &RoiImage,
        code: &mut [u64],
        mask: &mut [u64],
    ) -> Result<(), FeatureError> {
        prepare_output(self.geometry, self.params.roi_side_px, roi, code, mask)?;
        let side = self.params.roi_side_px;
        let grid = self.params.grid_cells;
        let stride = side / grid;
        let fill = roi.valid_mean() as f64;
        let (px, mk) = (roi.pixel_slice(), roi.mask_slice());
        for ((d, &p), &m) in self.img.iter_mut().zip(px).zip(mk) {
            *d = if m { p as f64 } else { fill };
        }
        self.mc.compute_kappa(&self.img, mk, side, side);
        self.mc.compute_vt();
        self.mc.compute_g();
        self.mc.compute_binary();

        // Invalid-pixel integral image.
        let w = side + 1;
        for y in 0..side {
            let mut run = 0u32;
            for x in 0..side {
                run += u32::from(!mk[y * side + x]);
                self.invalid_integral[(y + 1) * w + x + 1] =
                    self.invalid_integral[y * w + x + 1] + run;
            }
        }
        // Per-cell sums.
        let n = side * side;
        self.fine.fill(0);
        self.orient.fill(0.0);
        self.sums.fill([0.0; 2]);
        for y in 0..side {
            let row0 = (y / stride) * grid;
            for gx in 0..grid {
                let cell = row0 + gx;
                let (mut count, mut s1, mut s2) = (0u32, 0f64, 0f64);
                let mut o = [0f64; 4];
                for i in y * side + gx * stride..y * side + (gx + 1) * stride {
                    count += u32::from(self.mc.veins[i]);
                    for (d, od) in o.iter_mut().enumerate() {
                        *od += self.mc.kappa[d * n + i].max(0.0);
                    }
                    let v = self.img[i];
                    s1 += v;
                    s2 += v * v;
                }
                self.fine[cell] += count;
                for (d, od) in o.iter().enumerate() {
                    self.orient[cell * 4 + d] += od;
                }
                self.sums[cell][0] += s1;
                self.sums[cell][1] += s2;
            }
        }
        // 3×3-cell neighbourhood sums (clamped at the grid edge).
        let cells = grid * grid;
        let block_px = (stride * stride) as f64;
        let (b, m) = (self.params.border_cells, self.params.mask_margin_px);
        for gy in 0..grid {
            for gx in 0..grid {
                let cell = gy * grid + gx;
                let mut count = 0u32;
                let mut o = [0f64; 4];
                let (mut s1, mut s2, mut npx) = (0f64, 0f64, 0f64);
                for ny in gy.saturating_sub(1)..(gy + 2).min(grid) {
                    for nx in gx.saturating_sub(1)..(gx + 2).min(grid) {
                        let nc = ny * grid + nx;
                        count += self.fine[nc];
                        s1 += self.sums[nc][0];
                        s2 += self.sums[nc][1];
                        npx += block_px;
                        for (d, od) in o.iter_mut().enumerate() {
                            *od += self.orient[nc * 4 + d];
                        }
                    }
                }
                self.coarse[cell] = count;
                self.orient_coarse[cell * 4..cell * 4 + 4].copy_from_slice(&o);
                let mean = s1 / npx;
                let std = (s2 / npx - mean * mean).max(0.0).sqrt();
                let (y0, x0) = (
                    (gy * stride).saturating_sub(m),
                    (gx * stride).saturating_sub(m),
                );
                let (y1, x1) = (
                    ((gy + 1) * stride + m).min(side),
                    ((gx + 1) * stride + m).min(side),
                );
                let ii = &self.invalid_integral;
                let invalid = ii[y1 * w + x1] + ii[y0 * w + x0] - ii[y0 * w + x1] - ii[y1 * w + x0];
                self.valid[cell] = gy >= b
                    && gx >= b
                    && gy + b < grid
                    && gx + b < grid
                    && invalid == 0
                    && std >= self.params.min_contrast;
            }
        }
        let t_fine = Self::valid_median(&self.fine, &self.valid, &mut self.select);
        let t_coarse = Self::valid_median(&self.coarse, &self.valid, &mut self.select);
        let wpp = self.geometry.words_per_plane();
        for cell in 0..cells {
            if self.valid[cell] {
                mask[cell / 64] |= 1u64 << (cell % 64);
            }
            if self.fine[cell] > t_fine {
                set_bit(code, wpp, 0, cell);
            }
            if self.coarse[cell] > t_coarse {
                set_bit(code, wpp, 1, cell);
            }
            let o = &self.orient_coarse[cell * 4..cell * 4 + 4];
            let mut best = 0;
            for d in 1..4 {
                if o[d] > o[best] {
                    best = d;
                }
            }
            let a = PLANE_ANGLE[best];
            if a == 1 || a == 2 {
                set_bit(code, wpp, 2, cell);
            }
            if a >= 2 {
                set_bit(code, wpp, 3, cell);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Dark Gaussian valleys (σ 2 px, depth 0.3) of direction `phi` every 20 px on 0.7.
    fn stripes(phi: f64) -> RoiImage {
        let (s, c) = phi.sin_cos();
        RoiImage::from_fn(128, |r, col| {
            let d = -(col as f64) * s + r as f64 * c;
            let t = d.rem_euclid(20.0) - 10.0;
            ((0.7 - 0.3 * (-t * t / 8.0).exp()) as f32, true)
        })
        .unwrap()
    }

    fn angle_index(t: &crate::template::PalmTemplate, r: usize, c: usize) -> usize {
        match (t.bit(2, r, c), t.bit(3, r, c)) {
            (false, false) => 0,
            (true, false) => 1,
            (true, true) => 2,
            (false, true) => 3,
        }
    }

    #[test]
    fn gray_code_is_circular() {
        let bits = |a: usize| [a == 1 || a == 2, a >= 2];
        for a in 0..4 {
            for b in 0..4 {
                let hd = (0..2).filter(|&k| bits(a)[k] != bits(b)[k]).count();
                assert_eq!(hd, a.abs_diff(b).min(4 - a.abs_diff(b)));
            }
        }
    }

    #[test]
    fn orientation_planes_follow_the_valleys() {
        let mut ex = MaxCurvatureVein::default();
        let g = ex.params().grid_cells;
        let m = g / 2;
        // Horizontal valleys: the curvature profile runs vertically (90°, index 2).
        let t = ex.extract(&stripes(0.0)).unwrap();
        assert_eq!(angle_index(&t, m, m), 2);
        // Vertical valleys: horizontal profile (0°, index 0).
        let t = ex.extract(&stripes(std::f64::consts::FRAC_PI_2)).unwrap();
        assert_eq!(angle_index(&t, m, m), 0);
        // Valleys along "\\" (45° on screen): the profile runs along "/" (135°, index 3).
        let t = ex.extract(&stripes(std::f64::consts::FRAC_PI_4)).unwrap();
        assert_eq!(angle_index(&t, m, m), 3);
        // The vein map has the valleys; roughly balanced occupancy plane among valid cells.
        assert!(ex.last_vein_map().iter().any(|&v| v));
        let on = (0..g)
            .flat_map(|r| (0..g).map(move |c| (r, c)))
            .filter(|&(r, c)| t.is_valid(r, c) && t.bit(0, r, c))
            .count();
        let valid = t.valid_cells();
        // Everything but the border ring.
        assert_eq!(valid, (g - 2) * (g - 2));
        assert!(
            on as f64 > 0.2 * valid as f64 && (on as f64) < 0.6 * valid as f64,
            "{on}/{valid}"
        );
    }

    #[test]
    fn mask_behaviour() {
        let mut ex = MaxCurvatureVein::default();
        let base = stripes(0.4);
        let mask = ndarray::Array2::from_shape_fn((128, 128), |(r, _)| r < 64);
        let roi = RoiImage::new(base.pixels().to_owned(), mask).unwrap();
        let t = ex.extract(&roi).unwrap();
        let g = ex.params().grid_cells;
        for c in 0..g {
            assert!(!t.is_valid(0, c) && !t.is_valid(g - 1, c), "border ring");
            for r in g / 2..g {
                assert!(!t.is_valid(r, c), "masked half ({r}, {c})");
            }
        }
        assert!(t.valid_cells() as f64 > 0.28 * (g * g) as f64);
        // Flat ROI: no contrast anywhere → nothing valid.
        let flat = RoiImage::from_fn(128, |_, _| (0.5, true)).unwrap();
        assert_eq!(ex.extract(&flat).unwrap().valid_cells(), 0);
    }

    #[test]
    fn config_errors_are_listed() {
        let p = MaxCurvatureVeinParams {
            sigma_px: 0.0,
            grid_cells: 30,
            ..Default::default()
        };
        let e = MaxCurvatureVein::new(p).unwrap_err();
        assert_eq!(e.issues.len(), 2, "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn never_panics(seed in any::<u64>(), mask_kind in 0u8..3, scale in -1e3f32..1e3) {
            let mut s = seed | 1;
            let roi = RoiImage::from_fn(128, |r, c| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                let m = match mask_kind { 0 => true, 1 => false, _ => (r * c) % 7 != 0 };
                ((s % 1000) as f32 / 1000.0 * scale, m)
            }).unwrap();
            let t = MaxCurvatureVein::default().extract(&roi).unwrap();
            if mask_kind >= 1 {
                prop_assert_eq!(t.valid_cells(), 0);
            }
        }
    }
}
