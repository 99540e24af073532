//! A tiny, platform-independent pseudo-random generator (SplitMix64).
//!
//! Only integer arithmetic and exact float conversions are used, so a seed yields the same
//! stream on every platform. Normal deviates come from an Irwin–Hall sum (no `ln`/`cos`), so they
//! are bit-identical everywhere too.

/// SplitMix64 (Steele, Lea & Flood 2014; the seeding generator of xoshiro).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

/// The SplitMix64 finaliser: a good 64-bit mixing function.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A stream for `seed` in the named `domain`: different domains of the same seed are
    /// independent, so adding draws to one part of the model does not shift the others.
    pub(crate) fn stream(seed: u64, domain: u64) -> Self {
        Rng(mix64(
            seed ^ mix64(domain.wrapping_add(0x9E37_79B9_7F4A_7C15)),
        ))
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [lo, hi).
    #[inline]
    pub(crate) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Approximately standard normal (Irwin–Hall sum of four 16-bit uniforms, variance 1,
    /// bounded to ±3.46).
    #[inline]
    pub(crate) fn normal(&mut self) -> f32 {
        irwin_hall4(self.next_u64())
    }

    /// True with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Uniform integer in `lo..=hi`.
    #[inline]
    pub(crate) fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + ((self.next_u64() >> 32) % u64::from(hi - lo + 1)) as u32
    }
}

/// Approximately standard normal from the four 16-bit parts of `bits`.
#[inline]
pub(crate) fn irwin_hall4(bits: u64) -> f32 {
    let s = (bits & 0xFFFF) + ((bits >> 16) & 0xFFFF) + ((bits >> 32) & 0xFFFF) + (bits >> 48);
    // Sum of 4 U(0,1) has mean 2 and variance 1/3.
    (s as f32 * (1.0 / 65536.0) - 2.0) * 1.732_050_8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(7, 2).next_u64());
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(8, 1).next_u64());
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Rng::stream(1, 1);
        let n = 20_000;
        let xs: Vec<f32> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n as f32;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn unit_and_int_stay_in_range() {
        let mut r = Rng::stream(3, 3);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let i = r.int(2, 5);
            assert!((2..=5).contains(&i));
        }
    }
}
