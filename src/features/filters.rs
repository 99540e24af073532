//! Oriented even Gabor filter banks, evaluated only at the code grid's sample points.

use crate::error::{ConfigError, ConfigIssue};

use super::RoiImage;

/// Number of orientations in every oriented bank: line directions `φ_j = j·π/6`, `j = 0..6`.
pub(crate) const ORIENTATIONS: usize = 6;

/// SIMD lane count the kernel rows are padded to.
const LANES: usize = 8;

/// Parameters of the real (even) Gabor filter in the neurophysiology-based form of Lee (1996)
/// used by CompCode, BOCV and DOC:
///
/// `ψ(u, v) = ω/(√(2π)·κ) · exp(−ω²(4v² + u²)/(8κ²)) · (cos(ω·v) − exp(−κ²/2))`
///
/// where `u` runs **along** the line direction `φ` and `v` across it
/// (`u = x cos φ + y sin φ`, `v = −x sin φ + y cos φ`, `x` right, `y` down, so `φ` is measured
/// clockwise on screen from the `+x` axis). The envelope's standard deviation is `κ/ω` px
/// across the line and `2κ/ω` px along it; the wavelength is `2π/ω` px. The kernel is sampled on
/// a `(2·radius_px + 1)²` square, its mean is subtracted (exactly zero DC) and it is scaled so
/// that `Σ|ψ| = 2`; its centre lobe is **positive**, so a dark line gives the most negative
/// response of the orientation that matches it. Responses are then in intensity units: for
/// pixels in `[0, 1]` every response lies in `[−1, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaborParams {
    /// Radial frequency ω (rad/px) of the cosine across the line. Range `(0, π]`.
    pub omega_rad_per_px: f32,
    /// Bandwidth constant κ = √(2 ln 2)·(2^δ+1)/(2^δ−1) for a half-amplitude bandwidth of δ
    /// octaves. Range `[0.5, 10]`.
    pub kappa: f32,
    /// Kernel half-size (px): the kernel is `(2·radius_px + 1)²`. Range `1..=32`.
    pub radius_px: usize,
}

impl GaborParams {
    /// Crease scale of the built-in crease codes at a 128 px ROI: ω = 0.2 rad/px (wavelength
    /// 31 px), κ = 1.5 (σ = 7.5 px across, 15 px along the line), on a 41 × 41 support (the
    /// envelope along the line is cut at 1.33σ). That is 2.5× the published wavelength
    /// ([`CREASE_PUBLISHED`](Self::CREASE_PUBLISHED)): with the crease codes' 8-px cells (16 × 16
    /// grid, so that the matcher's ±2-cell window spans ±16 px of ROI misplacement) a code must
    /// stay stable under the up-to-±4-px residual between whole-cell shifts, which a 12.6 px
    /// wavelength does not (full pipeline, 200 identities × 10 synthetic captures, BOCV on
    /// detected ROIs: EER 0.20 % at this scale, 0.29 % at ω = 0.25, 0.43 % at ω = 0.3, 3.4 %
    /// with the published scale on the same grid; see the module docs).
    pub const CREASE: GaborParams = GaborParams {
        omega_rad_per_px: 0.2,
        kappa: 1.5,
        radius_px: 20,
    };

    /// The published crease scale at a 128 px ROI: ω = 0.5 rad/px (wavelength 12.6 px), κ = 2
    /// (σ = 4 px across, 8 px along the line) — the values of the public CompCode/BOCV/DOC
    /// reimplementations (Li-ChengYan, `generate_np_gabor`), on a 25 × 25 support instead of
    /// their 17 × 17 so that the envelope along the line is not cut at 1σ. Sampled every 4 px
    /// (32 × 32 grid) as published; the version-1 crease codes used it. Kept for custom
    /// [`OrientedCodeParams`](super::OrientedCodeParams) on well-aligned (contact) ROIs: with
    /// the generator's ground-truth ROIs it reaches a BOCV EER of 0.27 %, but on detected
    /// contactless ROIs 1.05 % (the ±2-cell window then spans only ±8 px).
    pub const CREASE_PUBLISHED: GaborParams = GaborParams {
        omega_rad_per_px: 0.5,
        kappa: 2.0,
        radius_px: 12,
    };

    /// Vein scale at a 128 px ROI: twice the crease wavelength (ω = 0.25 rad/px, 25 px) and a
    /// 1.5× wider envelope (κ = 1.5: σ = 6 px across, 12 px along), on a 33 × 33 support —
    /// ALGORITHMS.md §3 suggestion 3 (veins are wider and blurrier than creases).
    pub const VEIN: GaborParams = GaborParams {
        omega_rad_per_px: 0.25,
        kappa: 1.5,
        radius_px: 16,
    };

    /// Every out-of-range value, with its bound. `prefix` names the field path.
    pub fn issues(&self, prefix: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if !(self.omega_rad_per_px > 0.0 && self.omega_rad_per_px <= std::f32::consts::PI) {
            issues.push(ConfigIssue {
                field: format!("{prefix}.omega_rad_per_px"),
                value: self.omega_rad_per_px.to_string(),
                bound: "must be in (0, π]".into(),
            });
        }
        if !(0.5..=10.0).contains(&self.kappa) {
            issues.push(ConfigIssue {
                field: format!("{prefix}.kappa"),
                value: self.kappa.to_string(),
                bound: "must be in [0.5, 10]".into(),
            });
        }
        if !(1..=32).contains(&self.radius_px) {
            issues.push(ConfigIssue {
                field: format!("{prefix}.radius_px"),
                value: self.radius_px.to_string(),
                bound: "must be in 1..=32".into(),
            });
        }
        issues
    }

    /// Validates the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check(self.issues("gabor"))
    }

    /// The kernel for line direction `phi` (radians), row-major `(2r+1)²`, zero mean, `Σ|ψ| = 2`.
    pub(crate) fn kernel(&self, phi: f64) -> Vec<f32> {
        let r = self.radius_px as isize;
        let n = (2 * r + 1) as usize;
        let (w, k) = (self.omega_rad_per_px as f64, self.kappa as f64);
        let (s, c) = phi.sin_cos();
        let dc = (-k * k / 2.0).exp();
        let scale = w / ((2.0 * std::f64::consts::PI).sqrt() * k);
        let mut out = vec![0f64; n * n];
        for dy in -r..=r {
            for dx in -r..=r {
                let (x, y) = (dx as f64, dy as f64);
                let u = x * c + y * s;
                let v = -x * s + y * c;
                let env = (-(w * w) * (4.0 * v * v + u * u) / (8.0 * k * k)).exp();
                out[((dy + r) as usize) * n + (dx + r) as usize] =
                    scale * env * ((w * v).cos() - dc);
            }
        }
        let mean = out.iter().sum::<f64>() / out.len() as f64;
        out.iter_mut().for_each(|v| *v -= mean);
        let l1: f64 = out.iter().map(|v| v.abs()).sum();
        out.iter().map(|&v| (2.0 * v / l1) as f32).collect()
    }
}

/// A bank of [`ORIENTATIONS`] Gabor kernels, rows padded to a multiple of [`LANES`], plus the
/// scratch needed to evaluate it at grid sample points of one ROI size.
#[derive(Debug, Clone)]
pub(crate) struct SampledBank {
    radius: usize,
    /// Kernel row length after padding (≥ 2r+1, multiple of LANES).
    row_len: usize,
    /// `ORIENTATIONS` kernels, each `(2r+1) × row_len`.
    kernels: Vec<f32>,
    side: usize,
    grid: usize,
    stride: usize,
    /// Sample offset within a cell (px): sample of cell `g` is at pixel `stride·g + offset`.
    offset: usize,
    /// Padded ROI: `(side + 2r)` rows × `pad_cols` columns.
    padded: Vec<f32>,
    pad_cols: usize,
    /// Integral image of invalid pixels, `(side+1)²`.
    invalid_integral: Vec<u32>,
    /// Responses, `[cell][orientation]`.
    pub(crate) responses: Vec<f32>,
    /// Whether the filter core of each cell lies on valid pixels only.
    pub(crate) core_valid: Vec<bool>,
}

impl SampledBank {
    /// A bank for `side`-px ROIs sampled on a `grid × grid` code grid (`side` must be a multiple
    /// of `grid`; checked by the caller's validation).
    pub(crate) fn new(params: &GaborParams, side: usize, grid: usize) -> Self {
        let radius = params.radius_px;
        let n = 2 * radius + 1;
        let row_len = n.div_ceil(LANES) * LANES;
        let mut kernels = vec![0f32; ORIENTATIONS * n * row_len];
        for j in 0..ORIENTATIONS {
            let phi = j as f64 * std::f64::consts::PI / ORIENTATIONS as f64;
            let k = params.kernel(phi);
            for dy in 0..n {
                let dst = (j * n + dy) * row_len;
                kernels[dst..dst + n].copy_from_slice(&k[dy * n..(dy + 1) * n]);
            }
        }
        let stride = side / grid;
        let pad_cols = side + 2 * radius + (row_len - n);
        Self {
            radius,
            row_len,
            kernels,
            side,
            grid,
            stride,
            offset: stride / 2,
            padded: vec![0.0; (side + 2 * radius) * pad_cols],
            pad_cols,
            invalid_integral: vec![0; (side + 1) * (side + 1)],
            responses: vec![0.0; grid * grid * ORIENTATIONS],
            core_valid: vec![false; grid * grid],
        }
    }

    /// The kernel of orientation `j`, `(2r+1)²` row-major (without row padding).
    #[cfg(test)]
    pub(crate) fn kernel(&self, j: usize) -> Vec<f32> {
        let n = 2 * self.radius + 1;
        let mut out = Vec::with_capacity(n * n);
        for dy in 0..n {
            let s = (j * n + dy) * self.row_len;
            out.extend_from_slice(&self.kernels[s..s + n]);
        }
        out
    }

    /// Sample pixel coordinate of grid index `g`.
    #[inline]
    pub(crate) fn sample_px(&self, g: usize) -> usize {
        self.stride * g + self.offset
    }

    /// Fills the padded image from the ROI: invalid pixels are replaced by the mean of the valid
    /// ones, and the border is mirrored (`reflect-101`: `−1 → 1`). Also builds the invalid-pixel
    /// integral image.
    pub(crate) fn load(&mut self, roi: &RoiImage) {
        let side = self.side;
        let fill = roi.valid_mean();
        let px = roi.pixel_slice();
        let mk = roi.mask_slice();
        let r = self.radius as isize;
        for py in 0..side + 2 * self.radius {
            let sy = reflect(py as isize - r, side);
            let row = &mut self.padded[py * self.pad_cols..(py + 1) * self.pad_cols];
            for (pxi, v) in row.iter_mut().enumerate() {
                let sx = reflect(pxi as isize - r, side);
                let i = sy * side + sx;
                *v = if mk[i] { px[i] } else { fill };
            }
        }
        let w = side + 1;
        for y in 0..side {
            let mut run = 0u32;
            for x in 0..side {
                run += u32::from(!mk[y * side + x]);
                self.invalid_integral[(y + 1) * w + x + 1] =
                    self.invalid_integral[y * w + x + 1] + run;
            }
        }
    }

    /// Number of invalid pixels in the ROI rectangle `[y0, y1) × [x0, x1)`.
    fn invalid_in(&self, y0: usize, y1: usize, x0: usize, x1: usize) -> u32 {
        let w = self.side + 1;
        let ii = &self.invalid_integral;
        ii[y1 * w + x1] + ii[y0 * w + x0] - ii[y0 * w + x1] - ii[y1 * w + x0]
    }

    /// Evaluates all orientations at every grid sample point (after [`load`](Self::load)) and
    /// marks the cells whose `core_radius`-px neighbourhood lies inside the ROI on valid pixels.
    ///
    /// Uses AVX2 + FMA when the CPU has them (detected at run time), portable code otherwise;
    /// the two differ only by float rounding (fused multiply-add).
    pub(crate) fn evaluate(&mut self, core_radius: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { self.evaluate_avx2_fma() };
            self.mark_core_valid(core_radius);
            return;
        }
        self.evaluate_portable();
        self.mark_core_valid(core_radius);
    }

    /// AVX2 + FMA path: one 8-lane accumulator per orientation.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn evaluate_avx2_fma(&mut self) {
        use std::arch::x86_64::*;
        let n = 2 * self.radius + 1;
        let (rl, pc) = (self.row_len, self.pad_cols);
        for gy in 0..self.grid {
            let y = self.sample_px(gy);
            for gx in 0..self.grid {
                let x = self.sample_px(gx);
                let cell = gy * self.grid + gx;
                let mut acc = [_mm256_setzero_ps(); ORIENTATIONS];
                for dy in 0..n {
                    let img = &self.padded[(y + dy) * pc + x..(y + dy) * pc + x + rl];
                    for (j, a) in acc.iter_mut().enumerate() {
                        let k = &self.kernels[(j * n + dy) * rl..(j * n + dy + 1) * rl];
                        for (ic, kc) in img.chunks_exact(LANES).zip(k.chunks_exact(LANES)) {
                            // SAFETY: both chunks are exactly LANES = 8 f32 long.
                            unsafe {
                                let iv = _mm256_loadu_ps(ic.as_ptr());
                                let kv = _mm256_loadu_ps(kc.as_ptr());
                                *a = _mm256_fmadd_ps(iv, kv, *a);
                            }
                        }
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    let mut lanes = [0f32; LANES];
                    // SAFETY: `lanes` holds exactly 8 f32.
                    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *a) };
                    self.responses[cell * ORIENTATIONS + j] = lanes.iter().sum();
                }
            }
        }
    }

    /// Portable path.
    fn evaluate_portable(&mut self) {
        let n = 2 * self.radius + 1;
        let (rl, pc) = (self.row_len, self.pad_cols);
        for gy in 0..self.grid {
            let y = self.sample_px(gy);
            for gx in 0..self.grid {
                let x = self.sample_px(gx);
                let cell = gy * self.grid + gx;
                for j in 0..ORIENTATIONS {
                    let mut a = [0f32; LANES];
                    for dy in 0..n {
                        let img = &self.padded[(y + dy) * pc + x..(y + dy) * pc + x + rl];
                        let k = &self.kernels[(j * n + dy) * rl..(j * n + dy + 1) * rl];
                        for (ic, kc) in img.chunks_exact(LANES).zip(k.chunks_exact(LANES)) {
                            for l in 0..LANES {
                                a[l] += ic[l] * kc[l];
                            }
                        }
                    }
                    self.responses[cell * ORIENTATIONS + j] = a.iter().sum();
                }
            }
        }
    }

    fn mark_core_valid(&mut self, core_radius: usize) {
        let c = core_radius;
        for gy in 0..self.grid {
            let y = self.sample_px(gy);
            for gx in 0..self.grid {
                let x = self.sample_px(gx);
                self.core_valid[gy * self.grid + gx] = y >= c
                    && x >= c
                    && y + c < self.side
                    && x + c < self.side
                    && self.invalid_in(y - c, y + c + 1, x - c, x + c + 1) == 0;
            }
        }
    }

    /// Reference: full correlation of orientation `j` at every ROI pixel (test oracle).
    #[cfg(test)]
    pub(crate) fn full_response(&self, j: usize) -> Vec<f32> {
        let n = 2 * self.radius + 1;
        let k = self.kernel(j);
        let mut out = vec![0f32; self.side * self.side];
        for y in 0..self.side {
            for x in 0..self.side {
                let mut s = 0f64;
                for dy in 0..n {
                    for dx in 0..n {
                        s += k[dy * n + dx] as f64
                            * self.padded[(y + dy) * self.pad_cols + x + dx] as f64;
                    }
                }
                out[y * self.side + x] = s as f32;
            }
        }
        out
    }
}

/// Mirror index `i` into `0..n` without repeating the edge (`−1 → 1`, `n → n−2`).
#[inline]
pub(crate) fn reflect(mut i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    loop {
        if i < 0 {
            i = -i;
        } else if i >= n {
            i = 2 * n - 2 - i;
        } else {
            return i as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kernels_are_zero_dc_normalised_and_positive_centre() {
        for p in [
            GaborParams::CREASE,
            GaborParams::CREASE_PUBLISHED,
            GaborParams::VEIN,
        ] {
            let bank = SampledBank::new(&p, 128, 32);
            let n = 2 * p.radius_px + 1;
            for j in 0..ORIENTATIONS {
                let k = bank.kernel(j);
                let sum: f64 = k.iter().map(|&v| v as f64).sum();
                let l1: f64 = k.iter().map(|&v| v.abs() as f64).sum();
                assert!(sum.abs() < 1e-5, "orientation {j}: DC {sum}");
                assert!((l1 - 2.0).abs() < 1e-4, "orientation {j}: L1 {l1}");
                assert!(k[(n / 2) * n + n / 2] > 0.0);
            }
        }
    }

    #[test]
    fn kernel_is_point_symmetric_and_rotates() {
        // Point symmetry makes correlation equal to convolution.
        let bank = SampledBank::new(&GaborParams::CREASE_PUBLISHED, 128, 32);
        let n = 25;
        for j in 0..ORIENTATIONS {
            let k = bank.kernel(j);
            for i in 0..n * n {
                assert!((k[i] - k[n * n - 1 - i]).abs() < 1e-6);
            }
        }
        // φ = 0 (horizontal line) is the transpose of φ = π/2 (vertical line).
        let (k0, k3) = (bank.kernel(0), bank.kernel(3));
        for y in 0..n {
            for x in 0..n {
                assert!((k0[y * n + x] - k3[x * n + y]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn reflect_mirrors_without_repeating_edges() {
        assert_eq!(reflect(-1, 5), 1);
        assert_eq!(reflect(-4, 5), 4);
        assert_eq!(reflect(5, 5), 3);
        assert_eq!(reflect(9, 5), 1);
        assert_eq!(reflect(-13, 5), 3);
        assert_eq!(reflect(2, 1), 0);
    }

    /// The portable path (used where AVX2/FMA is missing) agrees with the dispatched one.
    #[test]
    fn portable_path_matches_dispatched() {
        let roi = RoiImage::from_fn(128, |r, c| {
            (((r * 7 + c * 13) % 29) as f32 / 29.0, (r + c) % 11 != 0)
        })
        .unwrap();
        let mut a = SampledBank::new(&GaborParams::CREASE, 128, 32);
        a.load(&roi);
        a.evaluate(6);
        let mut b = a.clone();
        b.responses.fill(f32::NAN);
        b.evaluate_portable();
        for (x, y) in a.responses.iter().zip(&b.responses) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// The sampled fast path equals a full convolution followed by subsampling.
        #[test]
        fn sampled_equals_full_then_subsample(
            seed in any::<u64>(),
            masked_rows in 0usize..20,
            radius in 2usize..10,
        ) {
            let side = 48;
            let grid = 12;
            let mut s = seed | 1;
            let roi = RoiImage::from_fn(side, |r, _c| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                ((s % 1000) as f32 / 1000.0, r >= masked_rows)
            }).unwrap();
            let p = GaborParams { omega_rad_per_px: 0.6, kappa: 2.0, radius_px: radius };
            let mut bank = SampledBank::new(&p, side, grid);
            bank.load(&roi);
            bank.evaluate(3);
            for j in 0..ORIENTATIONS {
                let full = bank.full_response(j);
                for gy in 0..grid {
                    for gx in 0..grid {
                        let want = full[bank.sample_px(gy) * side + bank.sample_px(gx)];
                        let got = bank.responses[(gy * grid + gx) * ORIENTATIONS + j];
                        prop_assert!((want - got).abs() < 1e-5, "{} vs {}", want, got);
                    }
                }
            }
        }
    }
}
