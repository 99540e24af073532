//! Orientation codes from a bank of 6 even Gabor filters: CompCode, BOCV and the
//! double-orientation code, for creases (visible light) and veins (NIR), on a 16 × 16 grid of
//! 8-px cells.

use crate::error::{ConfigError, ConfigIssue};
use crate::template::{Algorithm, Geometry, Modality};

use super::filters::{GaborParams, ORIENTATIONS, SampledBank};
use super::{
    ALGORITHM_BOCV, ALGORITHM_COMP_CODE, ALGORITHM_DOC, ALGORITHM_VEIN_BOCV,
    CREASE_ALGORITHM_VERSION, FeatureError, FeatureExtractor, RoiImage, algorithm_version,
    prepare_output, set_bit,
};

/// How the 6 filter responses of a cell become code bits.
///
/// Orientation `j` is the line direction `φ_j = j·30°`, clockwise on screen from the `+x` axis
/// (see [`GaborParams`]); a dark line of direction `φ_j` gives the most negative response `r_j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrientedCode {
    /// CompCode (Kong & Zhang, ICPR 2004): `i = argmin_j r_j`, 3 planes holding the thermometer
    /// code `0→000, 1→001, 2→011, 3→111, 4→110, 5→100` (plane `k` = bit `k`, least significant
    /// first), so that the Hamming distance of two cells equals the circular orientation
    /// distance `min(|i−j|, 6−|i−j|)` ∈ {0, 1, 2, 3}.
    CompCode,
    /// BOCV (Guo, Zhang, Zhang, Zuo, PRL 2009): 6 planes, plane `j` = `[r_j < 0]` (the cell is on
    /// the dark side of filter `j`).
    Bocv,
    /// Double-orientation code (after Fei et al., PR 2016): the darkest and the second-darkest
    /// line orientation, each thermometer-coded as in CompCode (planes 0–2 and 3–5). Matched
    /// here with the plain Hamming distance (sum of both circular distances) instead of the
    /// paper's non-linear score, so that it runs on the same SIMD kernel.
    DoubleOrientation,
}

impl OrientedCode {
    /// Code planes per cell.
    pub const fn planes(self) -> u8 {
        match self {
            OrientedCode::CompCode => 3,
            OrientedCode::Bocv | OrientedCode::DoubleOrientation => 6,
        }
    }
}

/// Parameters of an [`OrientedCodeExtractor`]. Any change to a field changes what the codes
/// mean: keep the built-in algorithm ids for the constructors' values and use an id ≥
/// [`Algorithm::USER_ID_START`] for customised parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrientedCodeParams {
    /// The coding rule.
    pub code: OrientedCode,
    /// The modality written into templates.
    pub modality: Modality,
    /// The algorithm id written into templates (with this module's version for a built-in id,
    /// see [`algorithm_version`](super::algorithm_version)).
    pub algorithm_id: u16,
    /// The filter bank.
    pub gabor: GaborParams,
    /// ROI side (px) accepted. Must be a multiple of `grid_cells`.
    pub roi_side_px: usize,
    /// Code grid side (cells); one sample per `roi_side_px / grid_cells` px square, taken at
    /// pixel `stride·g + stride/2`.
    pub grid_cells: usize,
    /// A cell is valid only if every pixel within this Chebyshev radius (px) of its sample point
    /// is inside the ROI and valid in its mask. The rest of the filter support reads the
    /// mirrored border / mean-filled invalid pixels. At most `gabor.radius_px`.
    pub core_radius_px: usize,
    /// A cell is valid only if `max_j r_j − min_j r_j` reaches this value (intensity units, see
    /// [`GaborParams`]): flat or saturated areas carry no orientation. `0` disables.
    pub min_response: f32,
    /// Fraction `[0, 0.5]` of the remaining valid cells with the weakest `max_j r_j − min_j r_j`
    /// that is masked as fragile (E-BOCV-style, per cell). `0` disables.
    pub fragile_fraction: f32,
}

impl OrientedCodeParams {
    fn defaults(code: OrientedCode, modality: Modality, algorithm_id: u16, g: GaborParams) -> Self {
        Self {
            code,
            modality,
            algorithm_id,
            gabor: g,
            roi_side_px: RoiImage::DEFAULT_SIDE,
            grid_cells: 16,
            core_radius_px: 8,
            min_response: 0.5 / 255.0,
            fragile_fraction: 0.0,
        }
    }

    /// Every invalid value, with its bound.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = self.gabor.issues("gabor");
        let mut push = |field: &str, value: String, bound: &str| {
            issues.push(ConfigIssue {
                field: field.into(),
                value,
                bound: bound.into(),
            })
        };
        if !(RoiImage::MIN_SIDE..=RoiImage::MAX_SIDE).contains(&self.roi_side_px) {
            push(
                "roi_side_px",
                self.roi_side_px.to_string(),
                "must be in 16..=1024",
            );
        }
        if !(4..=256).contains(&self.grid_cells) {
            push(
                "grid_cells",
                self.grid_cells.to_string(),
                "must be in 4..=256",
            );
        } else if !self.roi_side_px.is_multiple_of(self.grid_cells) {
            push(
                "grid_cells",
                self.grid_cells.to_string(),
                &format!("must divide roi_side_px = {}", self.roi_side_px),
            );
        }
        if 2 * self.gabor.radius_px >= self.roi_side_px {
            push(
                "gabor.radius_px",
                self.gabor.radius_px.to_string(),
                &format!("must be < roi_side_px / 2 = {}", self.roi_side_px / 2),
            );
        }
        if self.core_radius_px > self.gabor.radius_px {
            push(
                "core_radius_px",
                self.core_radius_px.to_string(),
                &format!("must be ≤ gabor.radius_px = {}", self.gabor.radius_px),
            );
        }
        if !(self.min_response >= 0.0 && self.min_response.is_finite()) {
            push(
                "min_response",
                self.min_response.to_string(),
                "must be finite and ≥ 0",
            );
        }
        if !(0.0..=0.5).contains(&self.fragile_fraction) {
            push(
                "fragile_fraction",
                self.fragile_fraction.to_string(),
                "must be in [0, 0.5]",
            );
        }
        ConfigError::check(issues)
    }
}

/// Orientation-code extractor (CompCode, BOCV, DOC) over a 6-orientation even Gabor bank,
/// evaluated at the code grid's sample points only.
///
/// Cell mask: valid iff the filter core lies on valid ROI pixels (see
/// [`OrientedCodeParams::core_radius_px`]), the response spread reaches
/// [`OrientedCodeParams::min_response`] and the cell is not among the
/// [`fragile_fraction`](OrientedCodeParams::fragile_fraction) weakest. Code bits of masked cells
/// are still computed (useful for display) but carry no meaning.
#[derive(Debug, Clone)]
pub struct OrientedCodeExtractor {
    params: OrientedCodeParams,
    geometry: Geometry,
    bank: SampledBank,
    strength: Vec<f32>,
    valid: Vec<bool>,
    select: Vec<f32>,
}

impl OrientedCodeExtractor {
    /// An extractor with validated parameters.
    pub fn new(params: OrientedCodeParams) -> Result<Self, ConfigError> {
        params.validate()?;
        let grid = params.grid_cells;
        let geometry = Geometry::new(grid as u16, grid as u16, params.code.planes())
            .expect("validated: grid in 4..=256, planes ≤ 6");
        let bank = SampledBank::new(&params.gabor, params.roi_side_px, grid);
        Ok(Self {
            params,
            geometry,
            bank,
            strength: vec![0.0; grid * grid],
            valid: vec![false; grid * grid],
            select: Vec::with_capacity(grid * grid),
        })
    }

    fn builtin(code: OrientedCode, modality: Modality, id: u16, g: GaborParams) -> Self {
        Self::new(OrientedCodeParams::defaults(code, modality, id, g))
            .expect("built-in parameters are valid")
    }

    /// CompCode on crease ROIs ([`ALGORITHM_COMP_CODE`], 16×16×3 = 128 bytes with mask) at the
    /// [`GaborParams::CREASE`] scale.
    pub fn comp_code() -> Self {
        Self::builtin(
            OrientedCode::CompCode,
            Modality::Crease,
            ALGORITHM_COMP_CODE,
            GaborParams::CREASE,
        )
    }

    /// BOCV on crease ROIs ([`ALGORITHM_BOCV`], 16×16×6 = 224 bytes with mask) at the
    /// [`GaborParams::CREASE`] scale: the default crease code (see the module docs for why).
    pub fn bocv() -> Self {
        Self::builtin(
            OrientedCode::Bocv,
            Modality::Crease,
            ALGORITHM_BOCV,
            GaborParams::CREASE,
        )
    }

    /// Double-orientation code on crease ROIs ([`ALGORITHM_DOC`], 16×16×6 = 224 bytes with
    /// mask) at the [`GaborParams::CREASE`] scale.
    pub fn double_orientation() -> Self {
        Self::builtin(
            OrientedCode::DoubleOrientation,
            Modality::Crease,
            ALGORITHM_DOC,
            GaborParams::CREASE,
        )
    }

    /// BOCV at the vein scale ([`GaborParams::VEIN`]) on NIR ROIs ([`ALGORITHM_VEIN_BOCV`],
    /// 16×16×6 = 224 bytes with mask). The grid is 16 cells (one sample per 8 px), as for the
    /// crease codes: the 25-px-wavelength vein filter varies slowly enough for that sampling,
    /// and the matcher's ±2-cell window then spans ±16 px of ROI misplacement (full pipeline,
    /// 200 identities × 10 synthetic captures: EER 0.33 % at 16 cells, 0.52 % at 32; see
    /// [`MaxCurvatureVein`](super::MaxCurvatureVein) for the same trade-off).
    pub fn vein_bocv() -> Self {
        Self::builtin(
            OrientedCode::Bocv,
            Modality::Vein,
            ALGORITHM_VEIN_BOCV,
            GaborParams::VEIN,
        )
    }

    /// The parameters.
    pub fn params(&self) -> &OrientedCodeParams {
        &self.params
    }

    /// The filter responses of the last extraction, `[cell][orientation]` with
    /// `cell = row · grid + col` (intensity units; see [`GaborParams`]).
    pub fn last_responses(&self) -> &[f32] {
        &self.bank.responses
    }
}

/// The thermometer code bit `k` (0..3) of orientation index `i` (0..6).
#[inline]
pub(crate) const fn thermometer_bit(i: usize, k: usize) -> bool {
    i > k && i <= k + 3
}

impl FeatureExtractor for OrientedCodeExtractor {
    fn modality(&self) -> Modality {
        self.params.modality
    }

    fn algorithm(&self) -> Algorithm {
        // Ids outside this module's table (a caller's own parameter set) keep the crease
        // version.
        let (major, minor) =
            algorithm_version(self.params.algorithm_id).unwrap_or(CREASE_ALGORITHM_VERSION);
        Algorithm::new(self.params.algorithm_id, major, minor)
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
        self.bank.load(roi);
        self.bank.evaluate(self.params.core_radius_px);
        let cells = self.geometry.cells();
        let wpp = self.geometry.words_per_plane();
        for cell in 0..cells {
            let r = &self.bank.responses[cell * ORIENTATIONS..(cell + 1) * ORIENTATIONS];
            let (lo, hi) = r
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            let s = hi - lo;
            self.strength[cell] = s;
            self.valid[cell] = self.bank.core_valid[cell] && s >= self.params.min_response;
        }
        if self.params.fragile_fraction > 0.0 {
            self.select.clear();
            self.select.extend(
                (0..cells)
                    .filter(|&c| self.valid[c])
                    .map(|c| self.strength[c]),
            );
            let k = (self.params.fragile_fraction as f64 * self.select.len() as f64) as usize;
            if k > 0 && k < self.select.len() {
                let (_, &mut threshold, _) = self.select.select_nth_unstable_by(k, f32::total_cmp);
                for c in 0..cells {
                    if self.strength[c] < threshold {
                        self.valid[c] = false;
                    }
                }
            }
        }
        for cell in 0..cells {
            if self.valid[cell] {
                mask[cell / 64] |= 1u64 << (cell % 64);
            }
            let r = &self.bank.responses[cell * ORIENTATIONS..(cell + 1) * ORIENTATIONS];
            match self.params.code {
                OrientedCode::Bocv => {
                    for (j, &v) in r.iter().enumerate() {
                        if v < 0.0 {
                            set_bit(code, wpp, j, cell);
                        }
                    }
                }
                OrientedCode::CompCode | OrientedCode::DoubleOrientation => {
                    let first = argmin(r, usize::MAX);
                    for k in 0..3 {
                        if thermometer_bit(first, k) {
                            set_bit(code, wpp, k, cell);
                        }
                    }
                    if self.params.code == OrientedCode::DoubleOrientation {
                        let second = argmin(r, first);
                        for k in 0..3 {
                            if thermometer_bit(second, k) {
                                set_bit(code, wpp, 3 + k, cell);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Index of the smallest value, skipping index `skip`; ties go to the lowest index.
#[inline]
fn argmin(r: &[f32], skip: usize) -> usize {
    let mut best = usize::MAX;
    let mut best_v = f32::INFINITY;
    for (j, &v) in r.iter().enumerate() {
        if j != skip && (best == usize::MAX || v < best_v) {
            best = j;
            best_v = v;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::PalmTemplate;
    use proptest::prelude::*;

    /// A dark line (depth 0.5, Gaussian profile σ = 1.5 px ≈ 3 px wide) of direction `phi`
    /// (clockwise from +x, y down) through pixel (68, 68) — the sample point of cell (8, 8) —
    /// on a flat 0.7 field.
    pub(crate) fn line_roi(phi: f64) -> RoiImage {
        let (s, c) = phi.sin_cos();
        RoiImage::from_fn(128, |r, col| {
            let (x, y) = (col as f64 - 68.0, r as f64 - 68.0);
            let d = -x * s + y * c;
            (
                (0.7 - 0.5 * (-d * d / (2.0 * 1.5 * 1.5)).exp()) as f32,
                true,
            )
        })
        .unwrap()
    }

    fn comp_index(t: &PalmTemplate, r: usize, c: usize) -> usize {
        let b = (0..3).map(|k| t.bit(k, r, c)).collect::<Vec<_>>();
        (0..6)
            .find(|&i| (0..3).all(|k| thermometer_bit(i, k) == b[k]))
            .expect("valid thermometer code")
    }

    #[test]
    fn thermometer_hamming_is_circular_distance() {
        for i in 0..6 {
            for j in 0..6 {
                let hd = (0..3)
                    .filter(|&k| thermometer_bit(i, k) != thermometer_bit(j, k))
                    .count();
                let d = i.abs_diff(j).min(6 - i.abs_diff(j));
                assert_eq!(hd, d, "{i} vs {j}");
            }
        }
    }

    #[test]
    fn comp_code_recovers_line_orientation() {
        let mut ex = OrientedCodeExtractor::comp_code();
        for j in 0..6 {
            let phi = j as f64 * std::f64::consts::PI / 6.0;
            let t = ex.extract(&line_roi(phi)).unwrap();
            // Every cell whose sample point lies within 2 px of the line (and 40 px of its
            // centre, away from the border) recovers the line's orientation.
            let (sn, cs) = phi.sin_cos();
            let mut checked = 0;
            for r in 0..16 {
                for c in 0..16 {
                    let (x, y) = (8.0 * c as f64 + 4.0 - 68.0, 8.0 * r as f64 + 4.0 - 68.0);
                    if (-x * sn + y * cs).abs() <= 2.0 && x.hypot(y) <= 40.0 {
                        assert!(t.is_valid(r, c));
                        assert_eq!(
                            comp_index(&t, r, c),
                            j,
                            "line at {}°, cell ({r}, {c})",
                            j * 30
                        );
                        checked += 1;
                    }
                }
            }
            assert!(checked >= 3, "{checked}");
            // Far from the line the field is flat: no orientation, masked.
            if j == 0 {
                assert!(!t.is_valid(1, 8) && !t.is_valid(14, 8));
            }
        }
    }

    #[test]
    fn doc_and_bocv_on_a_line() {
        let phi = std::f64::consts::PI / 3.0; // orientation 2
        let roi = line_roi(phi);
        let t = OrientedCodeExtractor::double_orientation()
            .extract(&roi)
            .unwrap();
        let first: Vec<bool> = (0..3).map(|k| t.bit(k, 8, 8)).collect();
        assert_eq!(first, vec![true, true, false]); // 2 → 011
        let second: usize = (0..6)
            .find(|&i| (0..3).all(|k| thermometer_bit(i, k) == t.bit(3 + k, 8, 8)))
            .unwrap();
        assert_eq!(second.abs_diff(2).min(6 - second.abs_diff(2)), 1);
        let t = OrientedCodeExtractor::bocv().extract(&roi).unwrap();
        assert!(
            t.bit(2, 8, 8),
            "matched filter responds negatively on the dark line"
        );
        assert!(!t.bit(5, 8, 8), "orthogonal filter does not");
    }

    #[test]
    fn mask_follows_roi_mask_and_border() {
        let base = line_roi(0.3);
        let px = base.pixels().to_owned();
        // Left half invalid.
        let mask = ndarray::Array2::from_shape_fn((128, 128), |(_, c)| c >= 64);
        let roi = RoiImage::new(px.clone(), mask).unwrap();
        let t = OrientedCodeExtractor::comp_code().extract(&roi).unwrap();
        for r in 0..16 {
            for c in 0..9 {
                // Sample x = 8c + 4; core radius 8 reaches x − 8 < 64 for c ≤ 8.
                assert!(!t.is_valid(r, c), "cell ({r}, {c})");
            }
        }
        // The line crosses the valid half: some valid cells there.
        assert!(t.valid_cells() > 0);
        // Border ring (sample at 4 px < core radius 8) is always invalid.
        let t = OrientedCodeExtractor::comp_code()
            .extract(&RoiImage::unmasked(px).unwrap())
            .unwrap();
        for i in 0..16 {
            assert!(!t.is_valid(0, i) && !t.is_valid(i, 0) && !t.is_valid(15, i));
        }
        // All masked: no valid cell, and no panic.
        let all = RoiImage::new(
            ndarray::Array2::zeros((128, 128)),
            ndarray::Array2::from_elem((128, 128), false),
        )
        .unwrap();
        assert_eq!(
            OrientedCodeExtractor::bocv()
                .extract(&all)
                .unwrap()
                .valid_cells(),
            0
        );
    }

    #[test]
    fn fragile_fraction_masks_weakest_cells() {
        let mut p = OrientedCodeExtractor::comp_code().params().clone();
        let roi = RoiImage::from_fn(128, |r, c| {
            (
                ((r as f32 * 0.31).sin() * (c as f32 * 0.17).cos() + 1.0) / 2.0,
                true,
            )
        })
        .unwrap();
        let n0 = OrientedCodeExtractor::new(p.clone())
            .unwrap()
            .extract(&roi)
            .unwrap()
            .valid_cells();
        p.fragile_fraction = 0.2;
        let n1 = OrientedCodeExtractor::new(p)
            .unwrap()
            .extract(&roi)
            .unwrap()
            .valid_cells();
        assert!(n1 < n0 && n1 as f64 >= 0.75 * n0 as f64, "{n0} → {n1}");
    }

    #[test]
    fn errors_name_the_problem() {
        let mut ex = OrientedCodeExtractor::comp_code();
        let small = RoiImage::unmasked(ndarray::Array2::zeros((64, 64))).unwrap();
        assert_eq!(
            ex.extract(&small).unwrap_err(),
            FeatureError::RoiSide {
                found: 64,
                expected: 128
            }
        );
        let roi = line_roi(0.0);
        let mut code = vec![0u64; 11];
        let mut mask = vec![0u64; 4];
        assert!(matches!(
            ex.extract_into(&roi, &mut code, &mut mask),
            Err(FeatureError::BufferSize {
                part: "code",
                found: 11,
                expected: 12
            })
        ));
        let mut p = ex.params().clone();
        p.grid_cells = 30;
        p.core_radius_px = 99;
        p.gabor.kappa = 0.0;
        let e = OrientedCodeExtractor::new(p).unwrap_err();
        assert_eq!(e.issues.len(), 3, "{e}");
    }

    #[test]
    fn extract_into_matches_extract_and_is_repeatable() {
        let mut ex = OrientedCodeExtractor::bocv();
        let a = line_roi(1.0);
        let b = line_roi(2.0);
        let ta = ex.extract(&a).unwrap();
        let _ = ex.extract(&b).unwrap();
        let mut code = vec![u64::MAX; ex.geometry().code_words()];
        let mut mask = vec![u64::MAX; ex.geometry().words_per_plane()];
        ex.extract_into(&a, &mut code, &mut mask).unwrap();
        assert_eq!(code, ta.code_words());
        assert_eq!(mask, ta.mask_words());
        assert_eq!(ta.algorithm(), Algorithm::new(ALGORITHM_BOCV, 2, 0));
        assert_eq!(ta.modality(), Modality::Crease);
    }

    /// A shift of the ROI by one cell (8 px) shifts the code by exactly one cell wherever the
    /// filter support lies inside both ROIs: the property the matcher's shift search relies on.
    #[test]
    fn one_cell_roi_shift_is_one_cell_code_shift() {
        let a = crate::features::pattern::line_texture(
            crate::features::pattern::PatternKind::Crease,
            128,
            5,
            0,
            0.0,
        );
        let pa = a.pixels();
        let b = RoiImage::from_fn(128, |r, c| (pa[[r, (c + 8).min(127)]], true)).unwrap();
        for mut ex in [
            OrientedCodeExtractor::comp_code(),
            OrientedCodeExtractor::bocv(),
            OrientedCodeExtractor::double_orientation(),
        ] {
            let (ta, tb) = (ex.extract(&a).unwrap(), ex.extract(&b).unwrap());
            // Sample x = 8c + 4 with radius 20: the support lies inside both ROIs (the shifted
            // one repeats its edge from x = 120 on) for 2 ≤ c ≤ 11 and rows 2 ≤ r ≤ 12.
            let mut compared = 0;
            for r in 2..13 {
                for c in 2..12 {
                    assert_eq!(tb.is_valid(r, c), ta.is_valid(r, c + 1));
                    for p in 0..ta.geometry().planes() {
                        assert_eq!(tb.bit(p, r, c), ta.bit(p, r, c + 1), "({r}, {c}) plane {p}");
                    }
                    compared += 1;
                }
            }
            assert_eq!(compared, 11 * 10);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Any pixel values and any mask: no panic, and masked cells never exceed the cells whose
        /// core is valid.
        #[test]
        fn never_panics(seed in any::<u64>(), mask_kind in 0u8..4, scale in -1e6f32..1e6) {
            let mut s = seed | 1;
            let roi = RoiImage::from_fn(128, |r, c| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                let v = (s % 1000) as f32 / 1000.0 * scale;
                let m = match mask_kind { 0 => true, 1 => false, 2 => (r + c) % 3 != 0, _ => s % 2 == 0 };
                (v, m)
            }).unwrap();
            for mut ex in [OrientedCodeExtractor::comp_code(), OrientedCodeExtractor::bocv(),
                           OrientedCodeExtractor::double_orientation(), OrientedCodeExtractor::vein_bocv()] {
                let t = ex.extract(&roi).unwrap();
                if mask_kind == 1 || mask_kind == 2 {
                    prop_assert_eq!(t.valid_cells(), 0);
                }
            }
        }
    }
}
