//! A simple drawn hand for ROI tests and benches (until/besides `openpalm::synth`): a rounded
//! palm, four finger capsules, a thumb capsule and a wrist, rotated, scaled, optionally
//! mirrored, over a (textured) background with an illumination gradient and noise.
//!
//! Ground truth valleys follow the `synth` definition: the point of the silhouette between two
//! fingers farthest towards the palm along the bisector of the two finger axes.
#![allow(dead_code, clippy::needless_range_loop)]

/// Parameters of one drawn capture.
#[derive(Debug, Clone, Copy)]
pub struct HandPose {
    pub width: u32,
    pub height: u32,
    /// In-plane rotation in degrees (0 = fingers up).
    pub rotation_deg: f32,
    /// Pixels per hand unit (palm half-width = 1 unit).
    pub scale_px: f32,
    /// Palm centre in frame px.
    pub center: (f32, f32),
    /// Mirror the hand (left vs right).
    pub mirrored: bool,
    /// Finger splay multiplier (1 = default spread).
    pub splay: f32,
    /// Draw a textured background.
    pub textured: bool,
    /// Illumination gradient strength, 0..0.5.
    pub gradient: f32,
    /// Gaussian-ish noise amplitude in gray levels.
    pub noise: f32,
    /// A bright (metal) ring on the ring finger.
    pub ring: bool,
    pub seed: u64,
}

impl HandPose {
    pub fn default_640() -> HandPose {
        HandPose {
            width: 640,
            height: 480,
            rotation_deg: 0.0,
            scale_px: 60.0,
            center: (320.0, 260.0),
            mirrored: false,
            splay: 1.0,
            textured: false,
            gradient: 0.0,
            noise: 0.0,
            ring: false,
            seed: 1,
        }
    }
}

struct Capsule {
    a: (f32, f32),
    b: (f32, f32),
    r: f32,
}

fn sd_capsule(p: (f32, f32), c: &Capsule) -> f32 {
    let pa = (p.0 - c.a.0, p.1 - c.a.1);
    let ba = (c.b.0 - c.a.0, c.b.1 - c.a.1);
    let h = ((pa.0 * ba.0 + pa.1 * ba.1) / (ba.0 * ba.0 + ba.1 * ba.1)).clamp(0.0, 1.0);
    (pa.0 - ba.0 * h).hypot(pa.1 - ba.1 * h) - c.r
}

fn sd_round_rect(p: (f32, f32), half: (f32, f32), center: (f32, f32), r: f32) -> f32 {
    let q = (
        (p.0 - center.0).abs() - half.0 + r,
        (p.1 - center.1).abs() - half.1 + r,
    );
    q.0.max(0.0).hypot(q.1.max(0.0)) + q.0.max(q.1).min(0.0) - r
}

/// Polynomial smooth minimum (fillet radius ~k).
fn smin(a: f32, b: f32, k: f32) -> f32 {
    let h = (0.5 + 0.5 * (b - a) / k).clamp(0.0, 1.0);
    b + (a - b) * h - k * h * (1.0 - h)
}

/// The hand in hand units: x right, y down, fingers towards −y, index at −x (thumb on the
/// left: the unmirrored convention of `synth`'s right hand).
pub struct HandModel {
    fingers: [Capsule; 4],
    thumb: Capsule,
    /// Finger axis unit directions (base → tip).
    dirs: [(f32, f32); 4],
    ring_band: Option<((f32, f32), (f32, f32))>,
}

impl HandModel {
    pub fn new(splay: f32, ring: bool) -> HandModel {
        let base_x = [-0.74f32, -0.25, 0.25, 0.72];
        let base_y = [-0.78f32, -0.84, -0.80, -0.68];
        let ang = [-11.0f32, -3.5, 4.0, 13.0];
        let len = [1.55f32, 1.75, 1.62, 1.25];
        let rad = [0.19f32, 0.2, 0.19, 0.16];
        let mut fingers = Vec::new();
        let mut dirs = [(0.0, 0.0); 4];
        for i in 0..4 {
            let a = (ang[i] * splay).to_radians();
            let d = (a.sin(), -a.cos());
            dirs[i] = d;
            let a0 = (base_x[i], base_y[i]);
            fingers.push(Capsule {
                a: a0,
                b: (a0.0 + d.0 * len[i], a0.1 + d.1 * len[i]),
                r: rad[i],
            });
        }
        let ta = (-50.0f32).to_radians();
        let thumb = Capsule {
            a: (-0.85, 0.35),
            b: (-0.85 + ta.sin() * 1.25, 0.35 - ta.cos() * 1.25),
            r: 0.25,
        };
        let ring_band = ring.then(|| {
            let f = &fingers[2];
            let t = 0.45;
            (
                (f.a.0 + (f.b.0 - f.a.0) * t, f.a.1 + (f.b.1 - f.a.1) * t),
                dirs[2],
            )
        });
        let fingers: [Capsule; 4] = fingers.try_into().map_err(|_| ()).unwrap();
        HandModel {
            fingers,
            thumb,
            dirs,
            ring_band,
        }
    }

    /// Signed distance (hand units, < 0 inside).
    pub fn sdf(&self, p: (f32, f32)) -> f32 {
        let palm = sd_round_rect(p, (1.0, 1.0), (0.0, 0.1), 0.4);
        let wrist = sd_round_rect(p, (0.72, 1.5), (0.0, 2.2), 0.1);
        // Smooth union: rounded finger valleys, as on a real hand.
        let mut d = smin(palm, wrist, 0.1).min(sd_capsule(p, &self.thumb));
        for f in &self.fingers {
            d = smin(d, sd_capsule(p, f), 0.12);
        }
        d
    }

    /// Dark ring band on the ring finger: `true` where the ring covers the point.
    fn on_ring(&self, p: (f32, f32)) -> bool {
        match self.ring_band {
            Some((c, d)) => {
                let along = (p.0 - c.0) * d.0 + (p.1 - c.1) * d.1;
                along.abs() < 0.06 && sd_capsule(p, &self.fingers[2]) < 0.02
            }
            None => false,
        }
    }

    /// Ground-truth valleys (hand units): index–middle, middle–ring, ring–little.
    pub fn valleys(&self) -> [(f32, f32); 3] {
        let mut out = [(0.0, 0.0); 3];
        for j in 0..3 {
            let (d1, d2) = (self.dirs[j], self.dirs[j + 1]);
            let b = {
                let s = (d1.0 + d2.0, d1.1 + d2.1);
                let n = s.0.hypot(s.1);
                (s.0 / n, s.1 / n)
            };
            let (f1, f2) = (&self.fingers[j], &self.fingers[j + 1]);
            let m = ((f1.a.0 + f2.a.0) / 2.0, (f1.a.1 + f2.a.1) / 2.0);
            // Deepest outside point along b in a window around the gap (fine grid).
            let mut best = (f32::INFINITY, m);
            let step = 0.002;
            for iy in -150..=150 {
                for ix in -150..=150 {
                    let p = (m.0 + ix as f32 * step, m.1 + iy as f32 * step);
                    let lateral = (p.0 - m.0) * -b.1 + (p.1 - m.1) * b.0;
                    if lateral.abs() > 0.12 || self.sdf(p) <= 0.0 {
                        continue;
                    }
                    let proj = (p.0 - m.0) * b.0 + (p.1 - m.1) * b.1;
                    if proj < best.0 {
                        best = (proj, p);
                    }
                }
            }
            out[j] = best.1;
        }
        out
    }
}

/// A tiny deterministic RNG (xorshift64*).
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.unit()
    }
}

/// Renders a gray 8-bit frame; returns pixels (row-major) and ground-truth valleys in frame px.
pub fn render(pose: &HandPose) -> (Vec<u8>, [(f32, f32); 3]) {
    let model = HandModel::new(pose.splay, pose.ring);
    let th = pose.rotation_deg.to_radians();
    let (c, s) = (th.cos(), th.sin());
    let mir = if pose.mirrored { -1.0 } else { 1.0 };
    // hand → frame: rotate(mirror(p)) * scale + centre (rotation clockwise on screen).
    let to_frame = |p: (f32, f32)| {
        let x = p.0 * mir;
        (
            pose.center.0 + pose.scale_px * (c * x - s * p.1),
            pose.center.1 + pose.scale_px * (s * x + c * p.1),
        )
    };
    let to_hand = |q: (f32, f32)| {
        let (dx, dy) = (
            (q.0 - pose.center.0) / pose.scale_px,
            (q.1 - pose.center.1) / pose.scale_px,
        );
        let x = c * dx + s * dy;
        let y = -s * dx + c * dy;
        (x * mir, y)
    };
    let mut rng = Rng::new(pose.seed);
    let (w, h) = (pose.width as usize, pose.height as usize);
    let mut px = vec![0u8; w * h];
    let gdir = rng.range(0.0, std::f32::consts::TAU);
    let tex_f = rng.range(0.03, 0.08);
    for y in 0..h {
        for x in 0..w {
            // 2×2 supersampled coverage.
            let mut cov = 0.0;
            let mut ring = false;
            for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let p = to_hand((x as f32 + ox - 0.5, y as f32 + oy - 0.5));
                if model.sdf(p) < 0.0 {
                    cov += 0.25;
                    ring |= model.on_ring(p);
                }
            }
            let mut bg = 25.0;
            if pose.textured {
                bg += 18.0 * ((x as f32 * tex_f).sin() * (y as f32 * tex_f * 1.3).cos()).abs();
            }
            let fg = if ring { 235.0 } else { 175.0 };
            let g = 1.0
                + pose.gradient
                    * (((x as f32 - w as f32 / 2.0) * gdir.cos()
                        + (y as f32 - h as f32 / 2.0) * gdir.sin())
                        / w.max(h) as f32);
            let n = pose.noise * (rng.unit() + rng.unit() + rng.unit() - 1.5);
            let v = (bg + cov * (fg - bg)) * g + n;
            px[y * w + x] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    let gt = model.valleys().map(to_frame);
    (px, gt)
}

/// A random pose over the full variation range of the tests: any rotation, scale, position,
/// mirroring, splay, gradient, noise, texture, rings.
pub fn random_pose(seed: u64, width: u32, height: u32) -> HandPose {
    let mut r = Rng::new(seed ^ 0xA5A5);
    let m = width.min(height) as f32;
    let scale_px = r.range(0.11, 0.14) * m;
    // Keep the palm and fingers in the frame: the hand spans ~2.9 units from the palm centre.
    let margin = 2.9 * scale_px;
    let cx = if width as f32 > 2.0 * margin {
        r.range(margin, width as f32 - margin)
    } else {
        width as f32 / 2.0
    };
    let cy = if height as f32 > 2.0 * margin {
        r.range(margin, height as f32 - margin)
    } else {
        height as f32 / 2.0
    };
    HandPose {
        width,
        height,
        rotation_deg: r.range(0.0, 360.0),
        scale_px,
        center: (cx, cy),
        mirrored: r.unit() < 0.5,
        splay: r.range(0.8, 1.5),
        textured: r.unit() < 0.5,
        gradient: r.range(0.0, 0.4),
        noise: r.range(0.0, 12.0),
        ring: r.unit() < 0.3,
        seed,
    }
}
