//! Captures: pose sampling, per-pixel rendering of the visible and NIR frames, ground truth.

use super::geom::{V2, dir_of, sd_capsule, sd_polygon, smin, smoothstep, v2};
use super::identity::{HandSide, Identity, box_blur_once, box_blur3};
use super::options::{Background, CaptureOptions};
use super::rng::{Rng, mix64};
use crate::error::ConfigError;
use image::{GrayImage, RgbImage};

/// Smooth-union widths (hand units): finger webs, thumb web, wrist.
const K_FINGER: f32 = 0.035;
const K_THUMB: f32 = 0.14;
/// Minimum angle between neighbouring fingers (radians).
const MIN_DIVERGENCE: f32 = 0.03;

/// Makes captures of [`Identity`]s under validated [`CaptureOptions`]. Stateless apart from
/// the options: `capture` is a pure function of (identity, sample), so a generator can be
/// shared between threads.
#[derive(Debug, Clone)]
pub struct Generator {
    opts: CaptureOptions,
}

/// The palm ROI square derived from the valley landmarks (all in frame pixels).
///
/// Convention: `k1` = index–middle valley, `k2` = ring–little valley, `d = |k2 − k1|`,
/// `u = (k2 − k1)/d`, `n` = the unit normal of `u` pointing into the palm. The square has side
/// `d`, is centred on the midpoint of `k1k2` along `u`, and its near edge lies `0.25·d` from the
/// `k1k2` line on the palm side. Corners are, in order: near edge at the `k1` end, near edge at
/// the `k2` end, far edge at the `k2` end, far edge at the `k1` end.
///
/// [`to_frame`](Self::to_frame) maps ROI coordinates `(s, t) ∈ [0, 1]²` (s along `u`, t along
/// `n`) to frame pixels. For a right hand seen palm-up this is a rotation+scale; for a left hand
/// it includes a reflection, so sampling the ROI with it mirrors left palms into the
/// right-hand convention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiSquare {
    /// Corners in frame pixels `[x, y]` (order above).
    pub corners: [[f32; 2]; 4],
    /// Side length in pixels (= the valley distance `d`).
    pub side_px: f32,
    /// Affine map `[x, y] = M · [s, t, 1]` from unit ROI coordinates to frame pixels.
    pub to_frame: [[f32; 3]; 2],
}

impl RoiSquare {
    /// Frame position of ROI coordinate `(s, t)`, with `s, t ∈ [0, 1]` inside the square.
    pub fn at(&self, s: f32, t: f32) -> [f32; 2] {
        let m = &self.to_frame;
        [
            m[0][0] * s + m[0][1] * t + m[0][2],
            m[1][0] * s + m[1][1] * t + m[1][2],
        ]
    }
}

/// What is true about a capture, for tests and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// The identity's seed.
    pub identity: u64,
    /// The sample seed.
    pub sample: u64,
    /// Left or right hand.
    pub side: HandSide,
    /// Finger-valley landmarks in frame pixels `[x, y]`: index–middle, middle–ring,
    /// ring–little. Each is the deepest point of its gap: the point of the hand silhouette
    /// between the two fingers farthest towards the palm along the bisector of the two finger
    /// axes, computed from this capture's finger pose.
    pub valleys: [[f32; 2]; 3],
    /// For each valley, the unit direction in frame pixels along which it is the deepest point
    /// of its gap, pointing from the valley into the gap (towards the fingertips): the bisector
    /// of the two finger axes in hand space, carried into the frame as the normal of the
    /// extremal direction (`J⁻ᵀ·bisector`, `J` the pose's Jacobian at the valley), which differs
    /// from the bisector's image by a few degrees when the capture has palm stretch or tilt.
    pub valley_axes: [[f32; 2]; 3],
    /// Whether all three valleys and the four ROI corners lie inside the frame.
    pub in_frame: bool,
    /// The palm ROI square derived from `valleys[0]` and `valleys[2]`.
    pub roi: RoiSquare,
    /// Palm centre (hand-space origin) in frame pixels.
    pub palm_center: [f32; 2],
    /// Palm width in pixels (hand units → pixels scale).
    pub palm_width_px: f32,
    /// In-plane rotation in degrees (0 = fingers up, positive = clockwise on screen).
    pub rotation_deg: f32,
    /// Finger spread factor used.
    pub finger_spread: f32,
    /// Defocus blur σ in pixels (0 when in focus).
    pub defocus_sigma_px: f32,
    /// Motion blur: the hand's displacement during the exposure in pixels `[dx, dy]`
    /// (`[0, 0]` when still).
    pub motion_blur_px: [f32; 2],
    /// Whether a ring, bracelet or sleeve is present.
    pub accessories: Accessories,
}

/// Scene accessories present in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Accessories {
    /// A ring on a finger.
    pub ring: bool,
    /// A bracelet or watch strap at the wrist.
    pub bracelet: bool,
    /// A sleeve over the forearm.
    pub sleeve: bool,
    /// Contact-reader guide pegs in the finger gaps.
    pub pegs: bool,
}

/// One capture: the visible and the near-infrared frame of the same hand pose, and ground truth.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Visible-light frame, 8-bit luminance.
    pub visible: GrayImage,
    /// Visible-light frame in colour, when [`CaptureOptions::color`] is set.
    pub rgb: Option<RgbImage>,
    /// Near-infrared frame (850–940 nm look: bright hand on dark, veins dark and blurred).
    pub nir: GrayImage,
    /// Ground-truth visible-skin coverage (255 = skin, anti-aliased at the silhouette; rings,
    /// bracelets and sleeves cover skin and count as 0; the contact-reader pegs are behind the
    /// hand).
    pub mask: GrayImage,
    /// Ground truth.
    pub truth: GroundTruth,
}

/// A digit in its capture pose.
#[derive(Debug, Clone, Copy)]
struct Posed {
    a: V2,
    ab: V2,
    inv_len2: f32,
    len: f32,
    ra: f32,
    rb: f32,
    /// cos/sin of (rest angle − posed angle): rotates posed points back to rest pose.
    rc: f32,
    rs: f32,
    dir: V2,
    /// Ring band along the axis (distance from the pivot), if any.
    ring: Option<(f32, f32)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Hit {
    d: f32,
    d_body: f32,
    j: usize,
    dj: f32,
    tj: f32,
}

struct Scene<'a> {
    id: &'a Identity,
    digits: [Posed; 5],
    arm_end: Option<f32>,
    stretch: [f32; 4],
    bracelet: Option<(f32, f32, [f32; 3], f32)>,
    sleeve: Option<(f32, f32, [f32; 3], f32, f32)>,
    pegs: Vec<(V2, f32)>,
    /// Linear skin colour, crease visibility factor, NIR skin level.
    skin: [f32; 3],
    crease_k: f32,
    nir_level: f32,
}

impl<'a> Scene<'a> {
    #[inline]
    fn stretch(&self, q: V2) -> V2 {
        let [sx, sy, sh, bx] = self.stretch;
        v2(
            q.x * (1.0 + sx) + sh * q.y + bx * q.y * q.y,
            q.y * (1.0 + sy),
        )
    }

    /// Exact inverse of [`stretch`](Self::stretch) (it is triangular: y first, then x).
    fn unstretch(&self, h: V2) -> V2 {
        let [sx, sy, sh, bx] = self.stretch;
        let qy = h.y / (1.0 + sy);
        let qx = (h.x - sh * qy - bx * qy * qy) / (1.0 + sx);
        v2(qx, qy)
    }

    #[inline]
    fn sdf(&self, p: V2) -> Hit {
        self.sdf_masked(p, 0x1F)
    }

    /// Signed distance with only the digits whose bit is set in `active` (bit 4 = thumb).
    /// Always inlined, so it is compiled with the caller's target features.
    #[inline(always)]
    fn sdf_masked(&self, p: V2, active: u8) -> Hit {
        let sh = &self.id.shape;
        let mut d_body = self.id.body.sample(sh, p);
        if let Some(end) = self.arm_end {
            d_body = d_body.max(p.y - end);
        }
        // Fingers join the palm with a rounded web but not each other: a narrow gap between
        // two fingers stays open.
        let mut best = (f32::MAX, 0usize, 0.0f32);
        for (i, g) in self.digits[..4].iter().enumerate() {
            if active & (1 << i) == 0 {
                continue;
            }
            let (mut di, t) = sd_capsule(p, g.a, g.ab, g.inv_len2, g.ra, g.rb);
            if let Some((s0, s1)) = g.ring {
                let s = t * g.len;
                if s > s0 && s < s1 {
                    di -= 0.012;
                }
            }
            if di < best.0 {
                best = (di, i, t);
            }
        }
        let mut d = smin(d_body, best.0, K_FINGER);
        if active & 0x10 != 0 {
            let g = &self.digits[4];
            let (dt, tt) = sd_capsule(p, g.a, g.ab, g.inv_len2, g.ra, g.rb);
            d = smin(d, dt, K_THUMB);
            if dt < best.0 {
                best = (dt, 4, tt);
            }
        }
        Hit {
            d,
            d_body,
            j: best.1,
            dj: best.0,
            tj: best.2,
        }
    }

    /// Deepest point of the gap between digits `i` and `i + 1` (posed hand coordinates): rays
    /// parallel to the bisector of the two finger axes are traced from between the fingers
    /// towards the palm; the one that reaches farthest gives the point.
    fn valley(&self, i: usize) -> V2 {
        let (f, g) = (&self.digits[i], &self.digits[i + 1]);
        let bis = (f.dir + g.dir).norm();
        let side = bis.perp();
        let start = (f.a + g.a) * 0.5 + bis * 0.4;
        // Distance travelled along -bis from `start + side*o` to the silhouette.
        let march = |o: f32, from: f32| -> Option<f32> {
            let at = |s: f32| start + side * o - bis * s;
            let mut s = from;
            if self.sdf(at(s)).d <= 0.0 {
                return None;
            }
            while s < 0.8 {
                let d = self.sdf(at(s)).d;
                if d <= 0.0 {
                    let (mut lo, mut hi) = (s - 0.002, s);
                    for _ in 0..18 {
                        let m = 0.5 * (lo + hi);
                        if self.sdf(at(m)).d > 0.0 {
                            lo = m
                        } else {
                            hi = m
                        }
                    }
                    return Some(lo);
                }
                s += (d * 0.85).max(0.002);
            }
            None
        };
        let mut best = (f32::MIN, 0.0f32);
        for k in -6..=6 {
            let o = k as f32 * 0.005;
            if let Some(s) = march(o, 0.0)
                && s > best.0
            {
                best = (s, o);
            }
        }
        let (s0, o0) = best;
        for k in -10..=10 {
            let o = o0 + k as f32 * 0.0005;
            if let Some(s) = march(o, (s0 - 0.03).max(0.0))
                && s > best.0
            {
                best = (s, o);
            }
        }
        start + side * best.1 - bis * best.0
    }
}

/// Linear-light skin colours (palm side) from light to dark.
const SKIN: [[f32; 3]; 5] = [
    [0.90, 0.75, 0.70],
    [0.85, 0.68, 0.60],
    [0.77, 0.59, 0.49],
    [0.63, 0.46, 0.37],
    [0.50, 0.36, 0.29],
];

fn skin_rgb(tone: f32) -> [f32; 3] {
    let x = tone.clamp(0.0, 1.0) * (SKIN.len() - 1) as f32;
    let i = (x as usize).min(SKIN.len() - 2);
    let f = x - i as f32;
    std::array::from_fn(|k| SKIN[i][k] + (SKIN[i + 1][k] - SKIN[i][k]) * f)
}

impl Generator {
    /// A generator with validated options.
    pub fn new(opts: CaptureOptions) -> Result<Generator, ConfigError> {
        opts.validate()?;
        Ok(Generator { opts })
    }

    /// The options in use.
    pub fn options(&self) -> &CaptureOptions {
        &self.opts
    }

    /// Renders capture `sample` of `id`: a pure function of `(id.seed(), sample, options)`.
    pub fn capture(&self, id: &Identity, sample: u64) -> Capture {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { self.capture_avx2(id, sample) };
        }
        self.capture_generic(id, sample)
    }

    /// [`capture_generic`](Self::capture_generic) compiled for AVX2: wider vectors for the
    /// row loops and VEX encoding. No FMA (not enabled, and Rust never contracts `a * b + c`),
    /// so the pixels are the same as the baseline build's.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn capture_avx2(&self, id: &Identity, sample: u64) -> Capture {
        self.capture_generic(id, sample)
    }

    /// The renderer, for any target.
    #[inline(always)]
    fn capture_generic(&self, id: &Identity, sample: u64) -> Capture {
        let o = &self.opts;
        let (w, h) = (o.width_px as usize, o.height_px as usize);
        let mut r = Rng::stream(mix64(id.seed()) ^ sample, 0xCA97);
        let shape = &id.shape;
        let hh = shape.half_h;

        // --- Pose.
        let rot = r
            .range(-o.max_rotation_deg, o.max_rotation_deg)
            .to_radians();
        let scale = r.range(o.palm_width_frac[0], o.palm_width_frac[1]) * w as f32;
        let ms = o.max_stretch;
        let stretch = [
            r.range(-ms, ms),
            r.range(-ms, ms),
            0.5 * r.range(-ms, ms),
            0.6 * r.range(-ms, ms),
        ];
        let spread = r.range(o.finger_spread[0], o.finger_spread[1]);
        let thumb_delta = r.range(-0.25, 0.2);
        let ring = if r.chance(o.ring_probability) {
            let f = [2usize, 2, 2, 3, 1, 0][r.int(0, 5) as usize];
            let d = &shape.fingers[f];
            let s0 = 0.08 + d.length * r.range(0.18, 0.26);
            Some((f, s0, s0 + r.range(0.03, 0.06)))
        } else {
            None
        };
        // Posed finger angles: the rest fan scaled by the spread, a little independent jitter,
        // and at least MIN_DIVERGENCE between neighbours so every finger gap stays open.
        let mut angles = [0.0f32; 5];
        for (i, f) in shape.fingers.iter().enumerate() {
            angles[i] = f.angle * spread + 0.012 * r.normal();
        }
        for i in 1..4 {
            angles[i] = angles[i].max(angles[i - 1] + MIN_DIVERGENCE);
        }
        angles[4] = shape.thumb.angle + thumb_delta;
        let digits: [Posed; 5] = std::array::from_fn(|i| {
            let d = if i < 4 {
                &shape.fingers[i]
            } else {
                &shape.thumb
            };
            let angle = angles[i];
            let dir = dir_of(angle);
            let ab = dir * d.length;
            let delta = d.angle - angle;
            Posed {
                a: d.pivot,
                ab,
                inv_len2: 1.0 / ab.dot(ab),
                len: d.length,
                ra: d.r_base,
                rb: d.r_tip,
                rc: delta.cos(),
                rs: delta.sin(),
                dir,
                ring: ring.filter(|x| x.0 == i).map(|x| (x.1, x.2)),
            }
        });
        let bracelet = r.chance(o.bracelet_probability).then(|| {
            let c = [
                [0.08, 0.06, 0.05],
                [0.35, 0.22, 0.12],
                [0.6, 0.6, 0.62],
                [0.15, 0.15, 0.3],
            ][r.int(0, 3) as usize];
            (
                hh + r.range(0.12, 0.3),
                r.range(0.06, 0.12),
                c,
                r.range(20.0, 90.0),
            )
        });
        let sleeve = r.chance(o.sleeve_probability).then(|| {
            let c = [
                [0.05, 0.05, 0.07],
                [0.12, 0.16, 0.3],
                [0.35, 0.35, 0.35],
                [0.45, 0.1, 0.1],
                [0.6, 0.55, 0.45],
            ][r.int(0, 4) as usize];
            (
                hh + r.range(0.12, 0.5),
                r.range(0.0, std::f32::consts::TAU),
                c,
                r.range(0.3, 0.7),
                r.range(8.0, 16.0),
            )
        });
        let mut scene = Scene {
            id,
            digits,
            arm_end: (!o.forearm).then_some(hh + 0.55),
            stretch,
            bracelet,
            sleeve,
            pegs: Vec::new(),
            skin: [0.0; 3],
            crease_k: 1.0,
            nir_level: 0.8,
        };
        let valleys_h = [scene.valley(0), scene.valley(1), scene.valley(2)];
        if o.contact_pegs {
            for (i, v) in valleys_h.iter().enumerate() {
                let bis = (scene.digits[i].dir + scene.digits[i + 1].dir).norm();
                scene.pegs.push((*v + bis * 0.05, 0.045));
            }
        }

        // --- Placement: similarity frame→q, with mirroring for left hands.
        let left = id.side() == HandSide::Left;
        let (c, s) = (rot.cos(), rot.sin());
        // Out-of-plane tilt as a perspective term (focal length = frame width):
        // q = M·u / (1 + g·u) with u = p − t, and its exact inverse u = v / (1 − g·v), v = M⁻¹q.
        let tilt = r.range(0.0, o.max_tilt_deg).to_radians().tan() / w as f32;
        let tilt_dir = r.range(0.0, std::f32::consts::TAU);
        let gt = v2(tilt_dir.cos(), tilt_dir.sin()) * tilt;
        let to_frame_q = |q: V2, t: V2| -> V2 {
            let q = if left { v2(-q.x, q.y) } else { q };
            let v = q.rot(c, s) * scale;
            t + v * (1.0 / (1.0 - gt.dot(v)))
        };
        let centre = v2(w as f32 * 0.5, h as f32 * 0.5);
        let anchor = v2(0.0, -0.3);
        let mut t = centre - to_frame_q(anchor, v2(0.0, 0.0));
        let mut valleys = [[0.0f32; 2]; 3];
        let mut valley_axes = [[0.0f32; 2]; 3];
        let mut roi = RoiSquare {
            corners: [[0.0; 2]; 4],
            side_px: 0.0,
            to_frame: [[0.0; 3]; 2],
        };
        let mut in_frame = false;
        let mut palm_center = [0.0; 2];
        for attempt in 0..10 {
            let off = if attempt < 9 {
                v2(
                    r.range(-1.0, 1.0) * o.max_translation_frac * w as f32,
                    r.range(-1.0, 1.0) * o.max_translation_frac * h as f32,
                )
            } else {
                v2(0.0, 0.0)
            };
            let tt = centre - to_frame_q(anchor, v2(0.0, 0.0)) + off;
            let vf: Vec<V2> = valleys_h
                .iter()
                .map(|&p| to_frame_q(scene.unstretch(p), tt))
                .collect();
            let pc = to_frame_q(scene.unstretch(v2(0.0, 0.0)), tt);
            let rq = roi_from(vf[0], vf[2], pc);
            let inside = |p: [f32; 2]| {
                p[0] >= 2.0 && p[1] >= 2.0 && p[0] <= w as f32 - 2.0 && p[1] <= h as f32 - 2.0
            };
            let ok = vf.iter().all(|p| inside([p.x, p.y])) && rq.corners.iter().all(|&p| inside(p));
            t = tt;
            valleys = [[vf[0].x, vf[0].y], [vf[1].x, vf[1].y], [vf[2].x, vf[2].y]];
            for (i, v) in valleys_h.iter().enumerate() {
                // The valley maximises ⟨bis, p⟩ over the gap in hand space; in the frame it
                // maximises ⟨J⁻ᵀ·bis, x⟩, J = ∂frame/∂hand at the valley (finite differences):
                // with stretch and tilt that is not J·bis.
                let bis = (scene.digits[i].dir + scene.digits[i + 1].dir).norm();
                let e = 1e-3;
                let jx = (to_frame_q(scene.unstretch(*v + v2(e, 0.0)), tt) - vf[i]) * (1.0 / e);
                let jy = (to_frame_q(scene.unstretch(*v + v2(0.0, e)), tt) - vf[i]) * (1.0 / e);
                // J = [jx jy] (columns); J⁻ᵀ·b ∝ (b.x·(jy.y, −jy.x) + b.y·(−jx.y, jx.x)) / det,
                // the sign of det keeps the direction (mirrored left hands have det < 0).
                let det = jx.x * jy.y - jy.x * jx.y;
                let a = v2(bis.x * jy.y - bis.y * jx.y, -bis.x * jy.x + bis.y * jx.x) * (1.0 / det);
                let a = a * (1.0 / a.len());
                valley_axes[i] = [a.x, a.y];
            }
            roi = rq;
            in_frame = ok;
            palm_center = [pc.x, pc.y];
            if ok {
                break;
            }
        }
        // frame → q: q = R(-rot)(p - t)/scale, then mirror.
        let inv_s = 1.0 / scale;
        let mx = if left { -1.0 } else { 1.0 };
        let a11 = c * inv_s * mx;
        let a12 = s * inv_s * mx;
        let a21 = -s * inv_s;
        let a22 = c * inv_s;
        let pix = inv_s;

        // --- Photometry.
        let g_ang = r.range(0.0, std::f32::consts::TAU);
        let g_mag = r.range(0.0, o.max_illumination_gradient);
        let diag = ((w * w + h * h) as f32).sqrt() * 0.5;
        let (gvx, gvy) = (g_ang.cos() * g_mag / diag, g_ang.sin() * g_mag / diag);
        let gn_ang = r.range(0.0, std::f32::consts::TAU);
        let gn_mag = r.range(0.0, o.max_illumination_gradient);
        let (gnx, gny) = (gn_ang.cos() * gn_mag / diag, gn_ang.sin() * gn_mag / diag);
        let vig_v = r.range(0.05, 0.2);
        let vig_n = r.range(0.55, 0.9);
        let nir_centre = centre + v2(r.normal() * 0.05 * w as f32, r.normal() * 0.05 * h as f32);
        let gain_v = r.range(o.gain[0], o.gain[1]);
        let gamma_v = r.range(o.gamma[0], o.gamma[1]);
        let gain_n = r.range(o.gain[0], o.gain[1]);
        let gamma_n = r.range(o.gamma[0], o.gamma[1]);
        let defocus = if r.chance(o.defocus_probability) && o.max_defocus_sigma_px > 0.0 {
            r.range(0.3 * o.max_defocus_sigma_px, o.max_defocus_sigma_px)
        } else {
            0.0
        };
        let motion = if r.chance(o.motion_blur_probability) && o.max_motion_blur_px > 0.0 {
            let len = r.range(0.3 * o.max_motion_blur_px, o.max_motion_blur_px);
            let ang = r.range(0.0, std::f32::consts::TAU);
            v2(ang.cos(), ang.sin()) * len
        } else {
            v2(0.0, 0.0)
        };
        let crease_k = r.range(0.8, 1.1);
        let skin = skin_rgb(id.skin_tone());
        let nir_level = r.range(0.72, 0.9);
        let noise_seed = r.next_u64();
        scene.skin = skin;
        scene.crease_k = crease_k;
        scene.nir_level = nir_level;

        // Background grid (16 px cells): low-frequency texture, optional edge.
        let cell = 16usize;
        let (gw, gh) = (w / cell + 2, h / cell + 2);
        let mut bg = vec![[0.0f32; 7]; gw * gh];
        // A straight edge across the background (desk, monitor, shadow): (active, slope,
        // offset px, brightness factor), evaluated per pixel.
        let bg_edge: (bool, f32, f32, f32);
        {
            let textured = o.background == Background::TexturedDark;
            let base = if textured {
                r.range(0.03, 0.14)
            } else {
                r.range(0.01, 0.03)
            };
            let tint = [
                1.0 + 0.15 * r.normal(),
                1.0 + 0.1 * r.normal(),
                1.0 + 0.15 * r.normal(),
            ];
            let nb = if textured {
                r.range(0.015, 0.05)
            } else {
                r.range(0.005, 0.015)
            };
            let amp = if textured { base * 0.8 } else { base * 0.2 };
            let edge = textured && r.chance(0.6);
            let (ea, eo, ek) = (
                r.range(-0.4, 0.4),
                r.range(0.55, 0.95) * h as f32,
                r.range(0.6, 2.5),
            );
            bg_edge = (edge, ea, eo, ek);
            let mut n1: Vec<f32> = (0..gw * gh).map(|_| r.normal()).collect();
            box_blur3(&mut n1, gw, gh, 1.2);
            let sd = (n1.iter().map(|x| x * x).sum::<f32>() / n1.len() as f32)
                .sqrt()
                .max(1e-6);
            // Per-capture crease visibility field: palm flexion and light direction make creases
            // look stronger in some places and weaker in others from one capture to the next.
            let mut n2: Vec<f32> = (0..gw * gh).map(|_| r.normal()).collect();
            box_blur3(&mut n2, gw, gh, 2.5);
            let sd2 = (n2.iter().map(|x| x * x).sum::<f32>() / n2.len() as f32)
                .sqrt()
                .max(1e-6);
            let m_amp = r.range(0.15, 0.35);
            for gy in 0..gh {
                for gx in 0..gw {
                    let v = (base + amp * n1[gy * gw + gx] / sd * 0.5).max(0.002);
                    // Illumination at the node: gradient and vignetting, both spectra.
                    let (fx, fy) = ((gx * cell) as f32, (gy * cell) as f32);
                    let (dx, dy) = (fx - centre.x, fy - centre.y);
                    let r2 = (dx * dx + dy * dy) / (diag * diag);
                    let lv = (1.0 + gvx * dx + gvy * dy) * (1.0 - vig_v * r2);
                    let (ndx, ndy) = (fx - nir_centre.x, fy - nir_centre.y);
                    let rn2 = (ndx * ndx + ndy * ndy) / (diag * diag);
                    let ln = (1.0 + gnx * dx + gny * dy) * (1.0 - vig_n * rn2);
                    bg[gy * gw + gx] = [
                        v * tint[0],
                        v * tint[1],
                        v * tint[2],
                        nb * (1.0 + 0.3 * n1[gy * gw + gx] / sd),
                        (1.0 + m_amp * n2[gy * gw + gx] / sd2).clamp(0.4, 1.6),
                        lv,
                        ln,
                    ];
                }
            }
        }

        // The grid interpolated to every pixel row (bilinear = rows first, then along x).
        let mut rowgrid = vec![[0.0f32; 7]; h * gw];
        for y in 0..h {
            let gyf = (y as f32 + 0.5) / cell as f32;
            let gy0 = gyf as usize;
            let gfy = gyf - gy0 as f32;
            for gx in 0..gw {
                let (a, b) = (bg[gy0 * gw + gx], bg[(gy0 + 1) * gw + gx]);
                rowgrid[y * gw + gx] = std::array::from_fn(|k| a[k] + (b[k] - a[k]) * gfy);
            }
        }

        // --- Per-pixel rendering.
        let n = w * h;
        // The colour channels are kept only when something needs them (colour output, or a blur
        // that runs per channel); otherwise the pixel loop stores the visible luminance, the same
        // expression the sensor step would compute from them, and saves two frame buffers.
        let channels = o.color || motion.len() >= 1.0 || defocus > 0.0;
        let cn = if channels { n } else { 0 };
        let mut pr = vec![0.0f32; cn];
        let mut pg = vec![0.0f32; cn];
        let mut pb = vec![0.0f32; cn];
        let mut pl = vec![0.0f32; n - cn];
        let mut pn = vec![0.0f32; n];
        let mut mask = vec![0u8; n];
        let block = 8usize;
        let blk_r = block as f32 * 0.75 * pix * 1.6; // margin for stretch and perspective
        let obj_margin = if scene.sleeve.is_some() || scene.bracelet.is_some() {
            0.09
        } else {
            0.0
        };
        let to_q = |x: f32, y: f32| {
            let (ux, uy) = (x - t.x, y - t.y);
            let k = 1.0 / (1.0 + gt.x * ux + gt.y * uy);
            v2((a11 * ux + a12 * uy) * k, (a21 * ux + a22 * uy) * k)
        };
        // Per-column invariants of the background interpolation and edge (the same values the
        // per-pixel expressions give: each depends on x only).
        let gfx_col: Vec<f32> = (0..w)
            .map(|x| {
                let gxf = (x as f32 + 0.5) / cell as f32;
                gxf - (gxf as usize) as f32
            })
            .collect();
        let edge_col: Vec<f32> = if bg_edge.0 {
            (0..w)
                .map(|x| bg_edge.2 + bg_edge.1 * ((x as f32 + 0.5) - w as f32 * 0.5))
                .collect()
        } else {
            Vec::new()
        };
        // One band of `block` rows at a time, structure of arrays: background for whole rows
        // (vectorised), shading of the pixels near the hand block by block, then illumination
        // for whole rows (vectorised).
        let mut band = [
            vec![0.0f32; block * w],
            vec![0.0f32; block * w],
            vec![0.0f32; block * w],
            vec![0.0f32; block * w],
        ];
        // Whole block rows go through `shade_lanes`, a block cut by the frame's right edge
        // pixel by pixel.
        let lanes_ok = block == LANES;
        for by in (0..h).step_by(block) {
            let bh = block.min(h - by);
            // Background.
            for yy in 0..bh {
                let y = by + yy;
                let fy = y as f32 + 0.5;
                let rg = &rowgrid[y * gw..(y + 1) * gw];
                let [b0, b1, b2, b3] = &mut band;
                let (b0, b1, b2, b3) = (
                    &mut b0[yy * w..(yy + 1) * w],
                    &mut b1[yy * w..(yy + 1) * w],
                    &mut b2[yy * w..(yy + 1) * w],
                    &mut b3[yy * w..(yy + 1) * w],
                );
                for (cx, ((((o0, o1), o2), o3), gf)) in b0
                    .chunks_mut(cell)
                    .zip(b1.chunks_mut(cell))
                    .zip(b2.chunks_mut(cell))
                    .zip(b3.chunks_mut(cell))
                    .zip(gfx_col.chunks(cell))
                    .enumerate()
                {
                    let (ga, gb) = (&rg[cx], &rg[cx + 1]);
                    let d: [f32; 4] = std::array::from_fn(|k| gb[k] - ga[k]);
                    for (i, &g) in gf.iter().enumerate() {
                        o0[i] = ga[0] + d[0] * g;
                        o1[i] = ga[1] + d[1] * g;
                        o2[i] = ga[2] + d[2] * g;
                        o3[i] = ga[3] + d[3] * g;
                    }
                }
                if bg_edge.0 {
                    let ek = bg_edge.3 - 1.0;
                    for (((o0, o1), o2), &ec) in b0
                        .iter_mut()
                        .zip(b1.iter_mut())
                        .zip(b2.iter_mut())
                        .zip(&edge_col)
                    {
                        let e = fy - ec;
                        let f = 1.0 + ek * smoothstep(-1.5, 1.5, e);
                        *o0 *= f;
                        *o1 *= f;
                        *o2 *= f;
                    }
                }
            }
            // Shading.
            for bx in (0..w).step_by(block) {
                let bcx = (bx as f32 + block as f32 * 0.5).min(w as f32);
                let bcy = (by as f32 + block as f32 * 0.5).min(h as f32);
                let hc = scene.stretch(to_q(bcx, bcy));
                let hit_c = scene.sdf(hc);
                let mut dmin = hit_c.d - obj_margin;
                // Digits that can influence any pixel of this block.
                let mut active = 0u8;
                for (k, g) in scene.digits.iter().enumerate() {
                    let (dk, _) = sd_capsule(hc, g.a, g.ab, g.inv_len2, g.ra, g.rb);
                    let kk = if k == 4 { K_THUMB } else { K_FINGER };
                    if dk - blk_r < hit_c.d_body + blk_r + kk + 0.02 {
                        active |= 1 << k;
                    }
                }
                for &(pc, pr_) in &scene.pegs {
                    dmin = dmin.min((hc - pc).len() - pr_);
                }
                let empty = dmin > blk_r + 2.0 * pix;
                if empty {
                    continue;
                }
                // A block on the silhouette: its 4×4 quarters clear of the hand (and of pegs,
                // bracelet and sleeve) by the same test at half the radius skip the shading too.
                let mut quarter_empty = [false; 4];
                if dmin > -(blk_r + 2.0 * pix) {
                    for (k, qe) in quarter_empty.iter_mut().enumerate() {
                        let qx = (bx as f32 + (2 + 4 * (k % 2)) as f32).min(w as f32);
                        let qy = (by as f32 + (2 + 4 * (k / 2)) as f32).min(h as f32);
                        let hq = scene.stretch(to_q(qx, qy));
                        let mut dq = scene.sdf(hq).d - obj_margin;
                        for &(pc, pr_) in &scene.pegs {
                            dq = dq.min((hq - pc).len() - pr_);
                        }
                        *qe = dq > 0.5 * blk_r + 2.0 * pix;
                    }
                }
                let cx = bx / cell;
                for yy in 0..bh {
                    let y = by + yy;
                    let fy = y as f32 + 0.5;
                    let rg = &rowgrid[y * gw..(y + 1) * gw];
                    let (ga, gb) = (&rg[cx], &rg[cx + 1]);
                    let qrow = &quarter_empty[(yy / 4) * 2..(yy / 4) * 2 + 2];
                    if qrow[0] && qrow[1] {
                        continue;
                    }
                    if lanes_ok && bx + LANES <= w {
                        // A whole block row at once.
                        let (mut hx, mut hy, mut cm) =
                            ([0.0f32; LANES], [0.0; LANES], [0.0; LANES]);
                        let mut col = [[0.0f32; LANES]; 4];
                        for l in 0..LANES {
                            let x = bx + l;
                            let hp = scene.stretch(to_q(x as f32 + 0.5, fy));
                            (hx[l], hy[l]) = (hp.x, hp.y);
                            cm[l] = ga[4] + (gb[4] - ga[4]) * gfx_col[x];
                        }
                        let j0 = yy * w + bx;
                        for (c, b) in col.iter_mut().zip(&band) {
                            c.copy_from_slice(&b[j0..j0 + LANES]);
                        }
                        let a_skin = shade_lanes(&scene, &hx, &hy, active, pix, &cm, &mut col);
                        for l in 0..LANES {
                            if qrow[l / 4] {
                                continue;
                            }
                            mask[y * w + bx + l] = (a_skin[l] * 255.0 + 0.5) as u8;
                            for (b, c) in band.iter_mut().zip(&col) {
                                b[j0 + l] = c[l];
                            }
                        }
                        continue;
                    }
                    for x in bx..(bx + block).min(w) {
                        if quarter_empty[(yy / 4) * 2 + (x - bx) / 4] {
                            continue;
                        }
                        let fx = x as f32 + 0.5;
                        let gfx = gfx_col[x];
                        let j = yy * w + x;
                        let mut col = [band[0][j], band[1][j], band[2][j], band[3][j]];
                        let cm = ga[4] + (gb[4] - ga[4]) * gfx;
                        let hp = scene.stretch(to_q(fx, fy));
                        let a_skin = shade_pixel(&scene, hp, active, pix, cm, &mut col);
                        mask[y * w + x] = (a_skin * 255.0 + 0.5) as u8;
                        for (b, c) in band.iter_mut().zip(col) {
                            b[j] = c;
                        }
                    }
                }
            }
            // Illumination.
            for yy in 0..bh {
                let y = by + yy;
                let rg = &rowgrid[y * gw..(y + 1) * gw];
                let row = y * w..(y + 1) * w;
                let s = yy * w..(yy + 1) * w;
                let (b0, b1, b2, b3) = (
                    &band[0][s.clone()],
                    &band[1][s.clone()],
                    &band[2][s.clone()],
                    &band[3][s],
                );
                let onir = &mut pn[row.clone()];
                for (cx, (((((i0, i1), i2), i3), gf), on)) in b0
                    .chunks(cell)
                    .zip(b1.chunks(cell))
                    .zip(b2.chunks(cell))
                    .zip(b3.chunks(cell))
                    .zip(gfx_col.chunks(cell))
                    .zip(onir.chunks_mut(cell))
                    .enumerate()
                {
                    let (ga, gb) = (&rg[cx], &rg[cx + 1]);
                    let (dv, dn) = (gb[5] - ga[5], gb[6] - ga[6]);
                    let o = cx * cell;
                    if channels {
                        let (orr, og, ob) = (
                            &mut pr[row.start + o..row.start + o + gf.len()],
                            &mut pg[row.start + o..row.start + o + gf.len()],
                            &mut pb[row.start + o..row.start + o + gf.len()],
                        );
                        for i in 0..gf.len() {
                            let lv = ga[5] + dv * gf[i];
                            orr[i] = i0[i] * lv;
                            og[i] = i1[i] * lv;
                            ob[i] = i2[i] * lv;
                        }
                    } else {
                        let ol = &mut pl[row.start + o..row.start + o + gf.len()];
                        for i in 0..gf.len() {
                            let lv = ga[5] + dv * gf[i];
                            ol[i] =
                                0.299 * (i0[i] * lv) + 0.587 * (i1[i] * lv) + 0.114 * (i2[i] * lv);
                        }
                    }
                    for i in 0..gf.len() {
                        let ln = ga[6] + dn * gf[i];
                        on[i] = i3[i] * ln;
                    }
                }
            }
        }
        // --- Motion blur (hand moving during the exposure), then optics: defocus (both),
        // tissue/optics softness (NIR).
        if motion.len() >= 1.0 {
            for p in [&mut pr, &mut pg, &mut pb, &mut pn] {
                motion_blur(p, w, h, motion);
            }
        }
        if defocus > 0.0 {
            for p in [&mut pr, &mut pg, &mut pb] {
                box_blur3(p, w, h, defocus);
            }
        }
        if defocus > 0.0 {
            box_blur3(&mut pn, w, h, (defocus * defocus + 0.8 * 0.8).sqrt());
        } else {
            // NIR optics and tissue are always a little soft: two 3×3 boxes (σ ≈ 1.15 px).
            box_blur_once(&mut pn, w, h);
            box_blur_once(&mut pn, w, h);
        }

        // --- Sensor: gain, gamma, noise, quantisation.
        let lut_v = Lut::new(gain_v, gamma_v, o.noise_sigma);
        let lut_n = Lut::new(gain_n, gamma_n, o.noise_sigma * 1.2);
        let mut vis = vec![0u8; n];
        let mut nir = vec![0u8; n];
        let mut rgb = if o.color {
            vec![0u8; 3 * n]
        } else {
            Vec::new()
        };
        for i in 0..n {
            let b1 = mix64(noise_seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let lum = if channels {
                0.299 * pr[i] + 0.587 * pg[i] + 0.114 * pb[i]
            } else {
                pl[i]
            };
            vis[i] = lut_v.apply(lum, tri(b1));
            nir[i] = lut_n.apply(pn[i], tri(b1 >> 32));
            if o.color {
                let b2 = mix64(b1);
                // Mostly luminance noise, a little chroma noise.
                let zl = 0.85 * tri(b1);
                rgb[3 * i] = lut_v.apply(pr[i], zl + 0.5 * tri(b2));
                rgb[3 * i + 1] = lut_v.apply(pg[i], zl + 0.5 * tri(b2 >> 21));
                rgb[3 * i + 2] = lut_v.apply(pb[i], zl + 0.5 * tri(b2 >> 42));
            }
        }
        let (wu, hu) = (w as u32, h as u32);
        Capture {
            visible: GrayImage::from_raw(wu, hu, vis).expect("buffer size matches"),
            rgb: o
                .color
                .then(|| RgbImage::from_raw(wu, hu, rgb).expect("buffer size matches")),
            nir: GrayImage::from_raw(wu, hu, nir).expect("buffer size matches"),
            mask: GrayImage::from_raw(wu, hu, mask).expect("buffer size matches"),
            truth: GroundTruth {
                identity: id.seed(),
                sample,
                side: id.side(),
                valleys,
                valley_axes,
                in_frame,
                roi,
                palm_center,
                palm_width_px: scale,
                rotation_deg: rot.to_degrees(),
                finger_spread: spread,
                defocus_sigma_px: defocus,
                motion_blur_px: [motion.x, motion.y],
                accessories: Accessories {
                    ring: ring.is_some(),
                    bracelet: scene.bracelet.is_some(),
                    sleeve: scene.sleeve.is_some(),
                    pegs: o.contact_pegs,
                },
            },
        }
    }
}

/// Averages each pixel over the segment `p − d/2 … p + d/2` (nearest-pixel taps, one per
/// pixel of length, edges clamped).
fn motion_blur(data: &mut [f32], w: usize, h: usize, d: V2) {
    let n = (d.len().ceil() as usize + 1).clamp(2, 65);
    let src = data.to_vec();
    let offs: Vec<(isize, isize)> = (0..n)
        .map(|k| {
            let f = k as f32 / (n - 1) as f32 - 0.5;
            ((d.x * f).round() as isize, (d.y * f).round() as isize)
        })
        .collect();
    let norm = 1.0 / n as f32;
    // Per row, tap after tap (the same sum order per pixel as tap-inner loops), so the
    // unclamped middle of each row vectorises.
    let mut acc = vec![0.0f32; w];
    for y in 0..h {
        acc.fill(0.0);
        for &(ox, oy) in &offs {
            let yy = (y as isize + oy).clamp(0, h as isize - 1) as usize;
            let srow = &src[yy * w..(yy + 1) * w];
            let lo = (-ox).clamp(0, w as isize) as usize;
            let hi = (w as isize - ox).clamp(0, w as isize) as usize;
            for a in &mut acc[..lo] {
                *a += srow[0];
            }
            if hi > lo {
                let s0 = (lo as isize + ox) as usize;
                for (a, v) in acc[lo..hi].iter_mut().zip(&srow[s0..s0 + (hi - lo)]) {
                    *a += v;
                }
            }
            for a in &mut acc[hi.max(lo)..] {
                *a += srow[w - 1];
            }
        }
        for (o, a) in data[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *o = a * norm;
        }
    }
}

/// Triangular deviate with unit variance from the low 21 bits of `b`.
#[inline]
fn tri(b: u64) -> f32 {
    let u1 = (b & 0x3FF) as f32;
    let u2 = ((b >> 10) & 0x7FF) as f32 * 0.5;
    ((u1 + u2) * (1.0 / 1024.0) - 1.0) * 2.449_489_7
}

/// Gain + gamma + signal-dependent noise, tabulated: `(value, noise σ)` per entry. A fixed-size
/// table so the clamped index needs no bounds check in the per-pixel loop.
struct Lut {
    tab: Box<[[f32; 2]; LUT_N + 1]>,
}

const LUT_N: usize = 2048;
const LUT_MAX: f32 = 2.0;

impl Lut {
    fn new(gain: f32, gamma: f32, noise: f32) -> Lut {
        let mut tab = Box::new([[0.0f32; 2]; LUT_N + 1]);
        for (i, e) in tab.iter_mut().enumerate() {
            let v = (i as f32 / LUT_N as f32 * LUT_MAX * gain).clamp(0.0, 1.0);
            let o = 255.0 * v.powf(gamma);
            *e = [o, noise * (0.45 + 0.55 * (o / 128.0).sqrt())];
        }
        Lut { tab }
    }

    #[inline]
    fn apply(&self, v: f32, z: f32) -> u8 {
        let i = ((v * (LUT_N as f32 / LUT_MAX)) as usize).min(LUT_N);
        let [val, sig] = self.tab[i];
        (val + sig * z + 0.5).clamp(0.0, 255.0) as u8
    }
}

/// The unit ROI square from the two outer valleys and the palm centre (frame pixels).
fn roi_from(k1: V2, k2: V2, palm: V2) -> RoiSquare {
    let d = (k2 - k1).len().max(1e-3);
    let u = (k2 - k1) * (1.0 / d);
    let mid = (k1 + k2) * 0.5;
    let mut nrm = u.perp();
    if nrm.dot(palm - mid) < 0.0 {
        nrm = -nrm;
    }
    let c0 = mid - u * (0.5 * d) + nrm * (0.25 * d);
    let c1 = c0 + u * d;
    let c2 = c1 + nrm * d;
    let c3 = c0 + nrm * d;
    RoiSquare {
        corners: [[c0.x, c0.y], [c1.x, c1.y], [c2.x, c2.y], [c3.x, c3.y]],
        side_px: d,
        to_frame: [[u.x * d, nrm.x * d, c0.x], [u.y * d, nrm.y * d, c0.y]],
    }
}

/// Shades one pixel at posed hand point `hp` over the background colour in `col`
/// (`[r, g, b, nir]`, linear); returns skin coverage. Always inlined, so it is compiled with
/// the caller's target features.
#[inline(always)]
/// `cm` modulates crease visibility (per-capture field).
fn shade_pixel(sc: &Scene<'_>, hp: V2, active: u8, pix: f32, cm: f32, col: &mut [f32; 4]) -> f32 {
    let (skin, crease_k, nir_level) = (sc.skin, sc.crease_k, sc.nir_level);
    shade_pegs(sc, hp, pix, col);
    let hit = sc.sdf_masked(hp, active);
    let mut a = (0.5 - hit.d / pix).clamp(0.0, 1.0);
    let hh = sc.id.shape.half_h;
    if let Some(end) = sc.arm_end {
        a *= smoothstep(end, end - 0.3, hp.y);
    }
    let mut a_skin = a;
    if a > 0.0 {
        let g = &sc.digits[hit.j];
        let k = if hit.j == 4 { K_THUMB } else { K_FINGER };
        let wf = smoothstep(-k, k, hit.d_body - hit.dj);
        // Back to the rest pose for texturing.
        let rest_f = g.a + (hp - g.a).rot(g.rc, g.rs);
        let rest = hp + (rest_f - hp) * wf;
        let tx = sc.id.tex.sample(rest);
        let c0 = tx[0] * (1.0 / 255.0);
        // Weak creases vary more between captures than deep ones.
        let crease = c0 * crease_k * (cm + (1.0 - cm) * c0).clamp(0.2, 1.8);
        let vein = tx[1] * (1.0 / 255.0);
        let red = tx[2] * (1.0 / 160.0);
        let fine = (tx[3] - 128.0) * (1.0 / 38.0);
        // Cylinder-like shading from depth inside the silhouette.
        let rad = 0.2 + (g.ra + (g.rb - g.ra) * hit.tj - 0.2) * wf;
        let di = (-hit.d / rad).clamp(0.0, 1.0);
        let z = (1.0 - (1.0 - di) * (1.0 - di)).sqrt();
        let sv = 0.42 + 0.58 * z;
        // Fine texture, and low-frequency relief: thenar/hypothenar bulges are redder and
        // brighter, the palm hollow darker.
        let alb = (1.0 + 0.01 * fine) * (0.97 + 0.07 * red.min(1.2));
        let mut c = [
            skin[0] * (1.0 + 0.05 * red) * alb * sv * (1.0 - 0.40 * crease) * (1.0 - 0.03 * vein),
            skin[1] * (1.0 - 0.08 * red) * alb * sv * (1.0 - 0.50 * crease) * (1.0 - 0.02 * vein),
            skin[2] * (1.0 - 0.07 * red) * alb * sv * (1.0 - 0.50 * crease) * (1.0 + 0.01 * vein),
            nir_level
                * (0.3 + 0.7 * z)
                * (1.0 - 0.2 * vein - 0.12 * crease)
                * (1.0 + 0.015 * fine)
                * (1.0 - 0.4 * wf * smoothstep(0.15, 0.9, hit.tj))
                * (0.45 + 0.55 * smoothstep(hh + 1.5, hh + 0.3, hp.y)),
        ];
        if let Some((s0, s1)) = g.ring {
            let s = hit.tj * g.len;
            if s > s0 && s < s1 && wf > 0.5 {
                let zz = z * z * z;
                let m = 0.25 + 0.6 * zz + 0.6 * smoothstep(0.85, 1.0, z);
                c = [0.85 * m, 0.7 * m, 0.4 * m, 0.8 * m];
                a_skin *= 0.0;
            }
        }
        for k in 0..4 {
            col[k] += (c[k] - col[k]) * a;
        }
    }
    shade_accessories(sc, hp, pix, col, a_skin)
}

/// Contact-reader pegs (behind the hand): the first step of [`shade_pixel`].
#[inline(always)]
fn shade_pegs(sc: &Scene<'_>, hp: V2, pix: f32, col: &mut [f32; 4]) {
    for &(pc, pr) in &sc.pegs {
        let dd = (hp - pc).len() - pr;
        let a = (0.5 - dd / pix).clamp(0.0, 1.0);
        if a > 0.0 {
            let rr = ((hp - pc).len() / pr).min(1.0);
            let v = 0.55 + 0.25 * (1.0 - rr * rr);
            let pc_ = [v * 0.95, v * 0.95, v, v * 0.8];
            for k in 0..4 {
                col[k] += (pc_[k] - col[k]) * a;
            }
        }
    }
}

/// Bracelet and sleeve over the shaded pixel (the last step of [`shade_pixel`]); returns the
/// skin coverage left.
#[inline(always)]
fn shade_accessories(sc: &Scene<'_>, hp: V2, pix: f32, col: &mut [f32; 4], mut a_skin: f32) -> f32 {
    // Bracelet and sleeve (over the hand and slightly wider than the arm).
    if let Some((y0, bw, bc, freq)) = sc.bracelet
        && hp.y > y0
        && hp.y < y0 + bw
    {
        let d = sd_polygon(&sc.id.shape.arm, hp) - 0.03;
        let ab = (0.5 - d / pix).clamp(0.0, 1.0);
        if ab > 0.0 {
            let m = 0.6 + 0.4 * (hp.x * freq).cos().abs();
            let c = [bc[0] * m, bc[1] * m, bc[2] * m, 0.35 * m];
            for k in 0..4 {
                col[k] += (c[k] - col[k]) * ab;
            }
            a_skin *= 1.0 - ab;
        }
    }
    // The sleeve edge `ys` stays within y0 ± 0.025: far above it (de > 1 for sure) the edge,
    // and its `sin`, are not needed.
    if let Some((y0, ph, cc, nirv, fr)) = sc.sleeve
        && hp.y >= y0 - 0.03 - 2.0 * pix
    {
        let ys = y0 + 0.025 * (hp.x * fr + ph).sin();
        let de = (ys - hp.y) / pix; // > 0 above the sleeve edge
        if de < 1.0 {
            let d = sd_polygon(&sc.id.shape.arm, hp) - 0.08;
            let asl = (0.5 - d / pix).clamp(0.0, 1.0)
                * (0.5 - de)
                    .clamp(0.0, 1.0)
                    .max(if de < -0.5 { 1.0 } else { 0.0 });
            if asl > 0.0 {
                let fold = 0.7 + 0.3 * (hp.x * 13.0 + hp.y * 4.0 + ph).sin();
                let c = [cc[0] * fold, cc[1] * fold, cc[2] * fold, nirv * fold];
                for k in 0..4 {
                    col[k] += (c[k] - col[k]) * asl;
                }
                a_skin *= 1.0 - asl;
            }
        }
    }
    a_skin
}

/// Pixels per batch in [`shade_lanes`]: one row of a shading block.
const LANES: usize = 8;

/// [`smin`] without the early return (both branches computed, one selected): the same value.
#[inline(always)]
fn smin_select(a: f32, b: f32, k: f32) -> f32 {
    let m = a.min(b);
    let ad = (a - b).abs();
    let h = (k - ad).max(0.0) / k;
    let r = m - h * h * k * 0.25;
    if ad >= k { m } else { r }
}

/// [`shade_pixel`] for [`LANES`] pixels at once, structure of arrays so the arithmetic
/// vectorises: per pixel the same operations in the same order (texture and body-distance
/// lookups, pegs, rings, bracelet and sleeve per pixel).
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn shade_lanes(
    sc: &Scene<'_>,
    hx: &[f32; LANES],
    hy: &[f32; LANES],
    active: u8,
    pix: f32,
    cm: &[f32; LANES],
    col: &mut [[f32; LANES]; 4],
) -> [f32; LANES] {
    let (skin, crease_k, nir_level) = (sc.skin, sc.crease_k, sc.nir_level);
    let sh = &sc.id.shape;
    if !sc.pegs.is_empty() {
        for l in 0..LANES {
            let mut cl = [col[0][l], col[1][l], col[2][l], col[3][l]];
            shade_pegs(sc, v2(hx[l], hy[l]), pix, &mut cl);
            for k in 0..4 {
                col[k][l] = cl[k];
            }
        }
    }
    // Signed distance (Scene::sdf_masked).
    let mut d_body = [0.0f32; LANES];
    for l in 0..LANES {
        d_body[l] = sc.id.body.sample(sh, v2(hx[l], hy[l]));
    }
    if let Some(end) = sc.arm_end {
        for l in 0..LANES {
            d_body[l] = d_body[l].max(hy[l] - end);
        }
    }
    let mut bd = [f32::MAX; LANES];
    let mut bj = [0usize; LANES];
    let mut bt = [0.0f32; LANES];
    for (i, g) in sc.digits[..4].iter().enumerate() {
        if active & (1 << i) == 0 {
            continue;
        }
        let mut di = [0.0f32; LANES];
        let mut ti = [0.0f32; LANES];
        for l in 0..LANES {
            (di[l], ti[l]) = sd_capsule(v2(hx[l], hy[l]), g.a, g.ab, g.inv_len2, g.ra, g.rb);
        }
        if let Some((s0, s1)) = g.ring {
            for l in 0..LANES {
                let s = ti[l] * g.len;
                if s > s0 && s < s1 {
                    di[l] -= 0.012;
                }
            }
        }
        for l in 0..LANES {
            if di[l] < bd[l] {
                bd[l] = di[l];
                bj[l] = i;
                bt[l] = ti[l];
            }
        }
    }
    let mut d = [0.0f32; LANES];
    for l in 0..LANES {
        d[l] = smin_select(d_body[l], bd[l], K_FINGER);
    }
    if active & 0x10 != 0 {
        let g = &sc.digits[4];
        for l in 0..LANES {
            let (dt, tt) = sd_capsule(v2(hx[l], hy[l]), g.a, g.ab, g.inv_len2, g.ra, g.rb);
            d[l] = smin_select(d[l], dt, K_THUMB);
            if dt < bd[l] {
                bd[l] = dt;
                bj[l] = 4;
                bt[l] = tt;
            }
        }
    }
    // Coverage.
    let mut a = [0.0f32; LANES];
    for l in 0..LANES {
        a[l] = (0.5 - d[l] / pix).clamp(0.0, 1.0);
    }
    let hh = sh.half_h;
    if let Some(end) = sc.arm_end {
        for l in 0..LANES {
            a[l] *= smoothstep(end, end - 0.3, hy[l]);
        }
    }
    let mut a_skin = a;
    if a.iter().any(|&v| v > 0.0) {
        // The nearest digit's parameters per pixel.
        let (mut gax, mut gay, mut grc, mut grs) =
            ([0.0f32; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
        let (mut gra, mut grb, mut kk) = ([0.0f32; LANES], [0.0; LANES], [0.0; LANES]);
        for l in 0..LANES {
            let g = &sc.digits[bj[l]];
            (gax[l], gay[l], grc[l], grs[l], gra[l], grb[l]) =
                (g.a.x, g.a.y, g.rc, g.rs, g.ra, g.rb);
            kk[l] = if bj[l] == 4 { K_THUMB } else { K_FINGER };
        }
        let mut wf = [0.0f32; LANES];
        let (mut rx, mut ry) = ([0.0f32; LANES], [0.0f32; LANES]);
        for l in 0..LANES {
            wf[l] = smoothstep(-kk[l], kk[l], d_body[l] - bd[l]);
            // Back to the rest pose for texturing.
            let hp = v2(hx[l], hy[l]);
            let ga = v2(gax[l], gay[l]);
            let rest_f = ga + (hp - ga).rot(grc[l], grs[l]);
            let rest = hp + (rest_f - hp) * wf[l];
            (rx[l], ry[l]) = (rest.x, rest.y);
        }
        let mut tx = [[0.0f32; LANES]; 4];
        for l in 0..LANES {
            let t = sc.id.tex.sample(v2(rx[l], ry[l]));
            for k in 0..4 {
                tx[k][l] = t[k];
            }
        }
        let mut c = [[0.0f32; LANES]; 4];
        let mut zs = [0.0f32; LANES];
        for l in 0..LANES {
            let c0 = tx[0][l] * (1.0 / 255.0);
            // Weak creases vary more between captures than deep ones.
            let crease = c0 * crease_k * (cm[l] + (1.0 - cm[l]) * c0).clamp(0.2, 1.8);
            let vein = tx[1][l] * (1.0 / 255.0);
            let red = tx[2][l] * (1.0 / 160.0);
            let fine = (tx[3][l] - 128.0) * (1.0 / 38.0);
            // Cylinder-like shading from depth inside the silhouette.
            let rad = 0.2 + (gra[l] + (grb[l] - gra[l]) * bt[l] - 0.2) * wf[l];
            let di = (-d[l] / rad).clamp(0.0, 1.0);
            let z = (1.0 - (1.0 - di) * (1.0 - di)).sqrt();
            zs[l] = z;
            let sv = 0.42 + 0.58 * z;
            let alb = (1.0 + 0.01 * fine) * (0.97 + 0.07 * red.min(1.2));
            c[0][l] = skin[0]
                * (1.0 + 0.05 * red)
                * alb
                * sv
                * (1.0 - 0.40 * crease)
                * (1.0 - 0.03 * vein);
            c[1][l] = skin[1]
                * (1.0 - 0.08 * red)
                * alb
                * sv
                * (1.0 - 0.50 * crease)
                * (1.0 - 0.02 * vein);
            c[2][l] = skin[2]
                * (1.0 - 0.07 * red)
                * alb
                * sv
                * (1.0 - 0.50 * crease)
                * (1.0 + 0.01 * vein);
            c[3][l] = nir_level
                * (0.3 + 0.7 * z)
                * (1.0 - 0.2 * vein - 0.12 * crease)
                * (1.0 + 0.015 * fine)
                * (1.0 - 0.4 * wf[l] * smoothstep(0.15, 0.9, bt[l]))
                * (0.45 + 0.55 * smoothstep(hh + 1.5, hh + 0.3, hy[l]));
        }
        if sc.digits.iter().any(|g| g.ring.is_some()) {
            for l in 0..LANES {
                let g = &sc.digits[bj[l]];
                if let Some((s0, s1)) = g.ring {
                    let s = bt[l] * g.len;
                    if s > s0 && s < s1 && wf[l] > 0.5 && a[l] > 0.0 {
                        let z = zs[l];
                        let zz = z * z * z;
                        let m = 0.25 + 0.6 * zz + 0.6 * smoothstep(0.85, 1.0, z);
                        [c[0][l], c[1][l], c[2][l], c[3][l]] =
                            [0.85 * m, 0.7 * m, 0.4 * m, 0.8 * m];
                        a_skin[l] *= 0.0;
                    }
                }
            }
        }
        for k in 0..4 {
            for l in 0..LANES {
                let v = col[k][l] + (c[k][l] - col[k][l]) * a[l];
                col[k][l] = if a[l] > 0.0 { v } else { col[k][l] };
            }
        }
    }
    if sc.bracelet.is_some() || sc.sleeve.is_some() {
        for l in 0..LANES {
            let mut cl = [col[0][l], col[1][l], col[2][l], col[3][l]];
            a_skin[l] = shade_accessories(sc, v2(hx[l], hy[l]), pix, &mut cl, a_skin[l]);
            for k in 0..4 {
                col[k][l] = cl[k];
            }
        }
    }
    a_skin
}

/// Captures over identities × samples, for tests and benchmarks. Each identity is rendered
/// once and reused for its samples.
#[derive(Debug)]
pub struct Dataset<'g> {
    generator: &'g Generator,
    identities: std::ops::Range<u64>,
    samples: u64,
    current: Option<Identity>,
    next_sample: u64,
}

impl<'g> Dataset<'g> {
    /// Every sample `0..samples_per_identity` of every identity seed in `identities`, identity
    /// by identity.
    pub fn new(
        generator: &'g Generator,
        identities: std::ops::Range<u64>,
        samples_per_identity: u64,
    ) -> Dataset<'g> {
        Dataset {
            generator,
            identities,
            samples: samples_per_identity,
            current: None,
            next_sample: 0,
        }
    }
}

impl Iterator for Dataset<'_> {
    type Item = Capture;

    fn next(&mut self) -> Option<Capture> {
        if self.samples == 0 {
            return None;
        }
        if self.current.is_none() || self.next_sample >= self.samples {
            let seed = self.identities.next()?;
            self.current = Some(Identity::from_seed(seed));
            self.next_sample = 0;
        }
        let id = self.current.as_ref().expect("set above");
        let c = self.generator.capture(id, self.next_sample);
        self.next_sample += 1;
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_follows_the_convention() {
        // Right hand, fingers up: k1 left, k2 right, palm below.
        let r = roi_from(v2(100.0, 100.0), v2(200.0, 100.0), v2(150.0, 250.0));
        assert_eq!(r.side_px, 100.0);
        assert_eq!(
            r.corners,
            [
                [100.0, 125.0],
                [200.0, 125.0],
                [200.0, 225.0],
                [100.0, 225.0]
            ]
        );
        assert_eq!(r.at(0.5, 0.5), [150.0, 175.0]);
        // Palm above the valley line: the square flips to that side.
        let r = roi_from(v2(100.0, 100.0), v2(200.0, 100.0), v2(150.0, -50.0));
        assert_eq!(r.corners[2], [200.0, -25.0]);
    }

    #[test]
    fn unstretch_inverts_stretch() {
        let id = Identity::from_seed(3);
        let sc = Scene {
            id: &id,
            digits: [Posed {
                a: v2(0.0, 0.0),
                ab: v2(0.0, -1.0),
                inv_len2: 1.0,
                len: 1.0,
                ra: 0.1,
                rb: 0.1,
                rc: 1.0,
                rs: 0.0,
                dir: v2(0.0, -1.0),
                ring: None,
            }; 5],
            arm_end: None,
            stretch: [0.05, -0.04, 0.02, -0.03],
            bracelet: None,
            sleeve: None,
            pegs: Vec::new(),
            skin: [0.0; 3],
            crease_k: 1.0,
            nir_level: 0.8,
        };
        for q in [v2(0.3, -0.7), v2(-0.5, 0.4), v2(0.0, 0.0)] {
            assert!((sc.unstretch(sc.stretch(q)) - q).len() < 1e-6);
        }
    }

    #[test]
    fn motion_blur_spreads_an_impulse_along_the_motion() {
        let (w, h) = (21, 21);
        let mut d = vec![0.0f32; w * h];
        d[10 * w + 10] = 1.0;
        motion_blur(&mut d, w, h, v2(4.0, 0.0));
        for x in 8..=12 {
            assert!(
                (d[10 * w + x] - 0.2).abs() < 1e-6,
                "x {x}: {}",
                d[10 * w + x]
            );
        }
        assert!((d.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(d[9 * w + 10], 0.0);
    }

    /// The dispatching `capture` (AVX2 build on x86-64 CPUs that have it) and the baseline
    /// build give the same pixels, including colour, blur, accessories and pegs.
    #[test]
    fn every_build_of_the_renderer_gives_the_same_pixels() {
        let opts = [
            CaptureOptions {
                width_px: 200,
                height_px: 150,
                color: true,
                max_rotation_deg: 180.0,
                defocus_probability: 0.5,
                motion_blur_probability: 0.5,
                ..CaptureOptions::default()
            },
            CaptureOptions {
                width_px: 203,
                height_px: 141,
                contact_pegs: true,
                ring_probability: 1.0,
                bracelet_probability: 1.0,
                sleeve_probability: 1.0,
                ..CaptureOptions::default()
            },
        ];
        for o in opts {
            let g = Generator::new(o).unwrap();
            for seed in [5u64, 6] {
                let id = Identity::from_seed(seed);
                for sample in 0..4 {
                    let (a, b) = (g.capture(&id, sample), g.capture_generic(&id, sample));
                    assert_eq!(a.visible, b.visible, "{seed}/{sample}");
                    assert_eq!(a.nir, b.nir, "{seed}/{sample}");
                    assert_eq!(a.mask, b.mask, "{seed}/{sample}");
                    assert_eq!(a.rgb, b.rgb, "{seed}/{sample}");
                    assert_eq!(a.truth, b.truth, "{seed}/{sample}");
                }
            }
        }
    }

    /// The per-pixel loop `motion_blur` had before it was restructured row by row.
    fn motion_blur_reference(data: &[f32], w: usize, h: usize, d: V2) -> Vec<f32> {
        let n = (d.len().ceil() as usize + 1).clamp(2, 65);
        let offs: Vec<(isize, isize)> = (0..n)
            .map(|k| {
                let f = k as f32 / (n - 1) as f32 - 0.5;
                ((d.x * f).round() as isize, (d.y * f).round() as isize)
            })
            .collect();
        let norm = 1.0 / n as f32;
        let mut out = vec![0.0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for &(ox, oy) in &offs {
                    let xx = (x as isize + ox).clamp(0, w as isize - 1) as usize;
                    let yy = (y as isize + oy).clamp(0, h as isize - 1) as usize;
                    acc += data[yy * w + xx];
                }
                out[y * w + x] = acc * norm;
            }
        }
        out
    }

    proptest::proptest! {
        /// Bit for bit, including blur lengths beyond the frame size.
        #[test]
        fn motion_blur_matches_reference(
            w in 1usize..24,
            h in 1usize..24,
            dx in -40.0f32..40.0,
            dy in -40.0f32..40.0,
            seed in 0u64..1000,
        ) {
            let mut r = Rng::stream(seed, 7);
            let data: Vec<f32> = (0..w * h).map(|_| r.unit()).collect();
            let want = motion_blur_reference(&data, w, h, v2(dx, dy));
            let mut got = data.clone();
            motion_blur(&mut got, w, h, v2(dx, dy));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&got), bits(&want));
        }
    }

    #[test]
    fn lut_applies_gain_and_gamma() {
        let l = Lut::new(1.0, 1.0, 0.0);
        assert_eq!(l.apply(0.0, 0.0), 0);
        assert_eq!(l.apply(0.5, 0.0), 128);
        assert_eq!(l.apply(1.7, 0.0), 255);
        let l = Lut::new(1.0, 2.0, 0.0);
        assert_eq!(l.apply(0.5, 0.0), 64);
    }
}
