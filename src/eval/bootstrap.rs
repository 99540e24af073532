//! Subject-level bootstrap confidence intervals for the EER and FNMR at fixed FMR.
//!
//! Comparisons sharing a subject are not independent, so resampling comparisons understates
//! the uncertainty (ALGORITHMS.md §5.2, Bolle et al.'s "subsets bootstrap"). Here each
//! replicate draws the *subjects* with replacement; a subject drawn k times contributes its
//! mated comparisons k times, and a non-mated comparison between subjects drawn k₁ and k₂
//! times contributes k₁·k₂ times. The statistics are then computed exactly on the weighted
//! comparisons (same definitions as [`ScoreSet`]: accept if distance ≤
//! threshold, EER as in [`Eer`](super::Eer), FNMR at the largest threshold with FMR ≤ target).
//! The interval is the percentile interval of the replicates. The generator is seeded, so
//! results are reproducible.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{EvalError, ScoreRecord, ScoreSet, rule_of_three_min_trials};

/// A percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The statistic on the original data.
    pub estimate: f64,
    /// Lower end of the interval.
    pub lower: f64,
    /// Upper end of the interval.
    pub upper: f64,
}

/// Bootstrap results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapReport {
    /// Confidence level of the intervals (e.g. 0.95).
    pub confidence: f64,
    /// Replicates drawn.
    pub replicates: u32,
    /// Replicates skipped because they held no mated or no non-mated comparison.
    pub skipped: u32,
    /// Number of subjects resampled.
    pub subjects: u32,
    /// The seed used.
    pub seed: u64,
    /// EER interval.
    pub eer: Interval,
    /// `(target FMR, FNMR interval)` for each requested target that the data supports by the
    /// rule of three.
    pub fnmr_at_fmr: Vec<(f64, Interval)>,
}

/// One comparison: distance, mated, probe subject, reference subject.
type Cmp = (f64, bool, u32, u32);

/// Weighted statistics over comparisons sorted by distance.
fn weighted_stats(
    sorted: &[Cmp],
    weight: impl Fn(&Cmp) -> f64,
    targets: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let (mut m_total, mut n_total) = (0.0, 0.0);
    for c in sorted {
        if c.1 {
            m_total += weight(c);
        } else {
            n_total += weight(c);
        }
    }
    if m_total == 0.0 || n_total == 0.0 {
        return None;
    }
    // Sweep distinct distances: (fmr, fnmr) after each group.
    let mut eer = None;
    let mut prev = (0.0, 1.0);
    let mut fnmr_at: Vec<f64> = vec![1.0; targets.len()];
    let (mut fm, mut accepted_m) = (0.0, 0.0);
    let mut i = 0;
    while i < sorted.len() {
        let v = sorted[i].0;
        while i < sorted.len() && sorted[i].0 <= v {
            let w = weight(&sorted[i]);
            if sorted[i].1 {
                accepted_m += w;
            } else {
                fm += w;
            }
            i += 1;
        }
        let (fmr, fnmr) = (fm / n_total, (m_total - accepted_m) / m_total);
        for (k, &t) in targets.iter().enumerate() {
            if fmr <= t {
                fnmr_at[k] = fnmr;
            }
        }
        if eer.is_none() && fmr >= fnmr {
            let (a, c) = prev;
            let lambda = (c - a) / ((c - a) + (fmr - fnmr));
            eer = Some((a + lambda * (fmr - a)).clamp(0.0, 1.0));
        }
        prev = (fmr, fnmr);
    }
    eer.map(|e| (e, fnmr_at))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    // Nearest-rank on the sorted replicates.
    let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// Subject-level bootstrap of the EER and of FNMR at each of `fmr_targets`.
///
/// `subject_of` maps a sample id to its subject id (e.g. the text before the first `/`).
/// Targets the original data does not support (rule of three) are left out of the result.
///
/// # Errors
/// [`EvalError::InvalidParameter`] for `replicates` = 0 or `confidence` outside (0, 1);
/// the errors of [`ScoreSet::from_records`]; [`EvalError::InvalidParameter`] when a mated
/// record's probe and reference map to different subjects.
pub fn bootstrap<'a>(
    records: &'a [ScoreRecord],
    subject_of: impl Fn(&'a str) -> &'a str,
    fmr_targets: &[f64],
    replicates: u32,
    confidence: f64,
    seed: u64,
) -> Result<BootstrapReport, EvalError> {
    if replicates == 0 {
        return Err(EvalError::InvalidParameter {
            name: "bootstrap replicates",
            value: "0".into(),
            bound: "must be ≥ 1",
        });
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(EvalError::InvalidParameter {
            name: "confidence",
            value: confidence.to_string(),
            bound: "must be in (0, 1)",
        });
    }
    let set = ScoreSet::from_records(records)?;
    let n_non = set.non_mated().len() as u64;
    let targets: Vec<f64> = fmr_targets
        .iter()
        .copied()
        .filter(|&t| t > 0.0 && t <= 1.0 && n_non >= rule_of_three_min_trials(t))
        .collect();
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut id = |s: &'a str| {
        let n = ids.len() as u32;
        *ids.entry(subject_of(s)).or_insert(n)
    };
    let mut cmps: Vec<Cmp> = Vec::with_capacity(records.len());
    for r in records {
        let (p, q) = (id(&r.probe), id(&r.reference));
        if r.mated && p != q {
            return Err(EvalError::InvalidParameter {
                name: "subject_of",
                value: format!(
                    "{} → {:?}, {} → {:?}",
                    r.probe,
                    subject_of(&r.probe),
                    r.reference,
                    subject_of(&r.reference)
                ),
                bound: "a mated comparison must map to one subject",
            });
        }
        cmps.push((r.distance + 0.0, r.mated, p, q));
    }
    cmps.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let n_subjects = ids.len() as u32;

    let (eer0, fnmr0) = weighted_stats(&cmps, |_| 1.0, &targets).expect("both kinds present");
    let mut rng = crate::rng::SplitMix64(seed);
    let mut counts = vec![0.0f64; n_subjects as usize];
    let mut eers = Vec::with_capacity(replicates as usize);
    let mut fnmrs: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates as usize); targets.len()];
    let mut skipped = 0;
    for _ in 0..replicates {
        counts.fill(0.0);
        for _ in 0..n_subjects {
            counts[rng.below(u64::from(n_subjects)) as usize] += 1.0;
        }
        let w = |c: &Cmp| {
            if c.1 {
                counts[c.2 as usize]
            } else {
                counts[c.2 as usize] * counts[c.3 as usize]
            }
        };
        match weighted_stats(&cmps, w, &targets) {
            Some((e, f)) => {
                eers.push(e);
                for (k, v) in f.into_iter().enumerate() {
                    fnmrs[k].push(v);
                }
            }
            None => skipped += 1,
        }
    }
    let alpha = (1.0 - confidence) / 2.0;
    let interval = |estimate: f64, mut v: Vec<f64>| {
        if v.is_empty() {
            return Interval {
                estimate,
                lower: f64::NAN,
                upper: f64::NAN,
            };
        }
        v.sort_unstable_by(f64::total_cmp);
        Interval {
            estimate,
            lower: percentile(&v, alpha),
            upper: percentile(&v, 1.0 - alpha),
        }
    };
    Ok(BootstrapReport {
        confidence,
        replicates,
        skipped,
        subjects: n_subjects,
        seed,
        eer: interval(eer0, eers),
        fnmr_at_fmr: targets
            .iter()
            .zip(fnmr0)
            .zip(fnmrs)
            .map(|((&t, e), v)| (t, interval(e, v)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs() -> Vec<ScoreRecord> {
        let mut out = Vec::new();
        for s in 0..30u32 {
            for k in 0..4u32 {
                let d = 0.2 + 0.01 * f64::from((s * 7 + k * 3) % 13);
                out.push(ScoreRecord::new(
                    format!("{s}/p{k}"),
                    format!("{s}/r"),
                    true,
                    d,
                ));
            }
            for t in 0..30u32 {
                if t != s {
                    let d = 0.3 + 0.01 * f64::from((s * 11 + t * 5) % 17);
                    out.push(ScoreRecord::new(
                        format!("{s}/p0"),
                        format!("{t}/r"),
                        false,
                        d,
                    ));
                }
            }
        }
        out
    }

    fn subject(id: &str) -> &str {
        id.split('/').next().unwrap_or(id)
    }

    #[test]
    fn unit_weights_reproduce_the_exact_statistics() {
        let r = recs();
        let set = ScoreSet::from_records(&r).unwrap();
        let b = bootstrap(&r, subject, &[1e-2, 1e-3], 200, 0.95, 7).unwrap();
        assert_eq!(b.eer.estimate, set.eer().eer);
        assert_eq!(b.subjects, 30);
        // 870 non-mated: 1e-2 is supported, 1e-3 is not.
        assert_eq!(b.fnmr_at_fmr.len(), 1);
        assert_eq!(
            Some(b.fnmr_at_fmr[0].1.estimate),
            set.fnmr_at_fmr(1e-2).unwrap().fnmr()
        );
        assert!(
            b.eer.lower <= b.eer.estimate && b.eer.estimate <= b.eer.upper,
            "{:?}",
            b.eer
        );
        assert!(b.eer.upper > b.eer.lower);
        // Deterministic for a seed.
        assert_eq!(
            bootstrap(&r, subject, &[1e-2], 200, 0.95, 7).unwrap().eer,
            b.eer
        );
    }

    #[test]
    fn rejects_bad_parameters() {
        let r = recs();
        assert!(bootstrap(&r, subject, &[], 0, 0.95, 1).is_err());
        assert!(bootstrap(&r, subject, &[], 10, 1.0, 1).is_err());
        // A subject mapping that splits a mated pair.
        assert!(bootstrap(&r, |s| s, &[], 10, 0.95, 1).is_err());
    }
}
