//! [`VerificationReport`]: the summary written as `metrics.json` and printed as a table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::bootstrap::BootstrapReport;
use super::{Acquisition, Eer, EvalError, FnmrAtFmr, ScoreSet, TransactionRates};

/// Summary statistics of one distance distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DistanceStats {
    /// Number of comparisons.
    pub count: u64,
    /// Mean distance.
    pub mean: f64,
    /// Standard deviation (population, divisor n).
    pub std: f64,
    /// Smallest distance.
    pub min: f64,
    /// Largest distance.
    pub max: f64,
}

impl DistanceStats {
    /// Statistics of a non-empty sorted slice.
    pub(crate) fn of_sorted(v: &[f64]) -> Self {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        DistanceStats {
            count: v.len() as u64,
            mean,
            std: var.sqrt(),
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// The verification summary: everything `metrics.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationReport {
    /// The decision convention, spelled out for readers of the JSON.
    pub convention: String,
    /// Mated distance statistics.
    pub mated: DistanceStats,
    /// Non-mated distance statistics.
    pub non_mated: DistanceStats,
    /// Decidability index d′ = |μ_nm − μ_m| / √((σ_m² + σ_nm²) / 2).
    pub d_prime: f64,
    /// The equal error rate and its threshold.
    pub eer: Eer,
    /// FNMR at FMR = 10⁻² … 10⁻⁶ (or why not supported).
    pub fnmr_at_fmr: Vec<FnmrAtFmr>,
    /// Acquisition counts, when known.
    pub acquisition: Option<Acquisition>,
    /// ISO/IEC 19795-1 FAR/FRR at the EER threshold, when the acquisition counts are known.
    pub transaction_rates_at_eer_threshold: Option<TransactionRates>,
    /// Subject-level bootstrap intervals, when computed ([`VerificationReport::with_bootstrap`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapReport>,
}

impl VerificationReport {
    /// Computes the report.
    pub fn new(scores: &ScoreSet, acquisition: Option<Acquisition>) -> Self {
        let mated = DistanceStats::of_sorted(scores.mated());
        let non_mated = DistanceStats::of_sorted(scores.non_mated());
        let pooled = ((mated.std.powi(2) + non_mated.std.powi(2)) / 2.0).sqrt();
        let d_prime = (non_mated.mean - mated.mean).abs() / pooled;
        let eer = scores.eer();
        VerificationReport {
            convention: "distance: lower is more similar; accept if distance <= threshold".into(),
            mated,
            non_mated,
            d_prime,
            eer,
            fnmr_at_fmr: scores.fnmr_at_standard_fmrs(),
            acquisition,
            transaction_rates_at_eer_threshold: acquisition
                .map(|a| scores.transaction_rates(eer.threshold, &a)),
            bootstrap: None,
        }
    }

    /// Attaches bootstrap intervals (see [`bootstrap`](super::bootstrap::bootstrap)).
    pub fn with_bootstrap(mut self, bootstrap: BootstrapReport) -> Self {
        self.bootstrap = Some(bootstrap);
        self
    }

    /// Pretty-printed JSON.
    ///
    /// # Errors
    /// [`EvalError::Io`] if serialisation fails (it does not for finite values).
    pub fn to_json(&self) -> Result<String, EvalError> {
        serde_json::to_string_pretty(self).map_err(|e| EvalError::Io(e.into()))
    }

    /// A short plain-text table for terminals.
    pub fn summary_table(&self) -> String {
        let mut s = String::new();
        let pct = |x: f64| format!("{:.4} %", 100.0 * x);
        let _ = writeln!(s, "{:<28} {:>12} {:>12}", "", "mated", "non-mated");
        let _ = writeln!(
            s,
            "{:<28} {:>12} {:>12}",
            "comparisons", self.mated.count, self.non_mated.count
        );
        let _ = writeln!(
            s,
            "{:<28} {:>12.5} {:>12.5}",
            "mean distance", self.mated.mean, self.non_mated.mean
        );
        let _ = writeln!(
            s,
            "{:<28} {:>12.5} {:>12.5}",
            "std distance", self.mated.std, self.non_mated.std
        );
        let _ = writeln!(s, "{:<28} {:>12.3}", "d'", self.d_prime);
        let _ = writeln!(
            s,
            "{:<28} {:>12} (threshold {})",
            "EER",
            pct(self.eer.eer),
            self.eer.threshold
        );
        for f in &self.fnmr_at_fmr {
            let label = format!("FNMR @ FMR = {:.0e}", f.target_fmr());
            match f {
                FnmrAtFmr::Supported { point, .. } => {
                    let _ = writeln!(
                        s,
                        "{:<28} {:>12} (threshold {}, FMR {})",
                        label,
                        pct(point.fnmr),
                        point.threshold,
                        pct(point.fmr)
                    );
                }
                FnmrAtFmr::NotSupported {
                    non_mated, needed, ..
                } => {
                    let _ = writeln!(
                        s,
                        "{:<28} {:>12} ({non_mated} non-mated < {needed} needed)",
                        label, "n/a"
                    );
                }
            }
        }
        if let Some(b) = &self.bootstrap {
            let c = 100.0 * b.confidence;
            let _ = writeln!(
                s,
                "{:<28} {:>12} … {} ({} subjects, {} replicates)",
                format!("EER {c:.0} % CI"),
                pct(b.eer.lower),
                pct(b.eer.upper),
                b.subjects,
                b.replicates - b.skipped
            );
            for (t, i) in &b.fnmr_at_fmr {
                let _ = writeln!(
                    s,
                    "{:<28} {:>12} … {}",
                    format!("FNMR @ {t:.0e} {c:.0} % CI"),
                    pct(i.lower),
                    pct(i.upper)
                );
            }
        }
        if let Some(t) = &self.transaction_rates_at_eer_threshold {
            let _ = writeln!(s, "{:<28} {:>12}", "FTA", pct(t.fta));
            let _ = writeln!(s, "{:<28} {:>12}", "FAR @ EER threshold", pct(t.far));
            let _ = writeln!(s, "{:<28} {:>12}", "FRR @ EER threshold", pct(t.frr));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_through_json() {
        let s = ScoreSet::new(vec![0.1, 0.2, 0.3], vec![0.25, 0.4, 0.5]).unwrap();
        let r = VerificationReport::new(&s, Some(Acquisition::new(10, 1).unwrap()));
        assert!((r.mated.mean - 0.2).abs() < 1e-15);
        let json = r.to_json().unwrap();
        let back: VerificationReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert!(json.contains("\"status\": \"not_supported\""));
        let table = r.summary_table();
        assert!(table.contains("EER"));
        assert!(table.contains("33.3333 %"), "{table}");
        assert!(table.contains("n/a (3 non-mated < 300 needed)"), "{table}");
    }
}
