//! Verification error rates: FMR/FNMR, DET, EER, FNMR at fixed FMR, FTA and FAR/FRR.

use serde::{Deserialize, Serialize};

use super::{EvalError, check_finite};

/// The FMR targets reported by default: 10⁻² … 10⁻⁶.
pub const STANDARD_FMR_TARGETS: [f64; 5] = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/// Mated and non-mated comparison distances, each sorted ascending once.
///
/// Decision rule: **accept if `distance ≤ threshold`** (see the [module docs](super)).
/// All queries are exact and handle tied distances consistently: a mated and a non-mated
/// distance that are equal are accepted or rejected together.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSet {
    mated: Vec<f64>,
    non_mated: Vec<f64>,
}

/// One operating point: the rates at a threshold, with their exact counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// The decision threshold: accept if `distance ≤ threshold`.
    pub threshold: f64,
    /// Number of non-mated comparisons accepted (distance ≤ threshold).
    pub false_matches: u64,
    /// Number of mated comparisons rejected (distance > threshold).
    pub false_non_matches: u64,
    /// `false_matches / #non-mated`.
    pub fmr: f64,
    /// `false_non_matches / #mated`.
    pub fnmr: f64,
}

/// The equal error rate and where it lies.
///
/// **Definition.** Let P₀ be the "reject everything" point (FMR = 0, FNMR = 1) and P₁, P₂, …
/// the operating points at the distinct observed distances in ascending order (the DET points,
/// [`ScoreSet::det`]). Let Pₛ be the first point with FMR ≥ FNMR (it exists: the last point
/// has FNMR = 0). The EER is where the straight segment Pₛ₋₁ → Pₛ (in linear rate space)
/// crosses the diagonal FMR = FNMR:
///
/// with (a, c) = (FMR, FNMR) at Pₛ₋₁ and (b, d) at Pₛ, λ = (c − a) / ((c − a) + (b − d)) and
/// **EER = a + λ (b − a)**.
///
/// When only one of the rates changes between the two points (no mated/non-mated tie at that
/// distance) this is exactly the value of the constant rate, i.e. the crossing of the two step
/// curves; a tie makes the segment diagonal, and the EER is its crossing with FMR = FNMR.
/// The EER therefore always lies between the rates of two consecutive achievable operating
/// points, both of which are reported: `at` (Pₛ, the smallest threshold with FMR ≥ FNMR) and
/// `below` (Pₛ₋₁, `None` for P₀). This agrees with bob.measure's `eer` (mean of FMR and FNMR at
/// the threshold minimising |FMR − FNMR|) whenever that threshold's rates are equal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eer {
    /// The equal error rate, in [0, 1].
    pub eer: f64,
    /// The smallest threshold at which FMR ≥ FNMR (= `at.threshold`). Use this as "the EER
    /// threshold".
    pub threshold: f64,
    /// The operating point at `threshold` (Pₛ).
    pub at: OperatingPoint,
    /// The operating point at the next smaller distinct distance (Pₛ₋₁), or `None` when that is
    /// "reject everything" (FMR = 0, FNMR = 1).
    pub below: Option<OperatingPoint>,
}

/// FNMR at a target FMR, or why it cannot be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FnmrAtFmr {
    /// Enough non-mated comparisons: `point` is the operating point at the **largest**
    /// threshold with FMR ≤ `target_fmr`.
    Supported {
        /// The FMR target.
        target_fmr: f64,
        /// The operating point (its `fmr` is ≤ `target_fmr`).
        point: OperatingPoint,
    },
    /// Too few non-mated comparisons for a 95 % claim at this FMR (rule of three: zero errors
    /// in N trials bound the rate by ≈ 3/N, so N ≥ 3/target is needed).
    NotSupported {
        /// The FMR target.
        target_fmr: f64,
        /// How many non-mated comparisons there are.
        non_mated: u64,
        /// How many are needed: ⌈3 / target⌉.
        needed: u64,
    },
}

impl FnmrAtFmr {
    /// The target FMR.
    pub fn target_fmr(&self) -> f64 {
        match self {
            FnmrAtFmr::Supported { target_fmr, .. }
            | FnmrAtFmr::NotSupported { target_fmr, .. } => *target_fmr,
        }
    }

    /// The FNMR, when supported.
    pub fn fnmr(&self) -> Option<f64> {
        match self {
            FnmrAtFmr::Supported { point, .. } => Some(point.fnmr),
            FnmrAtFmr::NotSupported { .. } => None,
        }
    }
}

/// The smallest number of independent trials N for which zero errors bound the error rate
/// below `target` with 95 % confidence by the rule of three: N = ⌈3 / target⌉.
///
/// A relative tolerance of 10⁻⁹ absorbs the binary representation of decimal targets (so that
/// 10⁻² gives 300, not 301). Returns `u64::MAX` for targets ≤ 0 or NaN.
pub fn rule_of_three_min_trials(target: f64) -> u64 {
    if target.is_nan() || target <= 0.0 {
        return u64::MAX;
    }
    let n = (3.0 / target * (1.0 - 1e-9)).ceil();
    if n >= u64::MAX as f64 {
        u64::MAX
    } else {
        n.max(1.0) as u64
    }
}

impl ScoreSet {
    /// Builds a score set; sorts both inputs. `-0.0` is stored as `0.0`.
    ///
    /// # Errors
    /// [`EvalError::NonFinite`] for a NaN or infinite distance, [`EvalError::Empty`] when either
    /// input is empty.
    pub fn new(mut mated: Vec<f64>, mut non_mated: Vec<f64>) -> Result<Self, EvalError> {
        check_finite("mated", &mated)?;
        check_finite("non-mated", &non_mated)?;
        if mated.is_empty() {
            return Err(EvalError::Empty {
                what: "mated distances",
            });
        }
        if non_mated.is_empty() {
            return Err(EvalError::Empty {
                what: "non-mated distances",
            });
        }
        for v in mated.iter_mut().chain(non_mated.iter_mut()) {
            *v += 0.0; // -0.0 + 0.0 = +0.0
        }
        mated.sort_unstable_by(f64::total_cmp);
        non_mated.sort_unstable_by(f64::total_cmp);
        Ok(ScoreSet { mated, non_mated })
    }

    /// Builds a score set from score-file records.
    ///
    /// # Errors
    /// As [`ScoreSet::new`].
    pub fn from_records(records: &[super::ScoreRecord]) -> Result<Self, EvalError> {
        let (m, n): (Vec<_>, Vec<_>) = records.iter().partition(|r| r.mated);
        ScoreSet::new(
            m.iter().map(|r| r.distance).collect(),
            n.iter().map(|r| r.distance).collect(),
        )
    }

    /// The mated distances, ascending.
    pub fn mated(&self) -> &[f64] {
        &self.mated
    }

    /// The non-mated distances, ascending.
    pub fn non_mated(&self) -> &[f64] {
        &self.non_mated
    }

    /// Number of values `≤ t` in a sorted slice (0 for a NaN threshold).
    fn count_le(sorted: &[f64], t: f64) -> usize {
        sorted.partition_point(|&x| x <= t)
    }

    /// The operating point at `threshold` (accept if `distance ≤ threshold`). O(log n).
    /// A NaN threshold accepts nothing.
    pub fn operating_point(&self, threshold: f64) -> OperatingPoint {
        let fm = Self::count_le(&self.non_mated, threshold);
        let fnm = self.mated.len() - Self::count_le(&self.mated, threshold);
        self.point(threshold, fm, fnm)
    }

    fn point(
        &self,
        threshold: f64,
        false_matches: usize,
        false_non_matches: usize,
    ) -> OperatingPoint {
        OperatingPoint {
            threshold,
            false_matches: false_matches as u64,
            false_non_matches: false_non_matches as u64,
            fmr: false_matches as f64 / self.non_mated.len() as f64,
            fnmr: false_non_matches as f64 / self.mated.len() as f64,
        }
    }

    /// FMR at `threshold`: the fraction of non-mated distances `≤ threshold`.
    pub fn fmr(&self, threshold: f64) -> f64 {
        self.operating_point(threshold).fmr
    }

    /// FNMR at `threshold`: the fraction of mated distances `> threshold`.
    pub fn fnmr(&self, threshold: f64) -> f64 {
        self.operating_point(threshold).fnmr
    }

    /// The DET points, lazily: one per **distinct** distance (mated or non-mated), in ascending
    /// threshold order, so FMR rises and FNMR falls along the sequence. The implicit starting
    /// point "reject everything" (FMR = 0, FNMR = 1) is not included. O(n + m) in total.
    pub fn det_iter(&self) -> DetIter<'_> {
        DetIter {
            set: self,
            i: 0,
            j: 0,
        }
    }

    /// All DET points, see [`ScoreSet::det_iter`].
    pub fn det(&self) -> Vec<OperatingPoint> {
        self.det_iter().collect()
    }

    /// The equal error rate; see [`Eer`] for the exact definition. O(n + m).
    pub fn eer(&self) -> Eer {
        let m = self.mated.len() as u128;
        let n = self.non_mated.len() as u128;
        let mut below: Option<OperatingPoint> = None;
        for p in self.det_iter() {
            // FMR ≥ FNMR  ⇔  fm / n ≥ fnm / m, compared exactly in integers.
            if p.false_matches as u128 * m >= p.false_non_matches as u128 * n {
                let (a, c) = below.map_or((0.0, 1.0), |b| (b.fmr, b.fnmr));
                let (b, d) = (p.fmr, p.fnmr);
                let lambda = (c - a) / ((c - a) + (b - d));
                let eer = (a + lambda * (b - a)).clamp(0.0, 1.0);
                return Eer {
                    eer,
                    threshold: p.threshold,
                    at: p,
                    below,
                };
            }
            below = Some(p);
        }
        unreachable!("the last DET point has FNMR = 0 ≤ FMR")
    }

    /// FNMR at the largest threshold whose FMR is ≤ `target_fmr`, or
    /// [`FnmrAtFmr::NotSupported`] when there are fewer than [`rule_of_three_min_trials`]
    /// non-mated distances. O(log n).
    ///
    /// The threshold is one of the observed distances (the largest one below the
    /// (k+1)-th smallest non-mated distance, k = ⌊target · N⌋), so that it can be reproduced; if
    /// no observed distance lies below it, the next smaller `f64` is used (FMR 0, FNMR 1).
    ///
    /// # Errors
    /// [`EvalError::InvalidParameter`] unless 0 < `target_fmr` ≤ 1.
    pub fn fnmr_at_fmr(&self, target_fmr: f64) -> Result<FnmrAtFmr, EvalError> {
        if !(target_fmr > 0.0 && target_fmr <= 1.0) {
            return Err(EvalError::InvalidParameter {
                name: "target FMR",
                value: target_fmr.to_string(),
                bound: "must be in (0, 1]",
            });
        }
        let n = self.non_mated.len();
        let needed = rule_of_three_min_trials(target_fmr);
        if (n as u64) < needed {
            return Ok(FnmrAtFmr::NotSupported {
                target_fmr,
                non_mated: n as u64,
                needed,
            });
        }
        // k = the largest number of false matches with k / n ≤ target.
        let nf = n as f64;
        let mut k = ((target_fmr * nf).floor() as usize).min(n);
        while k < n && (k + 1) as f64 / nf <= target_fmr {
            k += 1;
        }
        while k > 0 && k as f64 / nf > target_fmr {
            k -= 1;
        }
        let threshold = if k >= n {
            self.mated[self.mated.len() - 1].max(self.non_mated[n - 1])
        } else {
            let v = self.non_mated[k];
            let below = |s: &[f64]| {
                let c = s.partition_point(|&x| x < v);
                (c > 0).then(|| s[c - 1])
            };
            match (below(&self.mated), below(&self.non_mated)) {
                (Some(a), Some(b)) => a.max(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => v.next_down(),
            }
        };
        Ok(FnmrAtFmr::Supported {
            target_fmr,
            point: self.operating_point(threshold),
        })
    }

    /// FNMR at each of [`STANDARD_FMR_TARGETS`].
    pub fn fnmr_at_standard_fmrs(&self) -> Vec<FnmrAtFmr> {
        STANDARD_FMR_TARGETS
            .iter()
            .map(|&t| self.fnmr_at_fmr(t).expect("standard targets are in (0, 1]"))
            .collect()
    }

    /// ISO/IEC 19795-1 transaction rates at `threshold`, given the acquisition counts.
    pub fn transaction_rates(&self, threshold: f64, acquisition: &Acquisition) -> TransactionRates {
        TransactionRates::new(&self.operating_point(threshold), acquisition)
    }
}

/// Iterator over DET points; see [`ScoreSet::det_iter`].
#[derive(Debug, Clone)]
pub struct DetIter<'a> {
    set: &'a ScoreSet,
    /// Mated distances consumed (≤ current threshold).
    i: usize,
    /// Non-mated distances consumed.
    j: usize,
}

impl Iterator for DetIter<'_> {
    type Item = OperatingPoint;

    fn next(&mut self) -> Option<OperatingPoint> {
        let (m, n) = (&self.set.mated, &self.set.non_mated);
        let v = match (m.get(self.i), n.get(self.j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => return None,
        };
        while self.i < m.len() && m[self.i] <= v {
            self.i += 1;
        }
        while self.j < n.len() && n[self.j] <= v {
            self.j += 1;
        }
        Some(self.set.point(v, self.j, m.len() - self.i))
    }
}

/// Failure-to-acquire counts: how many acquisition attempts were made and how many failed
/// (no usable sample: no hand found, ROI out of frame, quality below policy…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acquisition {
    /// Acquisition attempts (images presented to the pipeline).
    pub attempts: u64,
    /// Attempts that produced no usable sample.
    pub failures: u64,
}

impl Acquisition {
    /// Validated counts.
    ///
    /// # Errors
    /// [`EvalError::InvalidParameter`] when `attempts` is 0 or `failures > attempts`.
    pub fn new(attempts: u64, failures: u64) -> Result<Self, EvalError> {
        if attempts == 0 {
            return Err(EvalError::InvalidParameter {
                name: "acquisition attempts",
                value: "0".into(),
                bound: "must be ≥ 1",
            });
        }
        if failures > attempts {
            return Err(EvalError::InvalidParameter {
                name: "acquisition failures",
                value: format!("{failures} of {attempts} attempts"),
                bound: "must be ≤ attempts",
            });
        }
        Ok(Acquisition { attempts, failures })
    }

    /// The failure-to-acquire rate FTA = failures / attempts.
    pub fn fta(&self) -> f64 {
        self.failures as f64 / self.attempts as f64
    }
}

/// Transaction-level rates that include failures to acquire, as in ISO/IEC 19795-1 (single
/// attempt per transaction, failures to enrol not included):
///
/// - **FAR = FMR · (1 − FTA)**: an impostor transaction is falsely accepted only if the sample
///   is acquired and then falsely matched;
/// - **FRR = FTA + FNMR · (1 − FTA)**: a genuine transaction is rejected if acquisition fails,
///   or if it succeeds and the comparison falsely does not match.
///
/// FMR and FNMR are computed over completed comparisons only.
///
/// **Which FTA.** The formulas need the proportion of *transactions* that failed to acquire.
/// [`Acquisition`] counts *attempts* (one per image); with a single attempt per transaction —
/// what every openpalm experiment does — the two are the same. For transactions that allow
/// several attempts, pass per-transaction counts (a transaction fails to acquire only when all
/// its attempts do). In the all-pairs experiments of this module every image is both a probe
/// and a reference, and a failed image is counted once, as an FTA; no separate enrolment takes
/// place, so FTE = 0. When enrolment is separate, failures to enrol enter through
/// [`TransactionRates::generalised`] and are not in FAR/FRR.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TransactionRates {
    /// The decision threshold.
    pub threshold: f64,
    /// Failure-to-acquire rate.
    pub fta: f64,
    /// False match rate over completed comparisons.
    pub fmr: f64,
    /// False non-match rate over completed comparisons.
    pub fnmr: f64,
    /// False accept rate, FMR · (1 − FTA).
    pub far: f64,
    /// False reject rate, FTA + FNMR · (1 − FTA).
    pub frr: f64,
}

impl TransactionRates {
    /// The rates at an operating point given the acquisition counts.
    pub fn new(point: &OperatingPoint, acquisition: &Acquisition) -> Self {
        let fta = acquisition.fta();
        TransactionRates {
            threshold: point.threshold,
            fta,
            fmr: point.fmr,
            fnmr: point.fnmr,
            far: point.fmr * (1.0 - fta),
            frr: fta + point.fnmr * (1.0 - fta),
        }
    }
}

impl TransactionRates {
    /// The generalised rates with failures to enrol (ISO/IEC 19795-1 and Mansfield & Wayman,
    /// *Best Practices in Testing and Reporting Performance of Biometric Devices*, 2002):
    /// an enrolee who failed to enrol is rejected in every genuine transaction and cannot be
    /// falsely matched, so with `FTE = enrolment.fta()` (failures to enrol / enrolment
    /// attempts):
    ///
    /// - **GFAR = FMR · (1 − FTA) · (1 − FTE)** = FAR · (1 − FTE),
    /// - **GFRR = FTE + (1 − FTE) · FTA + (1 − FTE) · (1 − FTA) · FNMR** = FTE + (1 − FTE) · FRR.
    pub fn generalised(&self, enrolment: &Acquisition) -> GeneralisedRates {
        let fte = enrolment.fta();
        GeneralisedRates {
            fte,
            gfar: self.far * (1.0 - fte),
            gfrr: fte + (1.0 - fte) * self.frr,
        }
    }
}

/// FAR/FRR generalised with the failure-to-enrol rate; see [`TransactionRates::generalised`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeneralisedRates {
    /// Failure-to-enrol rate.
    pub fte: f64,
    /// Generalised false accept rate, FMR · (1 − FTA) · (1 − FTE).
    pub gfar: f64,
    /// Generalised false reject rate, FTE + (1 − FTE) · FTA + (1 − FTE)(1 − FTA) · FNMR.
    pub gfrr: f64,
}

/// The standard normal quantile Φ⁻¹(p) (probit), for the normal-deviate axes of DET plots.
///
/// Wichura's algorithm AS 241 (PPND16), relative accuracy about 10⁻¹⁶. Returns −∞ for p = 0,
/// +∞ for p = 1 and NaN outside [0, 1].
// The coefficients are kept digit for digit as published in AS 241.
#[allow(clippy::excessive_precision)]
pub fn probit(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    fn poly(c: &[f64; 8], x: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
    }
    const A: [f64; 8] = [
        3.387_132_872_796_366_608,
        133.141_667_891_784_377_45,
        1_971.590_950_306_551_442_7,
        13_731.693_765_509_461_125,
        45_921.953_931_549_871_457,
        67_265.770_927_008_700_853,
        33_430.575_583_588_128_105,
        2_509.080_928_730_122_672_7,
    ];
    const B: [f64; 8] = [
        1.0,
        42.313_330_701_600_911_252,
        687.187_007_492_057_908_3,
        5_394.196_021_424_751_107_7,
        21_213.794_301_586_595_867,
        39_307.895_800_092_710_61,
        28_729.085_735_721_942_674,
        5_226.495_278_852_854_561,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        0.241_780_725_177_450_611_77,
        0.022_723_844_989_269_184_583_3,
        7.745_450_142_783_414_076_4e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        0.689_767_334_985_100_004_55,
        0.148_103_976_427_480_074_59,
        0.015_198_666_563_616_457_196_6,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    const E: [f64; 8] = [
        6.657_904_643_501_103_777_2,
        5.463_784_911_164_114_369_9,
        1.784_826_539_917_291_335_8,
        0.296_560_571_828_504_891_23,
        0.026_532_189_526_576_123_093,
        0.001_242_660_947_388_078_438_6,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        0.599_832_206_555_887_937_69,
        0.136_929_880_922_735_805_31,
        0.014_875_361_290_850_614_852_5,
        7.868_691_311_456_132_591e-4,
        1.846_318_317_510_054_681_8e-5,
        1.421_511_758_316_445_888_7e-7,
        2.044_263_103_389_939_785_64e-15,
    ];
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -x } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(m: &[f64], n: &[f64]) -> ScoreSet {
        ScoreSet::new(m.to_vec(), n.to_vec()).unwrap()
    }

    #[test]
    fn rates_accept_ties_at_threshold() {
        let s = set(&[0.1, 0.2, 0.2, 0.4], &[0.2, 0.3, 0.5, 0.5]);
        // t = 0.2: non-mated 0.2 accepted (1/4); mated 0.4 rejected (1/4).
        assert_eq!(s.fmr(0.2), 0.25);
        assert_eq!(s.fnmr(0.2), 0.25);
        // Just below 0.2: nothing non-mated accepted; mated 0.2, 0.2, 0.4 rejected.
        assert_eq!(s.fmr(0.2f64.next_down()), 0.0);
        assert_eq!(s.fnmr(0.2f64.next_down()), 0.75);
        assert_eq!(s.fmr(0.5), 1.0);
        assert_eq!(s.fnmr(0.5), 0.0);
        assert_eq!(s.fmr(-1.0), 0.0);
        assert_eq!(s.fnmr(-1.0), 1.0);
        assert_eq!(s.fmr(f64::NAN), 0.0);
    }

    #[test]
    fn det_has_one_point_per_distinct_distance() {
        let s = set(&[0.1, 0.2, 0.2, 0.4], &[0.2, 0.3, 0.5, 0.5]);
        let det: Vec<_> = s
            .det()
            .iter()
            .map(|p| (p.threshold, p.false_matches, p.false_non_matches))
            .collect();
        assert_eq!(
            det,
            vec![
                (0.1, 0, 3),
                (0.2, 1, 1),
                (0.3, 2, 1),
                (0.4, 2, 0),
                (0.5, 4, 0)
            ]
        );
    }

    #[test]
    fn eer_without_ties_is_the_step_crossing() {
        // Thresholds: 0.1 (0, 2/3), 0.2 (0, 1/3), 0.25 (1/3, 1/3), ...
        let s = set(&[0.1, 0.2, 0.3], &[0.25, 0.4, 0.5]);
        let e = s.eer();
        assert_eq!(e.threshold, 0.25);
        assert!((e.eer - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(e.below.unwrap().threshold, 0.2);
        assert_eq!((e.at.false_matches, e.at.false_non_matches), (1, 1));
    }

    #[test]
    fn eer_with_tie_interpolates_the_diagonal_segment() {
        // Mated {0.1, 0.5, 0.5, 0.9}, non-mated {0.5, 0.5, 0.7, 0.8}.
        // Before 0.5: FMR 0, FNMR 3/4. At 0.5: FMR 2/4, FNMR 1/4. The segment
        // (0, 0.75) → (0.5, 0.25) crosses FMR = FNMR at λ = 0.75 / (0.75 + 0.25) = 0.75,
        // EER = 0.75 · 0.5 = 0.375.
        let s = set(&[0.1, 0.5, 0.5, 0.9], &[0.5, 0.5, 0.7, 0.8]);
        let e = s.eer();
        assert_eq!(e.threshold, 0.5);
        assert!((e.eer - 0.375).abs() < 1e-15, "{}", e.eer);
        assert_eq!(e.below.unwrap().threshold, 0.1);
    }

    #[test]
    fn eer_of_separated_and_inverted_sets() {
        // Perfect separation: EER 0 at the largest mated distance.
        let e = set(&[0.1, 0.2], &[0.3, 0.4]).eer();
        assert_eq!((e.eer, e.threshold), (0.0, 0.2));
        // Complete inversion: every non-mated below every mated → EER 1 … the crossing of
        // (0, 1) → (1, 1) is at 1.
        let e = set(&[0.8, 0.9], &[0.1, 0.2]).eer();
        assert_eq!(e.threshold, 0.2);
        assert_eq!(e.eer, 1.0);
        // All equal: segment (0, 1) → (1, 0), crossing at 0.5, no point below.
        let e = set(&[0.5; 3], &[0.5; 7]).eer();
        assert_eq!(e.eer, 0.5);
        assert!(e.below.is_none());
    }

    #[test]
    fn fnmr_at_fmr_picks_largest_threshold_and_respects_ties() {
        // 300 non-mated at 0.500, 0.501, …; mated spread below, between and above.
        let non: Vec<f64> = (0..300).map(|i| 0.5 + i as f64 * 1e-3).collect();
        let mut mated = vec![0.1, 0.2, 0.5, 0.5025, 0.6];
        let s = ScoreSet::new(mated.clone(), non.clone()).unwrap();
        // FMR ≤ 1e-2 allows k = 3 false matches: the threshold lies below non[3] = 0.503; the
        // largest observed distance below it is the mated 0.5025.
        let FnmrAtFmr::Supported { point, .. } = s.fnmr_at_fmr(1e-2).unwrap() else {
            panic!("300 non-mated support 1e-2")
        };
        assert_eq!(point.threshold, 0.5025);
        assert_eq!(point.false_matches, 3);
        assert_eq!(point.false_non_matches, 1);
        // 1e-3 needs 3000.
        assert_eq!(
            s.fnmr_at_fmr(1e-3).unwrap(),
            FnmrAtFmr::NotSupported {
                target_fmr: 1e-3,
                non_mated: 300,
                needed: 3000
            }
        );
        // Just under 3/300: k = 2, the threshold lies below non[2] = 0.502, i.e. at the
        // non-mated 0.501; the mated 0.5 tied with the non-mated 0.5 is accepted with it.
        mated.push(0.5);
        let s = ScoreSet::new(mated, non).unwrap();
        let FnmrAtFmr::Supported { point, .. } = s.fnmr_at_fmr(3.0 / 300.0 - 1e-12).unwrap() else {
            panic!()
        };
        assert_eq!(point.threshold, 0.501);
        assert_eq!((point.false_matches, point.false_non_matches), (2, 2));
        assert_eq!(point.fnmr, 2.0 / 6.0);
    }

    #[test]
    fn fnmr_at_fmr_when_no_distance_lies_below() {
        let non: Vec<f64> = vec![0.1; 300];
        let s = ScoreSet::new(vec![0.1, 0.2], non).unwrap();
        let FnmrAtFmr::Supported { point, .. } = s.fnmr_at_fmr(1e-2).unwrap() else {
            panic!()
        };
        assert_eq!((point.fmr, point.fnmr), (0.0, 1.0));
        assert!(point.threshold < 0.1);
        assert!(s.fnmr_at_fmr(0.0).is_err());
        assert!(s.fnmr_at_fmr(f64::NAN).is_err());
        let FnmrAtFmr::Supported { point, .. } = s.fnmr_at_fmr(1.0).unwrap() else {
            panic!()
        };
        assert_eq!((point.fmr, point.fnmr, point.threshold), (1.0, 0.0, 0.2));
    }

    #[test]
    fn rule_of_three() {
        assert_eq!(rule_of_three_min_trials(1e-2), 300);
        assert_eq!(rule_of_three_min_trials(1e-3), 3_000);
        assert_eq!(rule_of_three_min_trials(1e-4), 30_000);
        assert_eq!(rule_of_three_min_trials(1e-5), 300_000);
        assert_eq!(rule_of_three_min_trials(1e-6), 3_000_000);
        assert_eq!(rule_of_three_min_trials(0.4), 8);
        assert_eq!(rule_of_three_min_trials(0.0), u64::MAX);
    }

    #[test]
    fn fta_and_19795_rates() {
        assert!(Acquisition::new(0, 0).is_err());
        assert!(Acquisition::new(10, 11).is_err());
        let acq = Acquisition::new(100, 5).unwrap();
        let s = set(&[0.1, 0.2, 0.3, 0.4], &[0.15, 0.5, 0.6, 0.7]);
        let r = s.transaction_rates(0.3, &acq);
        assert_eq!((r.fmr, r.fnmr, r.fta), (0.25, 0.25, 0.05));
        assert!((r.far - 0.25 * 0.95).abs() < 1e-15);
        assert!((r.frr - (0.05 + 0.25 * 0.95)).abs() < 1e-15);
    }

    /// A hand-computed ISO/IEC 19795-1 case, counted transaction by transaction.
    ///
    /// 200 genuine and 200 impostor single-attempt transactions, 10 of each fail to acquire
    /// (FTA = 20/400 = 5 %). Of the 190 acquired genuine ones, 19 are falsely rejected by the
    /// comparison (FNMR = 10 %); of the 190 acquired impostor ones, 38 are falsely accepted
    /// (FMR = 20 %). Rejected genuine transactions: 10 + 19 = 29 of 200 = 14.5 % = FTA + FNMR
    /// (1 − FTA) = 0.05 + 0.1 · 0.95. Accepted impostors: 38 of 200 = 19 % = FMR (1 − FTA).
    /// Failures to enrol: 4 of 100 enrolees (FTE = 4 %): GFAR = 0.19 · 0.96 = 18.24 %,
    /// GFRR = 0.04 + 0.96 · 0.145 = 17.92 %.
    #[test]
    fn transaction_rates_hand_computed() {
        // 10 mated distances, 1 above t = 0.5 (FNMR 10 %); 10 non-mated, 2 at or below t (20 %).
        let mated = [0.1, 0.12, 0.15, 0.2, 0.22, 0.25, 0.3, 0.33, 0.4, 0.6];
        let non_mated = [0.45, 0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.72, 0.75, 0.8];
        let s = set(&mated, &non_mated);
        let r = s.transaction_rates(0.5, &Acquisition::new(400, 20).unwrap());
        assert_eq!((r.fnmr, r.fmr, r.fta), (0.1, 0.2, 0.05));
        assert!((r.frr - 29.0 / 200.0).abs() < 1e-12, "{}", r.frr);
        assert!((r.far - 38.0 / 200.0).abs() < 1e-12, "{}", r.far);
        let g = r.generalised(&Acquisition::new(100, 4).unwrap());
        assert_eq!(g.fte, 0.04);
        assert!((g.gfar - 0.1824).abs() < 1e-12, "{}", g.gfar);
        assert!((g.gfrr - 0.1792).abs() < 1e-12, "{}", g.gfrr);
        // No failures at all: the transaction rates are the comparison rates.
        let z = s
            .transaction_rates(0.5, &Acquisition::new(400, 0).unwrap())
            .generalised(&Acquisition::new(100, 0).unwrap());
        assert_eq!((z.gfar, z.gfrr), (0.2, 0.1));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            ScoreSet::new(vec![0.1, f64::NAN], vec![0.2]),
            Err(EvalError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            ScoreSet::new(vec![], vec![0.2]),
            Err(EvalError::Empty { .. })
        ));
        assert!(matches!(
            ScoreSet::new(vec![0.1], vec![f64::INFINITY]),
            Err(EvalError::NonFinite { .. })
        ));
    }

    #[test]
    fn probit_known_values() {
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.841_344_746_068_542_9, 1.0),
            (0.001, -3.090_232_306_167_813_5),
            (1e-6, -4.753_424_308_822_899),
            (1e-10, -6.361_340_902_404_056),
            (1e-20, -9.262_340_089_798_408),
        ];
        for (p, x) in cases {
            let got = probit(p);
            assert!(
                (got - x).abs() < 1e-9 * x.abs().max(1.0),
                "probit({p}) = {got}, want {x}"
            );
            if p > 1e-12 {
                assert!((probit(1.0 - p) + x).abs() < 1e-6 * x.abs().max(1.0));
            }
        }
        assert_eq!(probit(0.0), f64::NEG_INFINITY);
        assert!(probit(1.5).is_nan());
    }
}
