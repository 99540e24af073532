//! Simple procedural line textures for tests, benches and examples of the extractors — NOT the
//! synthetic palm generator (`openpalm::synth`), and not a model of real palms.
//!
//! An *identity* seed draws a set of dark curves (quadratic Bézier arcs); a *sample* seed
//! perturbs one capture of it: a global shift (±`shift_px`) and rotation (±2°) of the curves,
//! a jitter of each control point (±0.7 px), gain and offset changes and pixel noise.

use super::RoiImage;

/// Which kind of texture to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// Visible-light crease-like texture: 3 long principal lines (σ 1.8 px, depth 0.3) and 40
    /// short wrinkles (σ 0.9 px, depth 0.12).
    Crease,
    /// NIR vein-like texture: 10 long, wide, faint curves (σ 2.5 px, depth 0.15) on a smooth
    /// background.
    Vein,
}

/// Bézier control points, σ (px), depth.
type Curve = ([(f64, f64); 3], f64, f64);

/// Test-texture draws on top of the crate's SplitMix64.
trait Draw {
    /// Approximately standard normal (sum of 4 uniforms).
    fn normal(&mut self) -> f64;
}

impl Draw for Rng {
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.range(0.0, 1.0)).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

use crate::rng::SplitMix64 as Rng;

/// A `side`-px ROI of identity `identity`, capture `sample`, with global shifts up to
/// `shift_px`. All pixels are valid.
pub fn line_texture(
    kind: PatternKind,
    side: usize,
    identity: u64,
    sample: u64,
    shift_px: f64,
) -> RoiImage {
    let mut id = Rng(identity.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ kind as u64);
    let s = side as f64;
    // (control points, sigma, depth)
    let mut curves: Vec<Curve> = Vec::new();
    let (major, minor) = match kind {
        PatternKind::Crease => (3, 40),
        PatternKind::Vein => (10, 0),
    };
    for k in 0..major + minor {
        let is_major = k < major;
        let len = if is_major {
            id.range(0.7, 1.2) * s
        } else {
            id.range(0.08, 0.25) * s
        };
        let (cx, cy) = (id.range(0.1, 0.9) * s, id.range(0.1, 0.9) * s);
        let a = id.range(0.0, std::f64::consts::PI);
        let (dx, dy) = (a.cos() * len / 2.0, a.sin() * len / 2.0);
        let bend = id.range(-0.25, 0.25) * len;
        let p0 = (cx - dx, cy - dy);
        let p2 = (cx + dx, cy + dy);
        let p1 = (cx - a.sin() * bend, cy + a.cos() * bend);
        let (sigma, depth) = match (kind, is_major) {
            (PatternKind::Crease, true) => (1.8, 0.3),
            (PatternKind::Crease, false) => (0.9, id.range(0.06, 0.15)),
            (PatternKind::Vein, _) => (id.range(2.0, 3.0), id.range(0.1, 0.2)),
        };
        curves.push(([p0, p1, p2], sigma, depth));
    }
    let mut cap = Rng(sample ^ identity.rotate_left(17) ^ 0x5151);
    let (tx, ty) = (
        cap.range(-shift_px, shift_px),
        cap.range(-shift_px, shift_px),
    );
    let rot = cap.range(-2.0, 2.0).to_radians();
    let (rs, rc) = rot.sin_cos();
    let centre = s / 2.0;
    let gain = cap.range(0.9, 1.1);
    let offset = cap.range(-0.05, 0.05);
    let mut dark = vec![0f64; side * side];
    for (pts, sigma, depth) in &curves {
        let pts = pts.map(|(x, y)| {
            let (x, y) = (x + 0.7 * cap.normal(), y + 0.7 * cap.normal());
            let (x, y) = (x - centre, y - centre);
            (centre + x * rc - y * rs + tx, centre + x * rs + y * rc + ty)
        });
        let reach = (3.0 * sigma) as isize + 1;
        let steps = 400;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let u = 1.0 - t;
            let x = u * u * pts[0].0 + 2.0 * u * t * pts[1].0 + t * t * pts[2].0;
            let y = u * u * pts[0].1 + 2.0 * u * t * pts[1].1 + t * t * pts[2].1;
            let (xi, yi) = (x.round() as isize, y.round() as isize);
            for py in yi - reach..=yi + reach {
                for px in xi - reach..=xi + reach {
                    if py < 0 || px < 0 || py >= side as isize || px >= side as isize {
                        continue;
                    }
                    let d2 = (px as f64 - x).powi(2) + (py as f64 - y).powi(2);
                    let v = depth * (-d2 / (2.0 * sigma * sigma)).exp();
                    let cell = &mut dark[py as usize * side + px as usize];
                    *cell = cell.max(v);
                }
            }
        }
    }
    RoiImage::from_fn(side, |r, c| {
        let shade = 0.05 * ((r as f64 + ty) / s * 3.0).sin();
        let v = gain * (0.65 + shade - dark[r * side + c]) + offset + 0.015 * cap.normal();
        (v as f32, true)
    })
    .expect("side within limits")
}
