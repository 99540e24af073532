//! Identities: hand geometry, principal lines, creases, skin texture and veins, rendered once
//! into hand-space textures.

use super::geom::{Bezier, V2, dir_of, v2};
use super::rng::Rng;
use image::GrayImage;

/// Which hand a palm belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum HandSide {
    /// A left hand (seen palm-up with fingers up, the thumb is on the right of the frame).
    Left,
    /// A right hand (seen palm-up with fingers up, the thumb is on the left of the frame).
    Right,
}

// Stream domains: one per independent part of the model.
const D_SHAPE: u64 = 1;
const D_PRINCIPAL: u64 = 2;
const D_CREASE: u64 = 3;
const D_MICRO: u64 = 4;
const D_SKIN: u64 = 5;
const D_VEIN: u64 = 6;

/// Texture resolution: texels per hand unit (one hand unit = the palm width).
pub(crate) const TEX_PPU: f32 = 256.0;
/// Hand-space texture domain (canonical right hand, y down, fingers towards −y).
pub(crate) const TEX_X0: f32 = -1.25;
pub(crate) const TEX_Y0: f32 = -1.6;
const TEX_X1: f32 = 1.0;
const TEX_Y1: f32 = 2.0;

/// One digit: a tapered capsule pivoting about `pivot` (inside the palm).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Digit {
    pub(crate) pivot: V2,
    /// Rest angle (radians, 0 = up, positive towards the little finger).
    pub(crate) angle: f32,
    /// Pivot-to-tip length.
    pub(crate) length: f32,
    pub(crate) r_base: f32,
    pub(crate) r_tip: f32,
}

/// Hand silhouette in hand units, canonical right hand seen palm-up (thumb at −x, fingers at −y).
#[derive(Debug, Clone)]
pub(crate) struct HandShape {
    pub(crate) palm: Vec<V2>,
    pub(crate) palm_round: f32,
    pub(crate) arm: [V2; 4],
    /// Index, middle, ring, little.
    pub(crate) fingers: [Digit; 4],
    pub(crate) thumb: Digit,
    /// Half the palm height (wrist crease to finger bases).
    pub(crate) half_h: f32,
}

/// A synthetic person's hand: geometry, crease pattern and vein network, fixed by a seed.
///
/// Construction renders the hand-space textures once (≈ 20–40 ms in release builds); captures
/// then only warp and shade them. All geometry lives in *hand coordinates*: a canonical right
/// hand seen palm-up, origin at the palm centre, x towards the little finger, y towards the
/// wrist, one unit = the palm width. Left hands are mirror images of this model.
#[derive(Debug, Clone)]
pub struct Identity {
    seed: u64,
    side: HandSide,
    skin_tone: f32,
    pub(crate) shape: HandShape,
    pub(crate) principal: Vec<Bezier>,
    pub(crate) tex: HandTexture,
    /// Signed distance to the palm+arm silhouette (rigid in hand space), tabulated.
    pub(crate) body: BodySdf,
}

/// Tabulated signed distance of the palm and arm (without fingers), `BODY_PPU` per unit over
/// the texture domain; exact evaluation outside it.
#[derive(Debug, Clone)]
pub(crate) struct BodySdf {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

const BODY_PPU: f32 = 128.0;
/// Smooth-union width between palm and arm (hand units).
pub(crate) const K_WRIST: f32 = 0.12;

impl HandShape {
    /// Exact signed distance to palm ∪ arm (smooth union).
    pub(crate) fn body_exact(&self, p: V2) -> f32 {
        use super::geom::{sd_polygon, smin};
        let hh = self.half_h;
        // Far from the wrist one of the two polygons cannot affect the smooth union.
        if p.y < hh - 0.5 {
            sd_polygon(&self.palm, p) - self.palm_round
        } else if p.y > hh + 0.6 {
            sd_polygon(&self.arm, p)
        } else {
            smin(
                sd_polygon(&self.palm, p) - self.palm_round,
                sd_polygon(&self.arm, p),
                K_WRIST,
            )
        }
    }
}

impl BodySdf {
    fn new(shape: &HandShape) -> BodySdf {
        let w = ((TEX_X1 - TEX_X0) * BODY_PPU) as usize + 1;
        let h = ((TEX_Y1 - TEX_Y0) * BODY_PPU) as usize + 1;
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                data.push(shape.body_exact(v2(
                    TEX_X0 + x as f32 / BODY_PPU,
                    TEX_Y0 + y as f32 / BODY_PPU,
                )));
            }
        }
        BodySdf { w, h, data }
    }

    /// Bilinear lookup (grid nodes at integer multiples of 1/BODY_PPU from the domain origin).
    #[inline]
    pub(crate) fn sample(&self, shape: &HandShape, p: V2) -> f32 {
        let u = (p.x - TEX_X0) * BODY_PPU;
        let v = (p.y - TEX_Y0) * BODY_PPU;
        if !(u >= 0.0 && v >= 0.0 && u < (self.w - 1) as f32 && v < (self.h - 1) as f32) {
            return shape.body_exact(p);
        }
        let (x0, y0) = (u as usize, v as usize);
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let i = y0 * self.w + x0;
        let q = &self.data[i..i + self.w + 2];
        let top = q[0] + (q[1] - q[0]) * fx;
        let bot = q[self.w] + (q[self.w + 1] - q[self.w]) * fx;
        top + (bot - top) * fy
    }
}

/// Hand-space texture: per texel `[crease, vein, redness, fine texture]`, 8 bits each.
#[derive(Debug, Clone)]
pub(crate) struct HandTexture {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) data: Vec<[u8; 4]>,
}

/// Texel value outside the textured domain.
pub(crate) const NEUTRAL: [f32; 4] = [0.0, 0.0, 40.0, 128.0];

impl HandTexture {
    /// Bilinear sample at hand point `p`.
    #[inline]
    pub(crate) fn sample(&self, p: V2) -> [f32; 4] {
        let u = (p.x - TEX_X0) * TEX_PPU - 0.5;
        let v = (p.y - TEX_Y0) * TEX_PPU - 0.5;
        if !(u >= 0.0 && v >= 0.0 && u < (self.w - 1) as f32 && v < (self.h - 1) as f32) {
            return NEUTRAL;
        }
        let (x0, y0) = (u as usize, v as usize);
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let i = y0 * self.w + x0;
        // One bounds check for the four texels.
        let q = &self.data[i..i + self.w + 2];
        let (a, b, c, d) = (q[0], q[1], q[self.w], q[self.w + 1]);
        let mut out = [0.0; 4];
        for k in 0..4 {
            let top = a[k] as f32 + (b[k] as f32 - a[k] as f32) * fx;
            let bot = c[k] as f32 + (d[k] as f32 - c[k] as f32) * fx;
            out[k] = top + (bot - top) * fy;
        }
        out
    }
}

/// A float raster over a rectangle of hand space.
pub(crate) struct Layer {
    pub(crate) w: usize,
    pub(crate) h: usize,
    x0: f32,
    y0: f32,
    ppu: f32,
    pub(crate) data: Vec<f32>,
}

impl Layer {
    pub(crate) fn new(x0: f32, y0: f32, x1: f32, y1: f32, ppu: f32) -> Layer {
        let w = ((x1 - x0) * ppu).ceil() as usize;
        let h = ((y1 - y0) * ppu).ceil() as usize;
        Layer {
            w,
            h,
            x0,
            y0,
            ppu,
            data: vec![0.0; w * h],
        }
    }

    /// Draws a crease/vein stroke along `curve` with max-blending: full width at half
    /// maximum `width(t)` (hand units) and peak value `depth(t)`.
    pub(crate) fn stroke(
        &mut self,
        curve: &Bezier,
        width: impl Fn(f32) -> f32,
        depth: impl Fn(f32) -> f32,
    ) {
        let len_tex = curve.length() * self.ppu;
        let n = ((len_tex * 2.0).ceil() as usize).clamp(2, 20_000);
        for s in 0..=n {
            let t = s as f32 / n as f32;
            let p = curve.at(t);
            let mut w = width(t) * self.ppu;
            let mut dep = depth(t);
            if w < 1.2 {
                // Sub-texel line: keep its integrated darkness, spread over 1.2 texels.
                dep *= w / 1.2;
                w = 1.2;
            }
            if dep <= 0.0 {
                continue;
            }
            self.splat(
                (p.x - self.x0) * self.ppu,
                (p.y - self.y0) * self.ppu,
                w,
                dep,
            );
        }
    }

    #[inline]
    fn splat(&mut self, cx: f32, cy: f32, w: f32, dep: f32) {
        let r = w; // profile (1-(d/w)^2)^2 has FWHM ≈ 1.08 w
        let xa = (cx - r).floor().max(0.0) as usize;
        let ya = (cy - r).floor().max(0.0) as usize;
        let xb = ((cx + r).ceil() as isize).min(self.w as isize - 1);
        let yb = ((cy + r).ceil() as isize).min(self.h as isize - 1);
        if xb < 0 || yb < 0 {
            return;
        }
        let inv = 1.0 / (r * r);
        for y in ya..=yb as usize {
            let dy = y as f32 + 0.5 - cy;
            let row = y * self.w;
            for x in xa..=xb as usize {
                let dx = x as f32 + 0.5 - cx;
                let u = 1.0 - (dx * dx + dy * dy) * inv;
                if u > 0.0 {
                    let v = dep * u * u;
                    let cell = &mut self.data[row + x];
                    if v > *cell {
                        *cell = v;
                    }
                }
            }
        }
    }

    /// Approximate Gaussian blur of standard deviation `sigma` texels (three box passes).
    pub(crate) fn blur(&mut self, sigma: f32) {
        box_blur3(&mut self.data, self.w, self.h, sigma);
    }
}

/// Three separable box-blur passes approximating a Gaussian of standard deviation `sigma`
/// (edges clamped).
pub(crate) fn box_blur3(data: &mut [f32], w: usize, h: usize, sigma: f32) {
    if sigma <= 0.2 || w == 0 || h == 0 {
        return;
    }
    // Three boxes of width 2r+1 have variance 3((2r+1)^2-1)/12 = r(r+1).
    let r = (((sigma * sigma + 0.25).sqrt() - 0.5).round() as usize).max(1);
    let norm = 1.0 / (2 * r + 1) as f32;
    let mut pad = vec![0.0f32; w + 2 * r + 1];
    let mut src = vec![0.0f32; w * h];
    let mut acc = vec![0.0f32; w];
    for _ in 0..3 {
        // Horizontal: running sum over a clamped, padded copy of the row.
        for row in data.chunks_exact_mut(w) {
            pad[..r].fill(row[0]);
            pad[r..r + w].copy_from_slice(row);
            pad[r + w..].fill(row[w - 1]);
            let mut a: f32 = pad[..2 * r + 1].iter().sum();
            for x in 0..w {
                row[x] = a * norm;
                a += pad[x + 2 * r + 1] - pad[x];
            }
        }
        // Vertical: running sum of whole rows (vectorises across x).
        src.copy_from_slice(data);
        let rowi = |y: isize| y.clamp(0, h as isize - 1) as usize * w;
        acc.fill(0.0);
        for k in -(r as isize)..=r as isize {
            let o = rowi(k);
            for (a, v) in acc.iter_mut().zip(&src[o..o + w]) {
                *a += v;
            }
        }
        for y in 0..h {
            let out = &mut data[y * w..(y + 1) * w];
            for (o, a) in out.iter_mut().zip(&acc) {
                *o = a * norm;
            }
            let (add, sub) = (
                rowi(y as isize + r as isize + 1),
                rowi(y as isize - r as isize),
            );
            for ((a, p), m) in acc
                .iter_mut()
                .zip(&src[add..add + w])
                .zip(&src[sub..sub + w])
            {
                *a += p - m;
            }
        }
    }
}

/// One 3×3 box-filter pass (σ ≈ 0.82), edges clamped.
pub(crate) fn box_blur_once(data: &mut [f32], w: usize, h: usize) {
    if w < 2 || h < 2 {
        return;
    }
    let third = 1.0 / 3.0;
    // Horizontal: from a copy of the row, so the interior vectorises.
    let mut tmp = vec![0.0f32; w];
    for row in data.chunks_exact_mut(w) {
        tmp.copy_from_slice(row);
        row[0] = (tmp[0] + tmp[0] + tmp[1]) * third;
        for (((o, a), b), c) in row[1..w - 1]
            .iter_mut()
            .zip(&tmp[..w - 2])
            .zip(&tmp[1..w - 1])
            .zip(&tmp[2..])
        {
            *o = (a + b + c) * third;
        }
        row[w - 1] = (tmp[w - 2] + tmp[w - 1] + tmp[w - 1]) * third;
    }
    // Vertical: row y from copies of rows y − 1 and y and the untouched row y + 1.
    let mut prev_row = data[..w].to_vec();
    let mut cur_row = vec![0.0f32; w];
    for y in 0..h {
        let (head, tail) = data.split_at_mut((y + 1) * w);
        let out = &mut head[y * w..];
        cur_row.copy_from_slice(out);
        let next: &[f32] = if y + 1 < h { &tail[..w] } else { &cur_row };
        for (((o, p), c), nx) in out.iter_mut().zip(&prev_row).zip(&cur_row).zip(next) {
            *o = (p + c + nx) * third;
        }
        std::mem::swap(&mut prev_row, &mut cur_row);
    }
}

/// Tapered envelope for strokes: 0 at both ends, 1 in the middle.
#[inline]
fn taper(t: f32, a: f32, b: f32) -> f32 {
    super::geom::smoothstep(0.0, a, t) * super::geom::smoothstep(1.0, 1.0 - b, t)
}

/// The population prototype of the principal lines (canonical right hand, palm height 1.1):
/// heart (distal transverse), head (proximal transverse), life (thenar) crease.
const PROTOTYPE: [[[f32; 2]; 4]; 3] = [
    [[0.50, -0.20], [0.22, -0.21], [0.00, -0.27], [-0.21, -0.47]],
    [[-0.49, -0.25], [-0.22, -0.14], [0.08, -0.06], [0.36, 0.07]],
    [[-0.48, -0.21], [-0.14, -0.10], [-0.06, 0.30], [-0.15, 0.57]],
];
/// Per-identity standard deviation of each principal-line control point (hand units).
const PRINCIPAL_SD: f32 = 0.035;

impl Identity {
    /// The identity for `seed`: same seed, same hand, on every platform.
    pub fn from_seed(seed: u64) -> Identity {
        let mut rs = Rng::stream(seed, D_SHAPE);
        let side = if rs.chance(0.5) {
            HandSide::Right
        } else {
            HandSide::Left
        };
        let skin_tone = rs.unit();
        let shape = make_shape(&mut rs);
        let principal = principal_lines(seed, shape.half_h);
        let tex = render_texture(seed, &shape, &principal);
        let body = BodySdf::new(&shape);
        Identity {
            seed,
            side,
            skin_tone,
            shape,
            principal,
            tex,
            body,
        }
    }

    /// The seed this identity was made from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Left or right hand.
    pub fn side(&self) -> HandSide {
        self.side
    }

    /// Skin tone in [0, 1]: 0 = lightest, 1 = darkest palm colour of the range.
    pub fn skin_tone(&self) -> f32 {
        self.skin_tone
    }

    /// The principal lines alone (heart, head, life and, where present, fate line), rendered
    /// blurred (σ ≈ 0.02 palm widths) into a `size`×`size` map of the palm square
    /// x ∈ [−0.55, 0.55], y ∈ [−0.6, 0.6] hand units (canonical right hand). Values in [0, 1].
    /// Meant for measuring how principal lines correlate between identities.
    pub fn principal_line_map(&self, size: usize) -> Vec<f32> {
        let size = size.clamp(8, 1024);
        let ppu = size as f32 / 1.1;
        let mut l = Layer {
            w: size,
            h: size,
            x0: -0.55,
            y0: -0.6,
            ppu,
            data: vec![0.0; size * size],
        };
        for b in &self.principal {
            l.stroke(b, |_| 0.012, |t| taper(t, 0.1, 0.1));
        }
        l.blur(0.02 * ppu);
        l.data
    }

    /// The crease channel of the hand-space texture (canonical right hand; 255 = deepest
    /// crease), for inspection.
    pub fn crease_map(&self) -> GrayImage {
        GrayImage::from_fn(self.tex.w as u32, self.tex.h as u32, |x, y| {
            image::Luma([self.tex.data[y as usize * self.tex.w + x as usize][0]])
        })
    }
}

fn make_shape(r: &mut Rng) -> HandShape {
    let palm_h = 1.10 + (0.05 * r.normal()).clamp(-0.1, 0.1);
    let hh = palm_h * 0.5;
    let j = |r: &mut Rng| 0.012 * r.normal();
    // Rounded-trapezoid palm with chamfered shoulders under the index and little fingers, a
    // hypothenar curve and a thenar bulge.
    let palm = vec![
        v2(-0.30 + j(r), -hh + 0.03),
        v2(0.30 + j(r), -hh + 0.09 + j(r)),
        v2(0.43, -hh + 0.28 + j(r)),
        v2(0.46, 0.05 + j(r)),
        v2(0.40 + j(r), hh * 0.78),
        v2(0.28 + j(r), hh),
        v2(-0.24 + j(r), hh),
        v2(-0.45 + j(r), hh * 0.5),
        v2(-0.47, -0.02 + j(r)),
        v2(-0.44, -hh + 0.20),
    ];
    let arm_w = 0.35 + 0.02 * r.normal();
    let arm = [
        v2(-arm_w + 0.02, hh - 0.2),
        v2(arm_w + 0.02, hh - 0.2),
        v2(arm_w + 0.07, hh + 2.8),
        v2(-arm_w - 0.04, hh + 2.8),
    ];
    let len_f = 1.0 + (0.05 * r.normal()).clamp(-0.12, 0.12);
    let wid_f = 1.0 + (0.05 * r.normal()).clamp(-0.12, 0.12);
    let xs = [-0.345, -0.115, 0.115, 0.34];
    let lens = [0.86, 0.96, 0.91, 0.73];
    let radii = [0.099, 0.102, 0.096, 0.082];
    let angles = [-0.12, -0.035, 0.05, 0.15];
    let top = |x: f32| -hh + 0.0 + 0.07 * (x + 0.45) / 0.9;
    let fingers = std::array::from_fn(|i| {
        let x = xs[i] + 0.008 * r.normal();
        let rb = radii[i] * wid_f * (1.0 + 0.03 * r.normal());
        Digit {
            pivot: v2(x, top(x) + 0.08),
            angle: angles[i] + 0.015 * r.normal(),
            length: lens[i] * len_f * (1.0 + 0.03 * r.normal()),
            r_base: rb,
            r_tip: rb * (0.80 + 0.04 * r.normal()),
        }
    });
    let thumb = Digit {
        pivot: v2(-0.30 + 0.01 * r.normal(), hh * 0.42),
        angle: -0.90 + 0.05 * r.normal(),
        length: 0.80 * len_f * (1.0 + 0.03 * r.normal()),
        r_base: 0.185 * wid_f,
        r_tip: 0.118 * wid_f,
    };
    HandShape {
        palm,
        palm_round: 0.04,
        arm,
        fingers,
        thumb,
        half_h: hh,
    }
}

fn principal_lines(seed: u64, hh: f32) -> Vec<Bezier> {
    let mut r = Rng::stream(seed, D_PRINCIPAL);
    let ys = hh / 0.55;
    let mut out: Vec<Bezier> = PROTOTYPE
        .iter()
        .map(|cp| {
            Bezier(std::array::from_fn(|k| {
                v2(
                    cp[k][0] + PRINCIPAL_SD * r.normal(),
                    cp[k][1] * ys + PRINCIPAL_SD * r.normal(),
                )
            }))
        })
        .collect();
    // The head and life lines often share their origin between thumb and index finger.
    if r.chance(0.6) {
        out[2].0[0] = out[1].0[0] + v2(0.01, 0.03);
    }
    // The fate line is present in most palms, with very variable extent.
    if r.chance(0.7) {
        let y0 = 0.55 * ys - r.range(0.0, 0.35);
        let y1 = -0.25 * ys + r.range(-0.05, 0.25);
        let x0 = 0.02 + 0.04 * r.normal();
        let x1 = -0.05 + 0.04 * r.normal();
        out.push(Bezier::bent(
            v2(x0, y0),
            v2(x1, y1),
            0.08 * r.normal(),
            0.05 * r.normal(),
        ));
    }
    out
}

/// Sample a point inside the palm polygon (rejection sampling in its bounding box).
fn in_palm(r: &mut Rng, shape: &HandShape) -> V2 {
    for _ in 0..64 {
        let p = v2(r.range(-0.5, 0.5), r.range(-shape.half_h, shape.half_h));
        if super::geom::sd_polygon(&shape.palm, p) < -0.03 {
            return p;
        }
    }
    v2(0.0, 0.0)
}

fn render_texture(seed: u64, shape: &HandShape, principal: &[Bezier]) -> HandTexture {
    let mut crease = Layer::new(TEX_X0, TEX_Y0, TEX_X1, TEX_Y1, TEX_PPU);
    let hh = shape.half_h;

    // Principal lines: each drawn as 2–3 slightly offset strands (real creases are braided and
    // broken), with branches.
    let mut r = Rng::stream(seed, D_PRINCIPAL ^ 0x100);
    for (li, b) in principal.iter().enumerate() {
        let fate = li == 3;
        let base_w = if fate {
            r.range(0.005, 0.009)
        } else {
            r.range(0.007, 0.012)
        };
        let base_d = if fate {
            r.range(0.3, 0.6)
        } else {
            r.range(0.65, 0.95)
        };
        let strands = if fate { 1 } else { r.int(2, 3) };
        for s in 0..strands {
            let off = if s == 0 {
                v2(0.0, 0.0)
            } else {
                v2(0.006 * r.normal(), 0.006 * r.normal())
            };
            let mut bb = *b;
            for k in 0..4 {
                bb.0[k] = bb.0[k] + off * if k == 0 || k == 3 { 0.3 } else { 1.0 };
            }
            let (ph, fr, t0, t1) = (
                r.range(0.0, std::f32::consts::TAU),
                r.range(3.0, 9.0),
                r.range(0.0, 0.08),
                r.range(0.92, 1.0),
            );
            let wk = if s == 0 { 1.0 } else { 0.55 };
            let dk = if s == 0 { 1.0 } else { 0.6 };
            let gap = r.range(0.15, 0.85);
            let gap_w = if r.chance(0.35) {
                r.range(0.02, 0.06)
            } else {
                0.0
            };
            bb = sub_curve(&bb, t0, t1);
            crease.stroke(
                &bb,
                |t| base_w * wk * (0.55 + 0.45 * taper(t, 0.25, 0.25)),
                |t| {
                    let broken = if (t - gap).abs() < gap_w { 0.25 } else { 1.0 };
                    base_d * dk * taper(t, 0.08, 0.12) * (0.8 + 0.2 * (ph + fr * t).sin()) * broken
                },
            );
        }
        // Branches forking off the line.
        for _ in 0..r.int(2, 6) {
            let t = r.range(0.1, 0.9);
            let p = b.at(t);
            let tan = (b.at((t + 0.02).min(1.0)) - b.at((t - 0.02).max(0.0))).norm();
            let ang = r.range(0.4, 1.1) * if r.chance(0.5) { 1.0 } else { -1.0 };
            let d = tan.rot(ang.cos(), ang.sin()) * if r.chance(0.5) { 1.0 } else { -1.0 };
            let q = p + d * r.range(0.05, 0.16);
            let bw = base_w * r.range(0.3, 0.6);
            let bd = base_d * r.range(0.35, 0.7);
            crease.stroke(
                &Bezier::bent(p, q, 0.15 * r.normal(), 0.0),
                |_| bw,
                |t| bd * taper(t, 0.02, 0.7),
            );
        }
    }

    // Secondary creases: near principal lines, on the thenar eminence, and anywhere.
    let mut r = Rng::stream(seed, D_CREASE);
    let n_sec = r.int(120, 220);
    for _ in 0..n_sec {
        let kind = r.unit();
        let (c, ang) = if kind < 0.4 {
            let b = &principal[r.int(0, principal.len() as u32 - 1) as usize];
            let t = r.unit();
            let tan = b.at((t + 0.02).min(1.0)) - b.at((t - 0.02).max(0.0));
            let base = tan.y.atan2(tan.x);
            let p = b.at(t) + tan.norm().perp() * (0.05 * r.normal());
            (p, base + 0.45 * r.normal())
        } else if kind < 0.7 {
            // Thenar eminence: inside the life line's curve, oblique creases.
            let p = v2(
                -0.30 + 0.09 * r.normal(),
                0.22 * hh / 0.55 + 0.14 * r.normal(),
            );
            (
                p,
                if r.chance(0.6) { -0.75 } else { 0.55 } + 0.3 * r.normal(),
            )
        } else {
            let p = in_palm(&mut r, shape);
            // Hypothenar and centre: mostly transverse.
            (p, 0.35 * r.normal())
        };
        let len = r.range(0.05, 0.25);
        let d = v2(ang.cos(), ang.sin()) * (len * 0.5);
        let w = r.range(0.003, 0.007);
        let dep = r.range(0.35, 0.8);
        let b = Bezier::bent(c - d, c + d, 0.15 * r.normal(), 0.08 * r.normal());
        let (ph, fr) = (r.range(0.0, std::f32::consts::TAU), r.range(4.0, 12.0));
        crease.stroke(
            &b,
            |t| w * (0.6 + 0.4 * taper(t, 0.3, 0.3)),
            |t| dep * taper(t, 0.2, 0.2) * (0.75 + 0.25 * (ph + fr * t).sin()),
        );
    }

    // Flexion creases on the fingers and the thumb, and the wrist (rascette) creases.
    for (fi, f) in shape
        .fingers
        .iter()
        .chain(std::iter::once(&shape.thumb))
        .enumerate()
    {
        let dir = dir_of(f.angle);
        let n = dir.perp();
        let thumb = fi == 4;
        let stations: &[f32] = if thumb {
            &[0.52, 0.62]
        } else {
            &[0.20, 0.52, 0.76]
        };
        for (si, &st) in stations.iter().enumerate() {
            let s = if thumb {
                st * f.length
            } else {
                0.08 + st * (f.length - 0.08)
            };
            let rad = f.r_base + (f.r_tip - f.r_base) * (s / f.length);
            let lines = if si == 0 && !thumb {
                r.int(1, 2)
            } else {
                r.int(2, 3)
            };
            for k in 0..lines {
                let c = f.pivot
                    + dir
                        * (s + (k as f32 - 0.5 * (lines - 1) as f32) * 0.014 + 0.004 * r.normal());
                let half = rad * r.range(0.6, 0.9);
                let a = c - n * half + dir * (0.01 * r.normal());
                let b = c + n * half + dir * (0.01 * r.normal());
                let bend = -0.12 + 0.05 * r.normal();
                let w = r.range(0.004, 0.008);
                let dep = r.range(0.35, 0.7);
                crease.stroke(
                    &Bezier::bent(a, b, bend, 0.03 * r.normal()),
                    |_| w,
                    |t| dep * taper(t, 0.2, 0.2),
                );
            }
        }
    }
    for k in 0..r.int(1, 3) {
        let y = hh + 0.04 + 0.05 * k as f32 + 0.01 * r.normal();
        let a = v2(-0.30 + 0.03 * r.normal(), y + 0.02 * r.normal());
        let b = v2(0.32 + 0.03 * r.normal(), y + 0.02 * r.normal());
        let w = r.range(0.004, 0.008);
        let dep = r.range(0.25, 0.5);
        crease.stroke(
            &Bezier::bent(a, b, 0.04 * r.normal(), 0.02 * r.normal()),
            |_| w,
            |t| dep * taper(t, 0.25, 0.25),
        );
    }

    // Micro-wrinkles: a dense cross-hatch of short faint lines over palm and fingers.
    let mut r = Rng::stream(seed, D_MICRO);
    let fam = [r.range(-1.0, -0.5), r.range(0.4, 0.9)];
    let n_micro = r.int(1300, 1900);
    for _ in 0..n_micro {
        let p = if r.chance(0.8) {
            in_palm(&mut r, shape)
        } else {
            let f = if r.chance(0.85) {
                &shape.fingers[r.int(0, 3) as usize]
            } else {
                &shape.thumb
            };
            let s = r.range(0.1, f.length - 0.05);
            f.pivot
                + dir_of(f.angle) * s
                + dir_of(f.angle).perp() * (f.r_base * 0.8 * r.range(-1.0, 1.0))
        };
        let ang =
            fam[r.int(0, 1) as usize] + 0.25 * r.normal() + 0.4 * (p.x * 3.0 + p.y * 2.0).sin();
        let len = r.range(0.025, 0.1);
        let d = v2(ang.cos(), ang.sin()) * (len * 0.5);
        let w = r.range(0.003, 0.0045);
        let dep = r.range(0.2, 0.5);
        crease.stroke(
            &Bezier::bent(p - d, p + d, 0.1 * r.normal(), 0.0),
            |_| w,
            |t| dep * taper(t, 0.3, 0.3),
        );
    }

    // Skin: redness (thenar, hypothenar, finger pads, mottling) and fine band-pass texture.
    let mut r = Rng::stream(seed, D_SKIN);
    let (w, h) = (crease.w, crease.h);
    let mut noise_lo = vec![0.0f32; w * h];
    let mut noise_fine = vec![0.0f32; w * h];
    let mut rr = Rng::stream(seed, D_SKIN ^ 0x55);
    for i in 0..w * h {
        let bits = rr.next_u64();
        noise_lo[i] = super::rng::irwin_hall4(bits);
        noise_fine[i] = ((bits >> 13) & 0xFFFF) as f32 / 65536.0 - 0.5;
    }
    box_blur3(&mut noise_lo, w, h, 14.0);
    let mut fine2 = noise_fine.clone();
    box_blur3(&mut noise_fine, w, h, 0.9);
    box_blur3(&mut fine2, w, h, 3.0);
    let std_lo = rms(&noise_lo);
    let blobs = [
        (v2(-0.28, 0.22 * hh / 0.55), 0.2, r.range(0.5, 0.9)),
        (v2(0.32, 0.22 * hh / 0.55), 0.17, r.range(0.4, 0.8)),
        (v2(0.0, -0.38 * hh / 0.55), 0.3, r.range(0.2, 0.5)),
    ];
    let tips: Vec<(V2, f32)> = shape
        .fingers
        .iter()
        .chain(std::iter::once(&shape.thumb))
        .map(|f| {
            (
                f.pivot + dir_of(f.angle) * (f.length - f.r_tip * 1.2),
                f.r_tip * 1.8,
            )
        })
        .collect();
    let mut red = vec![0.0f32; w * h];
    let mut fine = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = v2(
                TEX_X0 + (x as f32 + 0.5) / TEX_PPU,
                TEX_Y0 + (y as f32 + 0.5) / TEX_PPU,
            );
            let mut v = 0.25 + 0.18 * noise_lo[y * w + x] / std_lo;
            for &(c, s, a) in &blobs {
                let d2 = (p - c).dot(p - c) / (s * s);
                if d2 < 9.0 {
                    v += a * 0.5 * (-d2).exp();
                }
            }
            for &(c, s) in &tips {
                let d2 = (p - c).dot(p - c) / (s * s);
                if d2 < 9.0 {
                    v += 0.45 * (-d2).exp();
                }
            }
            red[y * w + x] = v;
            let i = y * w + x;
            fine[i] = noise_fine[i] - fine2[i];
        }
    }
    let std_f = rms(&fine);
    let mut crease_data = crease.data;
    // Slight blur: creases are grooves in skin, not ink lines.
    box_blur3(&mut crease_data, w, h, 0.5);

    // Veins.
    let vein = render_veins(seed, shape);

    let data = (0..w * h)
        .map(|i| {
            [
                q8(crease_data[i] * 255.0),
                q8(vein.data[i] * 255.0),
                q8(red[i] * 160.0),
                q8(128.0 + 38.0 * fine[i] / std_f),
            ]
        })
        .collect();
    HandTexture { w, h, data }
}

#[inline]
fn q8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn rms(v: &[f32]) -> f32 {
    let s: f32 = v.iter().map(|x| x * x).sum();
    (s / v.len().max(1) as f32).sqrt().max(1e-9)
}

/// The part of `b` between parameters `t0` and `t1` (de Casteljau).
fn sub_curve(b: &Bezier, t0: f32, t1: f32) -> Bezier {
    let p0 = b.at(t0);
    let p3 = b.at(t1);
    let d = |t: f32| {
        let [a, bb, c, e] = b.0;
        let u = 1.0 - t;
        ((bb - a) * (u * u) + (c - bb) * (2.0 * u * t) + (e - c) * (t * t)) * 3.0
    };
    let s = (t1 - t0) / 3.0;
    Bezier([p0, p0 + d(t0) * s, p3 - d(t1) * s, p3])
}

/// Palm-vein network: a tree grown from the wrist through random nodes of the palm and into the
/// finger bases, with a few loops; drawn as absorbing cylinders and blurred by tissue scattering.
fn render_veins(seed: u64, shape: &HandShape) -> Layer {
    let mut r = Rng::stream(seed, D_VEIN);
    let hh = shape.half_h;
    let mut nodes: Vec<V2> = Vec::new();
    let roots = r.int(2, 3) as usize;
    for k in 0..roots {
        let x = -0.25 + 0.5 * (k as f32 + 0.5) / roots as f32 + 0.05 * r.normal();
        nodes.push(v2(x, hh + 0.45));
    }
    let n_nodes = r.int(22, 34);
    for _ in 0..n_nodes {
        nodes.push(in_palm(&mut r, shape));
    }
    for f in shape.fingers.iter().chain(std::iter::once(&shape.thumb)) {
        if r.chance(0.8) {
            let s = r.range(0.25, 0.4);
            nodes.push(
                f.pivot
                    + dir_of(f.angle) * s
                    + dir_of(f.angle).perp() * (0.4 * f.r_base * r.normal()),
            );
        }
    }
    // Grow: each node joins the nearest node closer to the wrist.
    let mut order: Vec<usize> = (roots..nodes.len()).collect();
    order.sort_by(|&a, &b| nodes[b].y.total_cmp(&nodes[a].y));
    let mut parent = vec![usize::MAX; nodes.len()];
    let mut placed: Vec<usize> = (0..roots).collect();
    for &i in &order {
        let mut best = (f32::MAX, 0);
        for &j in &placed {
            let d = nodes[i] - nodes[j];
            // Prefer parents below (towards the wrist).
            let cost = d.len() + if d.y > 0.0 { 0.15 } else { 0.0 };
            if cost < best.0 {
                best = (cost, j);
            }
        }
        parent[i] = best.1;
        placed.push(i);
    }
    // Width by subtree size.
    let mut desc = vec![1.0f32; nodes.len()];
    for &i in order.iter().rev() {
        let p = parent[i];
        desc[p] += desc[i];
    }
    let mut layer = Layer::new(TEX_X0, TEX_Y0, TEX_X1, TEX_Y1, TEX_PPU);
    let max_w = r.range(0.034, 0.045);
    let draw = |layer: &mut Layer, r: &mut Rng, a: V2, b: V2, wa: f32| {
        let bz = Bezier::bent(a, b, 0.18 * r.normal(), 0.1 * r.normal());
        let dep = r.range(0.7, 1.0);
        layer.stroke(&bz, |_| wa, |_| dep);
    };
    for &i in &order {
        let p = parent[i];
        let w = (0.013 * desc[i].powf(0.4)).clamp(0.013, max_w);
        draw(&mut layer, &mut r, nodes[p], nodes[i], w);
    }
    // Loops: connect some nearby unrelated nodes.
    for _ in 0..r.int(3, 7) {
        let i = r.int(roots as u32, nodes.len() as u32 - 1) as usize;
        let mut best = (f32::MAX, i);
        for j in roots..nodes.len() {
            if j != i && parent[i] != j && parent[j] != i {
                let d = (nodes[i] - nodes[j]).len();
                if d < best.0 {
                    best = (d, j);
                }
            }
        }
        if best.1 != i && best.0 < 0.35 {
            draw(&mut layer, &mut r, nodes[i], nodes[best.1], 0.013);
        }
    }
    // Tissue scattering.
    layer.blur(0.018 * TEX_PPU);
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_texture() {
        let a = Identity::from_seed(11);
        let b = Identity::from_seed(11);
        assert_eq!(a.tex.data, b.tex.data);
        assert_eq!(a.side(), b.side());
        let c = Identity::from_seed(12);
        assert_ne!(a.tex.data, c.tex.data);
    }

    #[test]
    fn box_blur_preserves_mean_and_spreads_impulse() {
        let (w, h) = (41, 41);
        let mut d = vec![0.0f32; w * h];
        d[20 * w + 20] = 1.0;
        box_blur3(&mut d, w, h, 3.0);
        let sum: f32 = d.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
        // Variance per axis ≈ sigma^2 = r(r+1) = 12 for r = 3.
        let var: f32 = (0..w * h)
            .map(|i| d[i] * ((i % w) as f32 - 20.0).powi(2))
            .sum();
        assert!((var - 12.0).abs() < 0.5, "var {var}");
    }

    /// Naive reference: `passes` clamped box filters of radius `r`, horizontal then vertical.
    fn box_reference(data: &[f32], w: usize, h: usize, r: usize, passes: usize) -> Vec<f32> {
        let mut d = data.to_vec();
        let n = (2 * r + 1) as f32;
        for _ in 0..passes {
            let src = d.clone();
            for y in 0..h {
                for x in 0..w {
                    let s: f32 = (-(r as isize)..=r as isize)
                        .map(|k| src[y * w + (x as isize + k).clamp(0, w as isize - 1) as usize])
                        .sum();
                    d[y * w + x] = s / n;
                }
            }
            let src = d.clone();
            for y in 0..h {
                for x in 0..w {
                    let s: f32 = (-(r as isize)..=r as isize)
                        .map(|k| src[(y as isize + k).clamp(0, h as isize - 1) as usize * w + x])
                        .sum();
                    d[y * w + x] = s / n;
                }
            }
        }
        d
    }

    proptest::proptest! {
        #[test]
        fn box_blur3_matches_reference(
            w in 1usize..20, h in 1usize..20, sigma in 0.5f32..6.0, seed in 0u64..1000
        ) {
            let mut r = Rng::stream(seed, 9);
            let data: Vec<f32> = (0..w * h).map(|_| r.unit()).collect();
            let rad = (((sigma * sigma + 0.25).sqrt() - 0.5).round() as usize).max(1);
            // The fast version blurs all rows of a pass, then all columns; the reference too.
            let want = box_reference(&data, w, h, rad, 3);
            let mut got = data.clone();
            box_blur3(&mut got, w, h, sigma);
            for (g, e) in got.iter().zip(&want) {
                proptest::prop_assert!((g - e).abs() < 1e-4, "{g} vs {e}");
            }
        }

        #[test]
        fn box_blur_once_matches_reference(w in 2usize..20, h in 2usize..20, seed in 0u64..1000) {
            let mut r = Rng::stream(seed, 10);
            let data: Vec<f32> = (0..w * h).map(|_| r.unit()).collect();
            let want = box_reference(&data, w, h, 1, 1);
            let mut got = data.clone();
            box_blur_once(&mut got, w, h);
            for (g, e) in got.iter().zip(&want) {
                proptest::prop_assert!((g - e).abs() < 1e-5, "{g} vs {e}");
            }
        }
    }
}
