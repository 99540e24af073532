//! 2-D geometry in hand coordinates: vectors, cubic Bézier curves, signed distances.

use std::ops::{Add, Mul, Neg, Sub};

/// A 2-D point or vector (hand units or pixels, depending on context).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct V2 {
    pub(crate) x: f32,
    pub(crate) y: f32,
}

#[inline]
pub(crate) const fn v2(x: f32, y: f32) -> V2 {
    V2 { x, y }
}

impl Add for V2 {
    type Output = V2;
    #[inline]
    fn add(self, o: V2) -> V2 {
        v2(self.x + o.x, self.y + o.y)
    }
}
impl Sub for V2 {
    type Output = V2;
    #[inline]
    fn sub(self, o: V2) -> V2 {
        v2(self.x - o.x, self.y - o.y)
    }
}
impl Mul<f32> for V2 {
    type Output = V2;
    #[inline]
    fn mul(self, s: f32) -> V2 {
        v2(self.x * s, self.y * s)
    }
}
impl Neg for V2 {
    type Output = V2;
    #[inline]
    fn neg(self) -> V2 {
        v2(-self.x, -self.y)
    }
}

impl V2 {
    #[inline]
    pub(crate) fn dot(self, o: V2) -> f32 {
        self.x * o.x + self.y * o.y
    }
    #[inline]
    pub(crate) fn len(self) -> f32 {
        self.dot(self).sqrt()
    }
    #[inline]
    pub(crate) fn norm(self) -> V2 {
        let l = self.len();
        if l > 0.0 {
            self * (1.0 / l)
        } else {
            v2(1.0, 0.0)
        }
    }
    /// Rotated by +90° (x → y).
    #[inline]
    pub(crate) fn perp(self) -> V2 {
        v2(-self.y, self.x)
    }
    /// Rotated by `(c, s) = (cos a, sin a)`.
    #[inline]
    pub(crate) fn rot(self, c: f32, s: f32) -> V2 {
        v2(c * self.x - s * self.y, s * self.x + c * self.y)
    }
}

/// Unit direction of a finger at angle `a` (radians): 0 points up (−y), positive tilts to +x.
#[inline]
pub(crate) fn dir_of(a: f32) -> V2 {
    v2(a.sin(), -a.cos())
}

/// A cubic Bézier curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bezier(pub(crate) [V2; 4]);

impl Bezier {
    #[inline]
    pub(crate) fn at(&self, t: f32) -> V2 {
        let [p0, p1, p2, p3] = self.0;
        let u = 1.0 - t;
        p0 * (u * u * u) + p1 * (3.0 * u * u * t) + p2 * (3.0 * u * t * t) + p3 * (t * t * t)
    }
    /// Polyline length estimate with 16 segments.
    pub(crate) fn length(&self) -> f32 {
        let mut l = 0.0;
        let mut prev = self.at(0.0);
        for i in 1..=16 {
            let p = self.at(i as f32 / 16.0);
            l += (p - prev).len();
            prev = p;
        }
        l
    }
    /// A curve from `a` to `b` bent sideways by `bend` (fraction of the chord length) with an
    /// S-component `twist`.
    pub(crate) fn bent(a: V2, b: V2, bend: f32, twist: f32) -> Bezier {
        let d = b - a;
        let n = d.perp();
        Bezier([
            a,
            a + d * (1.0 / 3.0) + n * (bend + twist),
            a + d * (2.0 / 3.0) + n * (bend - twist),
            b,
        ])
    }
}

/// Polynomial smooth minimum (Quílez): a union whose seam is rounded over width `k`.
#[inline]
pub(crate) fn smin(a: f32, b: f32, k: f32) -> f32 {
    // Farther apart than k: h = 0 and the result is exactly min(a, b); skip the division.
    if (a - b).abs() >= k {
        return a.min(b);
    }
    let h = (k - (a - b).abs()).max(0.0) / k;
    a.min(b) - h * h * k * 0.25
}

#[inline]
pub(crate) fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Signed distance to a simple polygon (negative inside); exact (Quílez's `sdPolygon`).
pub(crate) fn sd_polygon(poly: &[V2], p: V2) -> f32 {
    let n = poly.len();
    let mut d = (p - poly[0]).dot(p - poly[0]);
    let mut s = 1.0f32;
    let mut j = n - 1;
    for i in 0..n {
        let vi = poly[i];
        let vj = poly[j];
        let e = vj - vi;
        let w = p - vi;
        let t = (w.dot(e) / e.dot(e)).clamp(0.0, 1.0);
        let b = w - e * t;
        d = d.min(b.dot(b));
        let c1 = p.y >= vi.y;
        let c2 = p.y < vj.y;
        let c3 = e.x * w.y > e.y * w.x;
        if (c1 && c2 && c3) || (!c1 && !c2 && !c3) {
            s = -s;
        }
        j = i;
    }
    s * d.sqrt()
}

/// A tapered capsule from `a` (radius `ra`) to `b` (radius `rb`): approximate signed distance
/// and the axial parameter `t ∈ [0, 1]` of the closest axis point.
#[inline]
pub(crate) fn sd_capsule(p: V2, a: V2, ab: V2, inv_len2: f32, ra: f32, rb: f32) -> (f32, f32) {
    let t = ((p - a).dot(ab) * inv_len2).clamp(0.0, 1.0);
    let c = a + ab * t;
    ((p - c).len() - (ra + (rb - ra) * t), t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_distance_matches_square() {
        let sq = [v2(0.0, 0.0), v2(1.0, 0.0), v2(1.0, 1.0), v2(0.0, 1.0)];
        assert!((sd_polygon(&sq, v2(0.5, 0.5)) + 0.5).abs() < 1e-6);
        assert!((sd_polygon(&sq, v2(2.0, 0.5)) - 1.0).abs() < 1e-6);
        assert!((sd_polygon(&sq, v2(2.0, 2.0)) - 2f32.sqrt()).abs() < 1e-6);
        assert!((sd_polygon(&sq, v2(0.5, 0.9)) + 0.1).abs() < 1e-6);
    }

    #[test]
    fn bezier_endpoints_and_length() {
        let b = Bezier::bent(v2(0.0, 0.0), v2(1.0, 0.0), 0.0, 0.0);
        assert_eq!(b.at(0.0), v2(0.0, 0.0));
        assert!((b.at(1.0) - v2(1.0, 0.0)).len() < 1e-6);
        assert!((b.length() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn smin_is_below_min_and_equal_far_apart() {
        assert_eq!(smin(0.0, 1.0, 0.1), 0.0);
        assert!(smin(0.0, 0.0, 0.1) < 0.0);
    }
}
