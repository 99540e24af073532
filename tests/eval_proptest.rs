//! Property tests of `openpalm::eval` against naive O(n²) reference implementations.
//!
//! Distances are drawn from a coarse grid (multiples of 1/16) so that ties between and within
//! the mated and non-mated sets are frequent.

use ndarray::Array2;
use openpalm::eval::scores::{self, ScoreReadLimits};
use openpalm::eval::{FnmrAtFmr, Identification, ProbeOutcome, ScoreRecord, ScoreSet};
use proptest::prelude::*;

fn grid() -> impl Strategy<Value = f64> {
    (0u8..=16).prop_map(|k| f64::from(k) / 16.0)
}

fn dists(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(grid(), 1..max)
}

/// Naive counts at threshold t: (false matches, false non-matches).
fn naive_counts(m: &[f64], n: &[f64], t: f64) -> (u64, u64) {
    let fm = n.iter().filter(|&&d| d <= t).count() as u64;
    let fnm = m.iter().filter(|&&d| d > t).count() as u64;
    (fm, fnm)
}

/// Naive distinct thresholds, ascending.
fn naive_thresholds(m: &[f64], n: &[f64]) -> Vec<f64> {
    let mut all: Vec<f64> = m.iter().chain(n).copied().collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    all
}

/// Naive EER following the definition in `Eer`'s docs, from scratch.
fn naive_eer(m: &[f64], n: &[f64]) -> (f64, f64) {
    let (mf, nf) = (m.len() as f64, n.len() as f64);
    let mut prev = (0.0, 1.0);
    for t in naive_thresholds(m, n) {
        let (fm, fnm) = naive_counts(m, n, t);
        let (fmr, fnmr) = (fm as f64 / nf, fnm as f64 / mf);
        if fmr >= fnmr {
            let (a, c) = prev;
            let lambda = (c - a) / ((c - a) + (fmr - fnmr));
            return (a + lambda * (fmr - a), t);
        }
        prev = (fmr, fnmr);
    }
    unreachable!()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rates_match_naive_at_every_threshold(m in dists(40), n in dists(40), extra in prop::collection::vec(-0.1f64..1.1, 0..8)) {
        let s = ScoreSet::new(m.clone(), n.clone()).unwrap();
        let mut ts = naive_thresholds(&m, &n);
        ts.extend(ts.clone().iter().map(|t| t - 1.0 / 32.0));
        ts.extend(extra);
        for t in ts {
            let p = s.operating_point(t);
            prop_assert_eq!((p.false_matches, p.false_non_matches), naive_counts(&m, &n, t), "t = {}", t);
            prop_assert_eq!(p.fmr, naive_counts(&m, &n, t).0 as f64 / n.len() as f64);
        }
    }

    #[test]
    fn det_matches_naive(m in dists(40), n in dists(40)) {
        let s = ScoreSet::new(m.clone(), n.clone()).unwrap();
        let det = s.det();
        let ts = naive_thresholds(&m, &n);
        prop_assert_eq!(det.len(), ts.len());
        for (p, t) in det.iter().zip(&ts) {
            prop_assert_eq!(p.threshold, *t);
            prop_assert_eq!((p.false_matches, p.false_non_matches), naive_counts(&m, &n, *t));
        }
        // Monotone: FMR rises, FNMR falls, strictly increasing thresholds.
        for w in det.windows(2) {
            prop_assert!(w[0].threshold < w[1].threshold);
            prop_assert!(w[0].fmr <= w[1].fmr && w[0].fnmr >= w[1].fnmr);
        }
    }

    #[test]
    fn eer_matches_naive_and_is_bracketed(m in dists(40), n in dists(40)) {
        let s = ScoreSet::new(m.clone(), n.clone()).unwrap();
        let e = s.eer();
        let (want, t) = naive_eer(&m, &n);
        prop_assert!((e.eer - want).abs() < 1e-12, "{} vs {}", e.eer, want);
        prop_assert_eq!(e.threshold, t);
        // The EER lies between the rates of the two bracketing operating points.
        let (a, c) = e.below.map_or((0.0, 1.0), |b| (b.fmr, b.fnmr));
        prop_assert!(a < c);
        prop_assert!(e.at.fmr >= e.at.fnmr);
        let lo = a.max(e.at.fnmr) - 1e-12;
        let hi = c.min(e.at.fmr) + 1e-12;
        prop_assert!(lo <= e.eer && e.eer <= hi, "{} not in [{}, {}]", e.eer, lo, hi);
    }

    #[test]
    fn fnmr_at_fmr_matches_naive_search(m in dists(30), n in prop::collection::vec(grid(), 1..700), target in 0.004f64..0.5) {
        let s = ScoreSet::new(m.clone(), n.clone()).unwrap();
        let r = s.fnmr_at_fmr(target).unwrap();
        let needed = (3.0 / target * (1.0 - 1e-9)).ceil() as usize;
        if n.len() < needed {
            prop_assert!(matches!(r, FnmrAtFmr::NotSupported { .. }), "{:?}", r);
        } else {
            let FnmrAtFmr::Supported { point, .. } = r else { unreachable!() };
            // Naive: the largest candidate threshold (observed values, and just below the
            // smallest one) whose FMR ≤ target.
            let mut cands = naive_thresholds(&m, &n);
            cands.insert(0, cands[0].next_down());
            let best = cands
                .iter()
                .copied()
                .filter(|&t| naive_counts(&m, &n, t).0 as f64 / n.len() as f64 <= target)
                .fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(point.threshold, best);
            prop_assert_eq!((point.false_matches, point.false_non_matches), naive_counts(&m, &n, best));
            prop_assert!(point.fmr <= target);
        }
    }

    #[test]
    fn cmc_and_open_set_match_naive(
        rows in 1usize..8,
        gallery in prop::collection::vec(0u8..5, 1..10),
        probe_subjects in prop::collection::vec(0u8..7, 8),
        values in prop::collection::vec(grid(), 80),
        t in 0.0f64..1.0,
        l in 1usize..6,
    ) {
        let g = gallery.len();
        let d = Array2::from_shape_fn((rows, g), |(i, j)| values[(i * g + j) % values.len()]);
        let probes = &probe_subjects[..rows];
        let id = Identification::from_matrix(d.view(), probes, &gallery).unwrap();
        let mut ranks = Vec::new();
        for (i, p) in probes.iter().enumerate() {
            // Naive per-subject minimum.
            let subject_min = |s: u8| (0..g).filter(|&j| gallery[j] == s).map(|j| d[[i, j]]).fold(f64::INFINITY, f64::min);
            let mut subjects = gallery.clone();
            subjects.sort();
            subjects.dedup();
            if subjects.contains(p) {
                let dm = subject_min(*p);
                let rank = 1 + subjects.iter().filter(|&&s| s != *p && subject_min(s) <= dm).count();
                prop_assert_eq!(id.outcomes()[i], ProbeOutcome::Enrolled { rank: Some(rank), mated_distance: Some(dm) });
                ranks.push(Some((rank, dm)));
            } else {
                let best = (0..g).map(|j| d[[i, j]]).fold(f64::INFINITY, f64::min);
                prop_assert_eq!(id.outcomes()[i], ProbeOutcome::NotEnrolled { best_distance: Some(best) });
                ranks.push(None);
            }
        }
        let enrolled: Vec<_> = ranks.iter().flatten().collect();
        if !enrolled.is_empty() {
            let cmc = id.cmc(10).unwrap();
            for k in 1..=10 {
                let want = enrolled.iter().filter(|(r, _)| *r <= k).count() as f64 / enrolled.len() as f64;
                prop_assert_eq!(cmc.rank(k), Some(want));
            }
            let misses = enrolled.iter().filter(|(r, dm)| !(*r <= l && *dm <= t)).count();
            prop_assert_eq!(id.open_set(t, l).unwrap().fnir, Some(misses as f64 / enrolled.len() as f64));
        }
        // Reversing the gallery order changes nothing.
        let rev: Vec<u8> = gallery.iter().rev().copied().collect();
        let drev = Array2::from_shape_fn((rows, g), |(i, j)| d[[i, g - 1 - j]]);
        let id2 = Identification::from_matrix(drev.view(), probes, &rev).unwrap();
        prop_assert_eq!(id.outcomes(), id2.outcomes());
    }

    #[test]
    fn csv_and_bob_round_trip(
        rows in prop::collection::vec(("[^\\p{Cc}]{1,12}", "[^\\p{Cc}]{1,12}", any::<bool>(), -1e6f64..1e6), 0..20)
    ) {
        let recs: Vec<ScoreRecord> = rows.into_iter().map(|(p, r, m, d)| ScoreRecord::new(p, r, m, d)).collect();
        let mut buf = Vec::new();
        scores::write_csv(&mut buf, &recs).unwrap();
        let back = scores::read_csv(&buf[..], &ScoreReadLimits::default()).unwrap();
        prop_assert_eq!(&back, &recs);
        // bob: only ids without whitespace, and non-mated rows need distinct ids.
        let bob: Vec<ScoreRecord> = recs
            .into_iter()
            .filter(|r| !r.probe.contains(char::is_whitespace) && !r.reference.contains(char::is_whitespace))
            .filter(|r| !r.probe.starts_with('#') && !r.reference.starts_with('#'))
            .filter(|r| r.mated || r.probe != r.reference)
            .collect();
        let mut buf = Vec::new();
        scores::write_bob4(&mut buf, &bob).unwrap();
        let back = scores::read_bob4(&buf[..], &ScoreReadLimits::default()).unwrap();
        prop_assert_eq!(back, bob);
    }
}
