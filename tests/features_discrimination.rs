//! Discrimination sanity check of every extractor on simple procedural line textures
//! (`features::pattern`, not the synthetic palm generator): captures of the same texture
//! ("mated") must be closer than captures of different textures ("non-mated") under a naive
//! masked fractional Hamming distance with a joint ±3-cell shift search, written here
//! independently of the real matcher.

use openpalm::PalmTemplate;
use openpalm::features::pattern::{PatternKind, line_texture};
use openpalm::features::{FeatureExtractor, MaxCurvatureVein, OrientedCodeExtractor};

/// min over shifts (dy, dx) ∈ [−s, s]² of Σ_p |a_p ≠ b_p| over jointly valid cells /
/// (planes · jointly valid cells); `None` when no shift leaves 25 % of the cells.
fn naive_distance(a: &PalmTemplate, b: &PalmTemplate, s: isize) -> Option<f64> {
    let g = a.geometry();
    let (rows, cols, planes) = (g.rows() as isize, g.cols() as isize, g.planes());
    let mut best: Option<f64> = None;
    for dy in -s..=s {
        for dx in -s..=s {
            let (mut diff, mut n) = (0usize, 0usize);
            for r in 0..rows {
                for c in 0..cols {
                    let (rb, cb) = (r + dy, c + dx);
                    if rb < 0 || cb < 0 || rb >= rows || cb >= cols {
                        continue;
                    }
                    let (r, c, rb, cb) = (r as usize, c as usize, rb as usize, cb as usize);
                    if !(a.is_valid(r, c) && b.is_valid(rb, cb)) {
                        continue;
                    }
                    n += 1;
                    diff += (0..planes)
                        .filter(|&p| a.bit(p, r, c) != b.bit(p, rb, cb))
                        .count();
                }
            }
            if n * 4 >= g.cells() {
                let d = diff as f64 / (planes * n) as f64;
                best = Some(best.map_or(d, |b: f64| b.min(d)));
            }
        }
    }
    best
}

fn stats(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, sd, lo, hi)
}

fn check(name: &str, mut ex: impl FeatureExtractor, kind: PatternKind) {
    const IDS: u64 = 6;
    const SAMPLES: u64 = 3;
    let templates: Vec<(u64, PalmTemplate)> = (0..IDS)
        .flat_map(|id| (0..SAMPLES).map(move |s| (id, s)))
        .map(|(id, s)| {
            (
                id,
                ex.extract(&line_texture(kind, 128, id, s, 4.0)).unwrap(),
            )
        })
        .collect();
    let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
    for i in 0..templates.len() {
        for j in i + 1..templates.len() {
            let d = naive_distance(&templates[i].1, &templates[j].1, 3)
                .expect("enough overlap on full-valid textures");
            if templates[i].0 == templates[j].0 {
                mated.push(d);
            } else {
                non_mated.push(d);
            }
        }
    }
    let (mm, ms, _, mhi) = stats(&mated);
    let (nm, ns, nlo, _) = stats(&non_mated);
    let valid = stats(
        &templates
            .iter()
            .map(|t| t.1.valid_cells() as f64)
            .collect::<Vec<_>>(),
    )
    .0;
    println!(
        "{name:>12}: mated {mm:.3} ± {ms:.3} (max {mhi:.3}), non-mated {nm:.3} ± {ns:.3} (min {nlo:.3}), valid cells {valid:.0}"
    );
    assert!(
        mhi < nlo,
        "{name}: a mated distance {mhi} ≥ a non-mated {nlo}"
    );
    assert!(nm - mm > 0.1, "{name}: means {mm} vs {nm}");
}

#[test]
fn mated_closer_than_non_mated() {
    check(
        "compcode",
        OrientedCodeExtractor::comp_code(),
        PatternKind::Crease,
    );
    check("bocv", OrientedCodeExtractor::bocv(), PatternKind::Crease);
    check(
        "doc",
        OrientedCodeExtractor::double_orientation(),
        PatternKind::Crease,
    );
    check(
        "vein-bocv",
        OrientedCodeExtractor::vein_bocv(),
        PatternKind::Vein,
    );
    check(
        "vein-maxcurv",
        MaxCurvatureVein::default(),
        PatternKind::Vein,
    );
}

/// A 128 px window of a 176 px texture at offset `(oy, ox)`: the same palm under an ROI
/// misplaced by a pure translation.
fn window_of(
    kind: PatternKind,
    identity: u64,
    oy: usize,
    ox: usize,
) -> openpalm::features::RoiImage {
    let big = line_texture(kind, 176, identity, 0, 0.0);
    let p = big.pixels();
    openpalm::features::RoiImage::from_fn(128, |r, c| (p[[r + oy, c + ox]], true)).unwrap()
}

fn window(identity: u64, oy: usize, ox: usize) -> openpalm::features::RoiImage {
    window_of(PatternKind::Vein, identity, oy, ox)
}

/// The matcher's distance under the default window.
fn default_distance(a: &PalmTemplate, b: &PalmTemplate) -> f64 {
    use openpalm::matching::{ComparisonOutcome, MatchConfig, Matcher};
    match Matcher::new(a, &MatchConfig::default())
        .unwrap()
        .compare(b)
        .unwrap()
    {
        ComparisonOutcome::Compared(c) => c.distance,
        o => panic!("{o:?}"),
    }
}

/// Why the crease codes (version 2) use 16 × 16 cells at a coarse scale: as for the vein codes,
/// a 14-px ROI translation must leave the code of the same crease texture far closer than any
/// other texture under the default ±2-cell window, which the version-1 geometry (32 × 32 cells
/// at the published scale, a ±8-px window) cannot.
#[test]
fn crease_codes_absorb_a_14_px_roi_translation() {
    use openpalm::features::GaborParams;
    let mut v1 = OrientedCodeExtractor::bocv().params().clone();
    v1.grid_cells = 32;
    v1.core_radius_px = 6;
    v1.gabor = GaborParams::CREASE_PUBLISHED;
    for (name, mut ex) in [
        ("bocv", OrientedCodeExtractor::bocv()),
        ("compcode", OrientedCodeExtractor::comp_code()),
        ("doc", OrientedCodeExtractor::double_orientation()),
        ("bocv version 1", OrientedCodeExtractor::new(v1).unwrap()),
    ] {
        let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
        for id in 0..4 {
            let w = |id, oy, ox| window_of(PatternKind::Crease, id, oy, ox);
            let a = ex.extract(&w(id, 24, 24)).unwrap();
            let b = ex.extract(&w(id, 24 + 14, 24 - 14)).unwrap();
            mated.push(default_distance(&a, &b));
            for other in 0..4 {
                if other != id {
                    non_mated.push(default_distance(
                        &a,
                        &ex.extract(&w(other, 24, 24)).unwrap(),
                    ));
                }
            }
        }
        let (mm, _, _, mhi) = stats(&mated);
        let (nm, _, nlo, _) = stats(&non_mated);
        println!(
            "{name:>22}: 14-px translation, mated {mm:.3} (max {mhi:.3}); non-mated {nm:.3} (min {nlo:.3})"
        );
        if name == "bocv version 1" {
            assert!(mm > 0.35, "{name}: mated mean {mm}");
        } else {
            assert!(
                mhi < 0.3 && mhi < nlo - 0.1,
                "{name}: mated max {mhi}, non-mated min {nlo}"
            );
        }
    }
}

/// Why the vein codes use 16 × 16 cells: the default matcher window is ±2 cells, i.e. ±16 px at
/// 8-px cells but only ±8 px at 4-px cells. A 14-px ROI translation (11 % of the side, the
/// size of the NIR detector's larger placement errors) must leave the default vein code of the
/// same texture far closer than any other texture, and closer than the 32-cell variant of the
/// same code manages.
#[test]
fn vein_codes_absorb_a_14_px_roi_translation() {
    use openpalm::features::MaxCurvatureVeinParams;
    let distance = default_distance;
    let fine = MaxCurvatureVein::new(MaxCurvatureVeinParams {
        grid_cells: 32,
        ..MaxCurvatureVeinParams::default()
    })
    .unwrap();
    for (name, mut ex) in [
        (
            "vein-maxcurv",
            Box::new(MaxCurvatureVein::default()) as Box<dyn FeatureExtractor>,
        ),
        ("vein-bocv", Box::new(OrientedCodeExtractor::vein_bocv())),
        ("vein-maxcurv 32 cells", Box::new(fine)),
    ] {
        let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
        for id in 0..4 {
            let a = ex.extract(&window(id, 24, 24)).unwrap();
            let b = ex.extract(&window(id, 24 + 14, 24 - 14)).unwrap();
            mated.push(distance(&a, &b));
            for other in 0..4 {
                if other != id {
                    non_mated.push(distance(&a, &ex.extract(&window(other, 24, 24)).unwrap()));
                }
            }
        }
        let (mm, _, _, mhi) = stats(&mated);
        let (nm, _, nlo, _) = stats(&non_mated);
        println!(
            "{name:>22}: 14-px translation, mated {mm:.3} (max {mhi:.3}); non-mated {nm:.3} (min {nlo:.3})"
        );
        if name == "vein-maxcurv 32 cells" {
            // Beyond its window: the same texture is barely closer than another one.
            assert!(mm > 0.3, "{name}: mated mean {mm}");
        } else {
            assert!(
                mhi < 0.25 && mhi < nlo - 0.1,
                "{name}: mated max {mhi}, non-mated min {nlo}"
            );
        }
    }
}
