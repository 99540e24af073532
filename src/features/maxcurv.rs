//! Maximum curvature vein extraction (Miura, Nagasaka, Miyatake, "Extraction of finger-vein
//! patterns using maximum curvature points in image profiles", IEICE 2007 / MVA 2005), following
//! the conventions of the peer implementation `bob.bio.vein` (`MaximumCurvature`), step by step.
//!
//! The steps are public so that each can be checked against the peer's reference arrays, as
//! bob's own tests do:
//!
//! 1. [`kappa`]: curvature of the intensity profile in 4 directions,
//!    `κ_d = f_dd / (1 + f_d²)^{3/2} · mask`, from derivative-of-Gaussian convolutions
//!    (σ px, kernel radius `⌈4σ⌉`, true convolution with replicated borders; computed
//!    separably, which is exact for these separable kernels). Plane order: 0 horizontal
//!    (`fxx`, `fx`), 1 vertical (`fyy`, `fy`), 2 "\\" diagonal (row+1, col+1), 3 "/"
//!    anti-diagonal (row−1, col+1).
//! 2. [`vein_centres`] (`Vt`): along every line of each direction, each maximal run of
//!    `κ_d > 0` of length `W_r` adds `κ_d[p] · W_r` at its (first) maximum `p`.
//! 3. [`connect_centres`] (`G`): `C_d[i] = min(max(v[i+1], v[i+2]), max(v[i−1], v[i−2]))` along
//!    each line (where both neighbours exist, bob's border convention), `G = max_d C_d`.
//! 4. [`binarise`]: `G > median(G[G > 0])`.
//!
//! Images are `f64` in `[0, 1]` (8-bit / 255), row-major, `[row, col]`, row 0 on top. Masks are
//! `true` inside the finger / palm.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

use super::FeatureError;

/// Smallest accepted σ (px).
pub const MIN_SIGMA: f64 = 0.5;
/// Largest accepted σ (px).
pub const MAX_SIGMA: f64 = 16.0;

/// Reusable buffers for the maximum curvature steps on `h × w` images.
#[derive(Debug, Clone, Default)]
pub(crate) struct MaxCurvScratch {
    h: usize,
    w: usize,
    radius: usize,
    sigma: f64,
    /// 1-D kernels, already flipped for true convolution, length `2r+1`:
    /// `c·a`, `a1`, `a2`, `c·a1` (see [`Self::set_sigma`]).
    k_ca: Vec<f64>,
    k_a1: Vec<f64>,
    k_a2: Vec<f64>,
    k_ca1: Vec<f64>,
    pad: Vec<f64>,
    r_ca: Vec<f64>,
    r_a1: Vec<f64>,
    r_a2: Vec<f64>,
    fx: Vec<f64>,
    fy: Vec<f64>,
    fxx: Vec<f64>,
    fyy: Vec<f64>,
    fxy: Vec<f64>,
    /// `κ`, 4 planes of `h·w`.
    pub(crate) kappa: Vec<f64>,
    /// `Vt`, `h·w`.
    pub(crate) vt: Vec<f64>,
    /// `G`, `h·w`.
    pub(crate) g: Vec<f64>,
    /// Binarised vein map, `h·w`.
    pub(crate) veins: Vec<bool>,
    select: Vec<f64>,
}

impl MaxCurvScratch {
    /// Buffers for `h × w` images and derivative kernels of scale `sigma` (must be in
    /// [`MIN_SIGMA`]`..=`[`MAX_SIGMA`]; callers validate).
    pub(crate) fn new(h: usize, w: usize, sigma: f64) -> Self {
        let mut s = Self::default();
        s.resize(h, w);
        s.set_sigma(sigma);
        s
    }

    fn resize(&mut self, h: usize, w: usize) {
        if (self.h, self.w) == (h, w) {
            return;
        }
        self.h = h;
        self.w = w;
        let n = h * w;
        for v in [
            &mut self.r_ca,
            &mut self.r_a1,
            &mut self.r_a2,
            &mut self.fx,
            &mut self.fy,
            &mut self.fxx,
            &mut self.fyy,
            &mut self.fxy,
            &mut self.vt,
            &mut self.g,
        ] {
            v.resize(n, 0.0);
        }
        self.kappa.resize(4 * n, 0.0);
        self.veins.resize(n, false);
        self.select = Vec::with_capacity(n);
    }

    /// Derivative-of-Gaussian kernels: `a(x) = exp(−x²/2σ²)`, `a1 = −x/σ²·a`,
    /// `a2 = (x²−σ²)/σ⁴·a`, `c = 1/(2πσ²)`; the 2-D kernels of bob are
    /// `hx = c·a(y)a1(x)`, `hxx = c·a(y)a2(x)`, `hy = c·a1(y)a(x)`, `hyy = c·a2(y)a(x)`,
    /// `hxy = c·a1(y)a1(x)`.
    fn set_sigma(&mut self, sigma: f64) {
        if self.sigma == sigma && !self.k_ca.is_empty() {
            return;
        }
        self.sigma = sigma;
        let r = (4.0 * sigma).ceil() as usize;
        self.radius = r;
        let s2 = sigma * sigma;
        let c = 1.0 / (2.0 * std::f64::consts::PI * s2);
        // Index t of the flipped kernel holds k[r − t], i.e. offset x = r − t.
        let make = |f: &dyn Fn(f64) -> f64| -> Vec<f64> {
            (0..=2 * r).map(|t| f(r as f64 - t as f64)).collect()
        };
        let a = |x: f64| (-x * x / (2.0 * s2)).exp();
        self.k_ca = make(&|x| c * a(x));
        self.k_a1 = make(&|x| -x / s2 * a(x));
        self.k_a2 = make(&|x| (x * x - s2) / (s2 * s2) * a(x));
        self.k_ca1 = make(&|x| c * (-x / s2) * a(x));
        self.pad = vec![0.0; self.w.max(self.h) + 2 * r];
    }

    /// Step 1: fills [`Self::kappa`]. Uses AVX2 + FMA when the CPU has them (run-time
    /// detection); the result then differs from the portable path only by float rounding.
    pub(crate) fn compute_kappa(&mut self, img: &[f64], mask: &[bool], h: usize, w: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { self.compute_kappa_avx2_fma(img, mask, h, w) };
            return;
        }
        self.compute_kappa_generic::<false>(img, mask, h, w);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn compute_kappa_avx2_fma(&mut self, img: &[f64], mask: &[bool], h: usize, w: usize) {
        self.compute_kappa_generic::<true>(img, mask, h, w);
    }

    #[inline(always)]
    fn compute_kappa_generic<const FMA: bool>(
        &mut self,
        img: &[f64],
        mask: &[bool],
        h: usize,
        w: usize,
    ) {
        self.resize(h, w);
        let r = self.radius;
        if self.pad.len() < w.max(h) + 2 * r {
            self.pad.resize(w.max(h) + 2 * r, 0.0);
        }
        // Row passes (along x), replicated borders.
        for y in 0..h {
            let row = &img[y * w..(y + 1) * w];
            for (t, p) in self.pad[..w + 2 * r].iter_mut().enumerate() {
                *p = row[(t as isize - r as isize).clamp(0, w as isize - 1) as usize];
            }
            for (k, out) in [
                (&self.k_ca, &mut self.r_ca),
                (&self.k_a1, &mut self.r_a1),
                (&self.k_a2, &mut self.r_a2),
            ] {
                let o = &mut out[y * w..(y + 1) * w];
                let pad = &self.pad;
                sym_conv::<FMA>(o, k, r, &pad[r..r + w], |t| {
                    (&pad[t..t + w], &pad[2 * r - t..2 * r - t + w])
                });
            }
        }
        // Column passes (along y), replicated borders.
        for (src, k, out) in [
            (&self.r_a1, &self.k_ca, &mut self.fx),
            (&self.r_a2, &self.k_ca, &mut self.fxx),
            (&self.r_ca, &self.k_a1, &mut self.fy),
            (&self.r_ca, &self.k_a2, &mut self.fyy),
            (&self.r_a1, &self.k_ca1, &mut self.fxy),
        ] {
            let row = |dy: isize, y: usize| {
                let sy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                &src[sy * w..(sy + 1) * w]
            };
            for y in 0..h {
                let o = &mut out[y * w..(y + 1) * w];
                sym_conv::<FMA>(o, k, r, row(0, y), |t| {
                    let d = t as isize - r as isize;
                    (row(d, y), row(-d, y))
                });
            }
        }
        let n = h * w;
        let (k0, rest) = self.kappa.split_at_mut(n);
        let (k1, rest) = rest.split_at_mut(n);
        let (k2, k3) = rest.split_at_mut(n);
        let h2 = std::f64::consts::FRAC_1_SQRT_2;
        for i in 0..n {
            let m = if mask[i] { 1.0 } else { 0.0 };
            let (fx, fy, fxx, fyy, fxy) = (
                self.fx[i],
                self.fy[i],
                self.fxx[i],
                self.fyy[i],
                self.fxy[i],
            );
            let f1 = (fx + fy) * h2;
            let f11 = 0.5 * fxx + fxy + 0.5 * fyy;
            let f2 = (fx - fy) * h2;
            let f22 = 0.5 * fxx - fxy + 0.5 * fyy;
            k0[i] = fxx / pow15(1.0 + fx * fx) * m;
            k1[i] = fyy / pow15(1.0 + fy * fy) * m;
            k2[i] = f11 / pow15(1.0 + f1 * f1) * m;
            k3[i] = f22 / pow15(1.0 + f2 * f2) * m;
        }
    }

    /// Step 2: fills [`Self::vt`] from [`Self::kappa`].
    pub(crate) fn compute_vt(&mut self) {
        let (h, w) = (self.h, self.w);
        let n = h * w;
        self.vt.fill(0.0);
        for_each_line(h, w, |d, start, step, len| {
            scan_runs(
                &self.kappa[d * n..(d + 1) * n],
                &mut self.vt,
                start,
                step,
                len,
            );
        });
    }

    /// Step 3: fills [`Self::g`] from [`Self::vt`].
    pub(crate) fn compute_g(&mut self) {
        let (h, w) = (self.h, self.w);
        let vt = &self.vt;
        self.g.fill(0.0);
        // (row step, col step): horizontal, vertical, "\\", "/".
        for (dy, dx) in [(0isize, 1isize), (1, 0), (1, 1), (-1, 1)] {
            let (ym, xm) = (2 * dy.unsigned_abs(), 2 * dx.unsigned_abs());
            if h < 2 * ym + 1 || w < 2 * xm + 1 {
                continue;
            }
            let s = dy * w as isize + dx;
            for y in ym..h - ym {
                let (x0, x1) = (xm, w - xm);
                let base = (y * w) as isize;
                let at = |k: isize| {
                    let start = (base + x0 as isize + k * s) as usize;
                    &vt[start..start + (x1 - x0)]
                };
                let (p1, p2, m1, m2) = (at(1), at(2), at(-1), at(-2));
                let g = &mut self.g[y * w + x0..y * w + x1];
                for i in 0..g.len() {
                    let c = p1[i].max(p2[i]).min(m1[i].max(m2[i]));
                    g[i] = g[i].max(c);
                }
            }
        }
    }

    /// Step 4: fills [`Self::veins`] from [`Self::g`]; returns the threshold (median of the
    /// positive values; `None` when no value is positive, and then no pixel is a vein).
    pub(crate) fn compute_binary(&mut self) -> Option<f64> {
        self.select.clear();
        self.select
            .extend(self.g.iter().copied().filter(|&v| v > 0.0));
        let n = self.select.len();
        let m = if n == 0 {
            None
        } else {
            let (lower, &mut upper, _) = self.select.select_nth_unstable_by(n / 2, f64::total_cmp);
            Some(if n % 2 == 1 {
                upper
            } else {
                let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (below + upper) / 2.0
            })
        };
        for (b, &g) in self.veins.iter_mut().zip(&self.g) {
            *b = m.is_some_and(|m| g > m);
        }
        m
    }
}

/// `o = k[r]·centre + Σ_{t<r} k[t]·(a_t ± b_t)` where `(a_t, b_t) = pair(t)`: a 1-D convolution
/// with an even (`+`, `k[t] = k[2r−t]`) or odd (`−`, `k[t] = −k[2r−t]`, `k[r] = 0`) kernel,
/// pairing the taps to halve the multiplies. Works on register-sized chunks of the output so the
/// accumulators stay in registers.
#[inline(always)]
fn sym_conv<'a, const FMA: bool>(
    o: &mut [f64],
    k: &[f64],
    r: usize,
    centre: &[f64],
    pair: impl Fn(usize) -> (&'a [f64], &'a [f64]),
) {
    const CH: usize = 16;
    let odd = k[r] == 0.0;
    let w = o.len();
    let full = w / CH * CH;
    let madd = |k: f64, v: f64, acc: f64| if FMA { k.mul_add(v, acc) } else { acc + k * v };
    for x0 in (0..full).step_by(CH) {
        let mut acc = [0f64; CH];
        let c: &[f64; CH] = centre[x0..x0 + CH].try_into().expect("CH values");
        for i in 0..CH {
            acc[i] = k[r] * c[i];
        }
        for (t, &kt) in k[..r].iter().enumerate() {
            let (a, b) = pair(t);
            let a: &[f64; CH] = a[x0..x0 + CH].try_into().expect("CH values");
            let b: &[f64; CH] = b[x0..x0 + CH].try_into().expect("CH values");
            if odd {
                for i in 0..CH {
                    acc[i] = madd(kt, a[i] - b[i], acc[i]);
                }
            } else {
                for i in 0..CH {
                    acc[i] = madd(kt, a[i] + b[i], acc[i]);
                }
            }
        }
        o[x0..x0 + CH].copy_from_slice(&acc);
    }
    for x in full..w {
        let mut acc = k[r] * centre[x];
        for (t, &kt) in k[..r].iter().enumerate() {
            let (a, b) = pair(t);
            acc = madd(kt, if odd { a[x] - b[x] } else { a[x] + b[x] }, acc);
        }
        o[x] = acc;
    }
}

/// `t^{3/2}` as `t·√t` (several times faster than `powf`, within an ulp or two).
#[inline(always)]
fn pow15(t: f64) -> f64 {
    t * t.sqrt()
}

/// Calls `f(direction, start index, step, length)` for every line of every direction, in bob's
/// scan order: rows left→right, columns top→bottom, "\\" diagonals with row increasing, "/"
/// anti-diagonals with col increasing (row decreasing).
fn for_each_line(h: usize, w: usize, mut f: impl FnMut(usize, usize, isize, usize)) {
    for y in 0..h {
        f(0, y * w, 1, w);
    }
    for x in 0..w {
        f(1, x, w as isize, h);
    }
    for k in -(h as isize - 1)..=(w as isize - 1) {
        let (r0, c0) = ((-k).max(0) as usize, k.max(0) as usize);
        f(2, r0 * w + c0, w as isize + 1, (h - r0).min(w - c0));
    }
    for s in 0..h + w - 1 {
        let c0 = s.saturating_sub(h - 1);
        let r0 = s - c0;
        f(3, r0 * w + c0, 1 - w as isize, (r0 + 1).min(w - c0));
    }
}

/// Along one line of `kappa`, adds `κ[p]·W_r` to `vt[p]` for every positive run.
fn scan_runs(kappa: &[f64], vt: &mut [f64], start: usize, step: isize, len: usize) {
    let at = |i: usize| (start as isize + i as isize * step) as usize;
    let mut i = 0;
    while i < len {
        let v = kappa[at(i)];
        if v > 0.0 {
            let first = i;
            let (mut best, mut best_v) = (i, v);
            i += 1;
            while i < len {
                let v = kappa[at(i)];
                if v <= 0.0 {
                    break;
                }
                if v > best_v {
                    best = i;
                    best_v = v;
                }
                i += 1;
            }
            vt[at(best)] += best_v * (i - first) as f64;
        } else {
            i += 1;
        }
    }
}

fn check(
    image: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
    sigma: f64,
) -> Result<(), FeatureError> {
    let (rows, cols) = image.dim();
    if mask.dim() != (rows, cols) {
        return Err(FeatureError::MaskShape {
            mask_rows: mask.nrows(),
            mask_cols: mask.ncols(),
            rows,
            cols,
        });
    }
    check_size(rows, cols)?;
    if !(MIN_SIGMA..=MAX_SIGMA).contains(&sigma) {
        return Err(FeatureError::SigmaOutOfRange {
            sigma,
            min: MIN_SIGMA,
            max: MAX_SIGMA,
        });
    }
    Ok(())
}

fn check_size(rows: usize, cols: usize) -> Result<(), FeatureError> {
    if rows == 0 || cols == 0 {
        return Err(FeatureError::EmptyImage { rows, cols });
    }
    Ok(())
}

/// Step 1: the four curvature planes `κ_d`, shape `(4, H, W)`.
///
/// Fails when the shapes differ, the image is empty or `sigma` is outside
/// [`MIN_SIGMA`]`..=`[`MAX_SIGMA`].
pub fn kappa(
    image: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
    sigma: f64,
) -> Result<Array3<f64>, FeatureError> {
    check(image, mask, sigma)?;
    let (h, w) = image.dim();
    let img: Vec<f64> = image.iter().copied().collect();
    let m: Vec<bool> = mask.iter().copied().collect();
    let mut s = MaxCurvScratch::new(h, w, sigma);
    s.compute_kappa(&img, &m, h, w);
    Ok(Array3::from_shape_vec((4, h, w), s.kappa).expect("4·h·w values"))
}

impl MaxCurvScratch {
    /// A fresh scratch sized for `h × w`, with one step run on it (the public step functions).
    fn run_step(h: usize, w: usize, step: impl FnOnce(&mut MaxCurvScratch)) -> MaxCurvScratch {
        let mut s = MaxCurvScratch::default();
        s.resize(h, w);
        step(&mut s);
        s
    }
}

/// Step 2: vein-centre scores `Vt` from the curvature planes (shape `(4, H, W)`).
pub fn vein_centres(kappa: ArrayView3<'_, f64>) -> Result<Array2<f64>, FeatureError> {
    let (d, h, w) = kappa.dim();
    if d != 4 {
        return Err(FeatureError::KappaPlanes { found: d });
    }
    check_size(h, w)?;
    let s = MaxCurvScratch::run_step(h, w, |s| {
        s.kappa.clear();
        s.kappa.extend(kappa.iter().copied());
        s.compute_vt();
    });
    Ok(Array2::from_shape_vec((h, w), s.vt).expect("h·w values"))
}

/// Step 3: connected centres `G = max_d C_d` (bob's border convention: each direction is
/// evaluated wherever both 2-px neighbours exist, elsewhere it contributes 0).
pub fn connect_centres(vt: ArrayView2<'_, f64>) -> Result<Array2<f64>, FeatureError> {
    let (h, w) = vt.dim();
    check_size(h, w)?;
    let s = MaxCurvScratch::run_step(h, w, |s| {
        s.vt.clear();
        s.vt.extend(vt.iter().copied());
        s.compute_g();
    });
    Ok(Array2::from_shape_vec((h, w), s.g).expect("h·w values"))
}

/// Step 4: `G > median(G[G > 0])` (mean of the two middle values for an even count); all
/// `false` when no value is positive.
pub fn binarise(g: ArrayView2<'_, f64>) -> Result<Array2<bool>, FeatureError> {
    let (h, w) = g.dim();
    check_size(h, w)?;
    let s = MaxCurvScratch::run_step(h, w, |s| {
        s.g.clear();
        s.g.extend(g.iter().copied());
        s.compute_binary();
    });
    Ok(Array2::from_shape_vec((h, w), s.veins).expect("h·w values"))
}

/// All four steps: the binarised vein map of `image` (values in `[0, 1]`) within `mask`.
pub fn max_curvature(
    image: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
    sigma: f64,
) -> Result<Array2<bool>, FeatureError> {
    check(image, mask, sigma)?;
    let (h, w) = image.dim();
    let img: Vec<f64> = image.iter().copied().collect();
    let m: Vec<bool> = mask.iter().copied().collect();
    let mut s = MaxCurvScratch::new(h, w, sigma);
    s.compute_kappa(&img, &m, h, w);
    s.compute_vt();
    s.compute_g();
    s.compute_binary();
    Ok(Array2::from_shape_vec((h, w), s.veins).expect("h·w values"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Naive 2-D true convolution with replicated borders (test oracle for the separable path).
    fn conv2_replicate(img: &Array2<f64>, k: &Array2<f64>) -> Array2<f64> {
        let (h, w) = img.dim();
        let r = (k.nrows() / 2) as isize;
        Array2::from_shape_fn((h, w), |(y, x)| {
            let mut s = 0.0;
            for i in -r..=r {
                for j in -r..=r {
                    let sy = (y as isize - i).clamp(0, h as isize - 1) as usize;
                    let sx = (x as isize - j).clamp(0, w as isize - 1) as usize;
                    s += k[[(i + r) as usize, (j + r) as usize]] * img[[sy, sx]];
                }
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        /// The separable derivative convolutions equal bob's 2-D kernels applied naively.
        #[test]
        fn separable_equals_2d(seed in any::<u64>(), h in 5usize..24, w in 5usize..24, sigma in 0.7f64..2.5) {
            let mut s = seed | 1;
            let img = Array2::from_shape_fn((h, w), |_| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                (s % 1000) as f64 / 1000.0
            });
            let mut sc = MaxCurvScratch::new(h, w, sigma);
            let flat: Vec<f64> = img.iter().copied().collect();
            sc.compute_kappa(&flat, &vec![true; h * w], h, w);
            let r = (4.0 * sigma).ceil() as isize;
            let n = (2 * r + 1) as usize;
            let s2 = sigma * sigma;
            let g = Array2::from_shape_fn((n, n), |(i, j)| {
                let (y, x) = (i as f64 - r as f64, j as f64 - r as f64);
                (-(x * x + y * y) / (2.0 * s2)).exp() / (2.0 * std::f64::consts::PI * s2)
            });
            let xs = Array2::from_shape_fn((n, n), |(_, j)| j as f64 - r as f64);
            let ys = Array2::from_shape_fn((n, n), |(i, _)| i as f64 - r as f64);
            let hx = &(-&xs / s2) * &g;
            let hxx = &((&xs * &xs - s2) / (s2 * s2)) * &g;
            let hxy = &(&xs * &ys / (s2 * s2)) * &g;
            let hyy = &((&ys * &ys - s2) / (s2 * s2)) * &g;
            for (k, got) in [(&hx, &sc.fx), (&hxx, &sc.fxx), (&hxy, &sc.fxy), (&hx.t().to_owned(), &sc.fy), (&hyy, &sc.fyy)] {
                let want = conv2_replicate(&img, k);
                for (a, b) in want.iter().zip(got.iter()) {
                    prop_assert!((a - b).abs() < 1e-12, "{} vs {}", a, b);
                }
            }
        }
    }

    /// The portable path (used where AVX2/FMA is missing) agrees with the dispatched one.
    #[test]
    fn portable_kappa_matches_dispatched() {
        let (h, w) = (37, 53);
        let img: Vec<f64> = (0..h * w)
            .map(|i| ((i * 7919) % 101) as f64 / 101.0)
            .collect();
        let mask = vec![true; h * w];
        let mut a = MaxCurvScratch::new(h, w, 2.5);
        a.compute_kappa(&img, &mask, h, w);
        let mut b = MaxCurvScratch::new(h, w, 2.5);
        b.compute_kappa_generic::<false>(&img, &mask, h, w);
        for (x, y) in a.kappa.iter().zip(&b.kappa) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
        }
    }

    #[test]
    fn runs_add_max_times_width() {
        // One horizontal line: kappa = [0, 1, 3, 2, 0, 5], Wr = 3 at index 2, Wr = 1 at 5.
        let k = [0.0, 1.0, 3.0, 2.0, 0.0, 5.0];
        let mut vt = [0.0; 6];
        scan_runs(&k, &mut vt, 0, 1, 6);
        assert_eq!(vt, [0.0, 0.0, 9.0, 0.0, 0.0, 5.0]);
        // Ties: the first maximum wins.
        let mut vt = [0.0; 3];
        scan_runs(&[2.0, 2.0, 1.0], &mut vt, 0, 1, 3);
        assert_eq!(vt, [6.0, 0.0, 0.0]);
    }

    #[test]
    fn lines_cover_every_pixel_once_per_direction() {
        let (h, w) = (5, 7);
        let mut count = [[0u32; 35]; 4];
        for_each_line(h, w, |d, start, step, len| {
            for i in 0..len {
                count[d][(start as isize + i as isize * step) as usize] += 1;
            }
        });
        assert!(count.iter().all(|c| c.iter().all(|&v| v == 1)));
    }

    #[test]
    fn dark_vertical_valley_is_found() {
        let (h, w) = (40, 40);
        // A strong valley at x = 20 and a weak one at x = 30: the median of the positive G lies
        // between them, so only the strong one is kept.
        let img = Array2::from_shape_fn((h, w), |(_, x)| {
            let (d, e) = (x as f64 - 20.0, x as f64 - 30.0);
            0.8 - 0.4 * (-d * d / 8.0).exp() - 0.05 * (-e * e / 8.0).exp()
        });
        let mask = Array2::from_elem((h, w), true);
        let veins = max_curvature(img.view(), mask.view(), 2.0).unwrap();
        for y in 5..35 {
            assert!(veins[[y, 20]], "row {y}");
            assert!(!veins[[y, 30]] && !veins[[y, 5]]);
        }
        // Flat image: no positive G, no veins, no panic.
        let flat = Array2::from_elem((h, w), 0.5);
        assert!(
            !max_curvature(flat.view(), mask.view(), 2.0)
                .unwrap()
                .iter()
                .any(|&v| v)
        );
        // Bad arguments are typed errors.
        let e = max_curvature(flat.view(), mask.view(), 0.1).unwrap_err();
        assert!(matches!(e, FeatureError::SigmaOutOfRange { .. }), "{e}");
        let small = Array2::from_elem((3, 4), true);
        let e = kappa(flat.view(), small.view(), 2.0).unwrap_err();
        assert!(matches!(e, FeatureError::MaskShape { mask_rows: 3, .. }));
        let empty = Array2::<f64>::zeros((0, 5));
        assert!(matches!(
            connect_centres(empty.view()),
            Err(FeatureError::EmptyImage { rows: 0, cols: 5 })
        ));
        let k3 = Array3::<f64>::zeros((3, 4, 4));
        assert_eq!(
            vein_centres(k3.view()).unwrap_err(),
            FeatureError::KappaPlanes { found: 3 }
        );
    }
}
