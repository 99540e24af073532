//! Identification (1:N) rates: CMC rank-k (closed set) and FPIR/FNIR (open set).
//!
//! # Conventions
//!
//! - Distances, lower = more similar; a candidate is *returned* at threshold t if its distance
//!   is ≤ t (as for verification).
//! - A gallery may hold several references per subject. Ranks are over **subjects**: a subject's
//!   distance to a probe is the minimum over its references.
//! - The **rank** of an enrolled probe is 1 + the number of *other* subjects whose distance is
//!   **≤** the mated subject's distance: ties are counted against the probe (pessimistic), so
//!   a rank never depends on the order of the gallery.
//! - **CMC(k)** = fraction of enrolled probes with rank ≤ k (non-enrolled probes are ignored).
//! - Open set at threshold t and candidate-list length L (ISO/IEC 19795-1, NIST FRVT):
//!   - **FPIR(t)** = fraction of *non-enrolled* probes with any candidate returned, i.e. whose
//!     best distance is ≤ t (the top candidate is within every L ≥ 1);
//!   - **FNIR(t, L)** = fraction of *enrolled* probes whose mated subject is **not** returned
//!     with rank ≤ L and distance ≤ t.

use std::collections::HashMap;
use std::hash::Hash;

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::EvalError;

/// The outcome of one identification search, enough for CMC and FPIR/FNIR at any threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// The probe's subject is enrolled in the gallery.
    Enrolled {
        /// The (pessimistic) rank of the mated subject; `None` if it was not among the
        /// candidates (a truncated candidate list).
        rank: Option<usize>,
        /// The mated subject's distance, when it was among the candidates.
        mated_distance: Option<f64>,
    },
    /// The probe's subject is not enrolled.
    NotEnrolled {
        /// The smallest distance among the candidates (`None` for an empty list).
        best_distance: Option<f64>,
    },
}

/// Cumulative match characteristic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cmc {
    /// `identification_rate[k − 1]` = fraction of enrolled probes with rank ≤ k.
    pub identification_rate: Vec<f64>,
    /// Number of enrolled probes (the denominator).
    pub enrolled_probes: u64,
}

impl Cmc {
    /// The identification rate at rank `k` (1-based); `None` for k = 0 or k beyond the
    /// computed length.
    pub fn rank(&self, k: usize) -> Option<f64> {
        k.checked_sub(1)
            .and_then(|i| self.identification_rate.get(i).copied())
    }
}

/// Open-set identification rates at one threshold and candidate-list length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpenSetRates {
    /// The threshold: a candidate is returned if its distance is ≤ it.
    pub threshold: f64,
    /// Candidate-list length L.
    pub rank: usize,
    /// False positive identification rate; `None` without non-enrolled probes.
    pub fpir: Option<f64>,
    /// False negative identification rate; `None` without enrolled probes.
    pub fnir: Option<f64>,
    /// Non-enrolled probes (FPIR's denominator).
    pub non_enrolled_probes: u64,
    /// Enrolled probes (FNIR's denominator).
    pub enrolled_probes: u64,
}

/// A set of identification outcomes; see the [module docs](self) for the definitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identification {
    outcomes: Vec<ProbeOutcome>,
}

/// Rank of the subject `mated` given per-subject best distances (pessimistic ties).
fn rank_of(best: &[f64], mated: usize) -> Option<(usize, f64)> {
    let dm = best[mated];
    if dm.is_infinite() {
        return None; // not among the candidates
    }
    let ahead = best
        .iter()
        .enumerate()
        .filter(|&(s, &d)| s != mated && d <= dm)
        .count();
    Some((1 + ahead, dm))
}

impl Identification {
    /// An empty set; add searches with [`Identification::push_candidates`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The outcomes, in insertion order.
    pub fn outcomes(&self) -> &[ProbeOutcome] {
        &self.outcomes
    }

    /// Outcomes from a full probe × gallery distance matrix: row p holds the distances of probe
    /// p to every gallery reference. A probe is enrolled if its subject appears in
    /// `gallery_subjects`. Rows are processed in parallel; O(P · G).
    ///
    /// # Errors
    /// [`EvalError::ShapeMismatch`] when the id slices do not match the matrix,
    /// [`EvalError::Empty`] for an empty gallery, [`EvalError::NonFinite`] for a NaN or
    /// infinite distance.
    pub fn from_matrix<T: Eq + Hash + Sync>(
        distances: ArrayView2<'_, f64>,
        probe_subjects: &[T],
        gallery_subjects: &[T],
    ) -> Result<Self, EvalError> {
        let (rows, cols) = distances.dim();
        if rows != probe_subjects.len() {
            return Err(EvalError::ShapeMismatch {
                what: "distance matrix rows vs probe subjects",
                left: rows,
                right: probe_subjects.len(),
            });
        }
        if cols != gallery_subjects.len() {
            return Err(EvalError::ShapeMismatch {
                what: "distance matrix columns vs gallery subjects",
                left: cols,
                right: gallery_subjects.len(),
            });
        }
        if cols == 0 {
            return Err(EvalError::Empty {
                what: "gallery references",
            });
        }
        if let Some((i, &v)) = distances.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EvalError::NonFinite {
                what: "distance matrix (row-major index)",
                index: i,
                value: v,
            });
        }
        // Dense subject indices for the gallery columns.
        let mut index: HashMap<&T, usize> = HashMap::new();
        let column_subject: Vec<usize> = gallery_subjects
            .iter()
            .map(|s| {
                let n = index.len();
                *index.entry(s).or_insert(n)
            })
            .collect();
        let n_subjects = index.len();
        let outcomes = distances
            .axis_iter(Axis(0))
            .into_par_iter()
            .zip(probe_subjects.par_iter())
            .map_init(
                || vec![f64::INFINITY; n_subjects],
                |best, (row, subject)| {
                    best.fill(f64::INFINITY);
                    for (&d, &s) in row.iter().zip(&column_subject) {
                        if d < best[s] {
                            best[s] = d;
                        }
                    }
                    match index.get(subject) {
                        Some(&mated) => {
                            let (rank, dm) = rank_of(best, mated).expect("finite matrix");
                            ProbeOutcome::Enrolled {
                                rank: Some(rank),
                                mated_distance: Some(dm),
                            }
                        }
                        None => ProbeOutcome::NotEnrolled {
                            best_distance: best.iter().copied().reduce(f64::min),
                        },
                    }
                },
            )
            .collect();
        Ok(Identification { outcomes })
    }

    /// Adds one search from its candidate list `(subject, distance)` (any order, possibly
    /// truncated, several entries per subject allowed). `enrolled` says whether the probe's
    /// subject is in the gallery, which a truncated list cannot tell.
    ///
    /// # Errors
    /// [`EvalError::NonFinite`] for a NaN or infinite distance; [`EvalError::InvalidParameter`]
    /// when `enrolled` is false but the probe's subject is among the candidates.
    pub fn push_candidates<T: Eq + Hash>(
        &mut self,
        probe_subject: &T,
        enrolled: bool,
        candidates: impl IntoIterator<Item = (T, f64)>,
    ) -> Result<(), EvalError> {
        let mut index: HashMap<T, usize> = HashMap::new();
        let mut best: Vec<f64> = Vec::new();
        for (i, (s, d)) in candidates.into_iter().enumerate() {
            if !d.is_finite() {
                return Err(EvalError::NonFinite {
                    what: "candidate distances",
                    index: i,
                    value: d,
                });
            }
            let n = index.len();
            let k = *index.entry(s).or_insert(n);
            if k == best.len() {
                best.push(d);
            } else if d < best[k] {
                best[k] = d;
            }
        }
        let mated = index.get(probe_subject).copied();
        let outcome = match (enrolled, mated) {
            (true, Some(m)) => {
                let (rank, dm) = rank_of(&best, m).expect("finite candidates");
                ProbeOutcome::Enrolled {
                    rank: Some(rank),
                    mated_distance: Some(dm),
                }
            }
            (true, None) => ProbeOutcome::Enrolled {
                rank: None,
                mated_distance: None,
            },
            (false, None) => ProbeOutcome::NotEnrolled {
                best_distance: best.iter().copied().reduce(f64::min),
            },
            (false, Some(_)) => {
                return Err(EvalError::InvalidParameter {
                    name: "enrolled",
                    value: "false".into(),
                    bound: "the probe's subject is among the candidates, so it is enrolled",
                });
            }
        };
        self.outcomes.push(outcome);
        Ok(())
    }

    fn enrolled_ranks(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.outcomes.iter().filter_map(|o| match o {
            ProbeOutcome::Enrolled { rank, .. } => Some(*rank),
            ProbeOutcome::NotEnrolled { .. } => None,
        })
    }

    /// The CMC for ranks 1 ..= `max_rank`. O(P + max_rank).
    ///
    /// # Errors
    /// [`EvalError::InvalidParameter`] for `max_rank` = 0; [`EvalError::Empty`] without enrolled
    /// probes.
    pub fn cmc(&self, max_rank: usize) -> Result<Cmc, EvalError> {
        if max_rank == 0 {
            return Err(EvalError::InvalidParameter {
                name: "max rank",
                value: "0".into(),
                bound: "must be ≥ 1",
            });
        }
        let mut hist = vec![0u64; max_rank];
        let mut total = 0u64;
        for rank in self.enrolled_ranks() {
            total += 1;
            if let Some(r) = rank.filter(|&r| r <= max_rank) {
                hist[r - 1] += 1;
            }
        }
        if total == 0 {
            return Err(EvalError::Empty {
                what: "enrolled probes",
            });
        }
        let mut acc = 0u64;
        let identification_rate = hist
            .iter()
            .map(|&h| {
                acc += h;
                acc as f64 / total as f64
            })
            .collect();
        Ok(Cmc {
            identification_rate,
            enrolled_probes: total,
        })
    }

    /// FPIR and FNIR at `threshold` with candidate lists of length `rank` (L). O(P).
    ///
    /// # Errors
    /// [`EvalError::InvalidParameter`] for `rank` = 0.
    pub fn open_set(&self, threshold: f64, rank: usize) -> Result<OpenSetRates, EvalError> {
        if rank == 0 {
            return Err(EvalError::InvalidParameter {
                name: "candidate list length",
                value: "0".into(),
                bound: "must be ≥ 1",
            });
        }
        let (mut fp, mut non, mut fneg, mut enr) = (0u64, 0u64, 0u64, 0u64);
        for o in &self.outcomes {
            match *o {
                ProbeOutcome::NotEnrolled { best_distance } => {
                    non += 1;
                    if best_distance.is_some_and(|d| d <= threshold) {
                        fp += 1;
                    }
                }
                ProbeOutcome::Enrolled {
                    rank: r,
                    mated_distance,
                } => {
                    enr += 1;
                    let hit = r.is_some_and(|r| r <= rank)
                        && mated_distance.is_some_and(|d| d <= threshold);
                    if !hit {
                        fneg += 1;
                    }
                }
            }
        }
        Ok(OpenSetRates {
            threshold,
            rank,
            fpir: (non > 0).then(|| fp as f64 / non as f64),
            fnir: (enr > 0).then(|| fneg as f64 / enr as f64),
            non_enrolled_probes: non,
            enrolled_probes: enr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ranks_over_subjects_with_pessimistic_ties() {
        // Gallery: subjects a, a, b, c. Probe of a: best a = 0.3; b = 0.3 ties, c = 0.1 ahead.
        let d = array![
            [0.5, 0.3, 0.3, 0.1],  // probe a: rank 3 (c ahead, b tied counts ahead)
            [0.2, 0.4, 0.25, 0.9], // probe a: rank 1
            [0.6, 0.6, 0.7, 0.05], // probe c: rank 1
            [0.4, 0.5, 0.35, 0.6], // probe z (not enrolled): best 0.35
        ];
        let id =
            Identification::from_matrix(d.view(), &["a", "a", "c", "z"], &["a", "a", "b", "c"])
                .unwrap();
        assert_eq!(
            id.outcomes()[0],
            ProbeOutcome::Enrolled {
                rank: Some(3),
                mated_distance: Some(0.3)
            }
        );
        assert_eq!(
            id.outcomes()[3],
            ProbeOutcome::NotEnrolled {
                best_distance: Some(0.35)
            }
        );
        let cmc = id.cmc(4).unwrap();
        assert_eq!(cmc.enrolled_probes, 3);
        assert_eq!(
            cmc.identification_rate,
            vec![2.0 / 3.0, 2.0 / 3.0, 1.0, 1.0]
        );
        assert_eq!(cmc.rank(3), Some(1.0));
        assert_eq!(cmc.rank(0), None);

        // Open set at t = 0.3, L = 1: probe 0 missed (rank 3); probe 1 hit (0.2);
        // probe 2 hit (0.05). Non-enrolled best 0.35 > 0.3: no false positive.
        let r = id.open_set(0.3, 1).unwrap();
        assert_eq!(r.fnir, Some(1.0 / 3.0));
        assert_eq!(r.fpir, Some(0.0));
        // t = 0.35 (tie accepted): the non-enrolled probe is a false positive.
        assert_eq!(id.open_set(0.35, 3).unwrap().fpir, Some(1.0));
        assert_eq!(id.open_set(0.35, 3).unwrap().fnir, Some(0.0));
        // t = 0.1: only probe 2 (0.05) hit.
        assert_eq!(id.open_set(0.1, 5).unwrap().fnir, Some(2.0 / 3.0));
    }

    #[test]
    fn candidate_lists_match_the_matrix() {
        let mut id = Identification::new();
        id.push_candidates(&"a", true, [("c", 0.1), ("b", 0.3), ("a", 0.5), ("a", 0.3)])
            .unwrap();
        id.push_candidates(&"a", true, [("c", 0.1)]).unwrap();
        id.push_candidates(&"z", false, [("c", 0.2), ("b", 0.1)])
            .unwrap();
        assert_eq!(
            id.outcomes(),
            &[
                ProbeOutcome::Enrolled {
                    rank: Some(3),
                    mated_distance: Some(0.3)
                },
                ProbeOutcome::Enrolled {
                    rank: None,
                    mated_distance: None
                },
                ProbeOutcome::NotEnrolled {
                    best_distance: Some(0.1)
                },
            ]
        );
        assert!(id.push_candidates(&"a", false, [("a", 0.1)]).is_err());
        assert!(id.push_candidates(&"a", true, [("a", f64::NAN)]).is_err());
    }

    #[test]
    fn bad_shapes_and_parameters() {
        let d = array![[0.1, 0.2]];
        assert!(matches!(
            Identification::from_matrix(d.view(), &[1, 2], &[1, 2]),
            Err(EvalError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            Identification::from_matrix(d.view(), &[1], &[1]),
            Err(EvalError::ShapeMismatch { .. })
        ));
        let id = Identification::from_matrix(d.view(), &[9], &[1, 2]).unwrap();
        assert!(matches!(id.cmc(3), Err(EvalError::Empty { .. })));
        assert!(id.cmc(0).is_err());
        assert!(id.open_set(0.5, 0).is_err());
        let r = id.open_set(0.5, 1).unwrap();
        assert_eq!((r.fpir, r.fnir), (Some(1.0), None));
    }
}
