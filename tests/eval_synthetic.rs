//! End-to-end check of the evaluation toolkit on synthetic scores with a known answer, and on
//! the small hand-computed golden score files in `testdata/eval/`.
//!
//! Mated distances ~ N(0.33, 0.04²), non-mated ~ N(0.45, 0.02²), clipped to [0, 1]. The
//! populations cross at t = (μ_m σ_nm + μ_nm σ_m)/(σ_m + σ_nm) = 0.41, where both z-scores are
//! 2, so the population EER is Φ(−2) = 2.275 %; FNMR at FMR = 10⁻³ is
//! Φ((0.45 − 3.0902·0.02 − 0.33)/0.04) = Φ(1.455) → 1 − 0.9272 = 7.28 %.
//!
//! The test writes `$CARGO_TARGET_TMPDIR/synthetic_scores.csv` (i.e.
//! `target/tmp/synthetic_scores.csv`), so the `evaluate` example can be run on it:
//! `cargo run --release --example evaluate -- --scores target/tmp/synthetic_scores.csv --out target/tmp/eval`.

use std::path::PathBuf;

use openpalm::eval::scores::{self, ScoreFormat, ScoreReadLimits};
use openpalm::eval::{FnmrAtFmr, ScoreRecord, ScoreSet, VerificationReport};

/// SplitMix64: a tiny deterministic generator, enough for test data.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

const MATED: usize = 2_000;
const NON_MATED: usize = 20_000;

/// Synthetic comparisons: 100 subjects × 20 mated comparisons each, 20 000 non-mated ones.
fn synthetic_records() -> Vec<ScoreRecord> {
    let mut rng = SplitMix(0x5EED_0006);
    let mut out = Vec::with_capacity(MATED + NON_MATED);
    // Round to 1/4096 (a 4096-bit code's resolution): realistic, and it makes ties happen.
    let q = |x: f64| (x.clamp(0.0, 1.0) * 4096.0).round() / 4096.0;
    for i in 0..MATED {
        let s = i / 20;
        let d = q(0.33 + 0.04 * rng.normal());
        out.push(ScoreRecord::new(
            format!("s{s:03}/p{i}"),
            format!("s{s:03}/r"),
            true,
            d,
        ));
    }
    for i in 0..NON_MATED {
        let (a, b) = (i % 100, (i / 100 + 1 + i % 100) % 100);
        let b = if a == b { (b + 1) % 100 } else { b };
        let d = q(0.45 + 0.02 * rng.normal());
        out.push(ScoreRecord::new(
            format!("s{a:03}/n{i}"),
            format!("s{b:03}/r"),
            false,
            d,
        ));
    }
    out
}

#[test]
fn synthetic_normals_give_the_population_eer() {
    let recs = synthetic_records();
    let set = ScoreSet::from_records(&recs).unwrap();
    let report = VerificationReport::new(&set, None);
    println!("{}", report.summary_table());

    // Sampling error of the EER with 2 000 mated comparisons is about
    // √(0.023·0.977/2000) ≈ 0.34 % (the non-mated side adds less); allow 3σ ≈ 1 %.
    let eer = report.eer.eer;
    assert!((eer - 0.02275).abs() < 0.01, "EER {eer}");
    assert!(
        (report.eer.threshold - 0.41).abs() < 0.01,
        "threshold {}",
        report.eer.threshold
    );
    // d' = 0.12 / √((0.04² + 0.02²)/2) = 3.79.
    assert!(
        (report.d_prime - 3.79).abs() < 0.15,
        "d' {}",
        report.d_prime
    );

    // 20 000 non-mated support 10⁻² and 10⁻³ (3 000 needed) but not 10⁻⁴ (30 000 needed).
    let f = &report.fnmr_at_fmr;
    let fnmr3 = f[1].fnmr().expect("1e-3 is supported");
    // Only ~20 non-mated distances lie in the 10⁻³ tail, so the empirical threshold is noisy
    // (here 0.383 instead of 0.388), which moves the FNMR by a few points.
    assert!((fnmr3 - 0.0728).abs() < 0.035, "FNMR@1e-3 {fnmr3}");
    assert!(f[0].fnmr().unwrap() < fnmr3);
    assert_eq!(
        f[2],
        FnmrAtFmr::NotSupported {
            target_fmr: 1e-4,
            non_mated: NON_MATED as u64,
            needed: 30_000
        }
    );

    // Write the score file for the example and read it back: identical metrics.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("synthetic_scores.csv");
    scores::write_csv(
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
        &recs,
    )
    .unwrap();
    let text = std::fs::read(&path).unwrap();
    let (fmt, back) = scores::read_any(&text[..], &ScoreReadLimits::default()).unwrap();
    assert_eq!(fmt, ScoreFormat::Csv);
    assert_eq!(back, recs);
    let report2 = VerificationReport::new(&ScoreSet::from_records(&back).unwrap(), None);
    assert_eq!(report2, report);

    // Through bob's format (score = −distance) the metrics are identical too.
    let mut bob = Vec::new();
    scores::write_bob4(&mut bob, &recs).unwrap();
    let back = scores::read_bob4(&bob[..], &ScoreReadLimits::default()).unwrap();
    assert_eq!(
        VerificationReport::new(&ScoreSet::from_records(&back).unwrap(), None),
        report
    );
}

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/eval")
            .join(name),
    )
    .unwrap()
}

/// `ties.csv` and `ties.bob4` hold the same 8 comparisons (hand-computed below); the files are
/// frozen so that both readers keep accepting them.
#[test]
fn golden_score_files_with_ties() {
    let limits = ScoreReadLimits::default();
    let csv = scores::read_csv(&testdata("ties.csv")[..], &limits).unwrap();
    let bob = scores::read_bob4(&testdata("ties.bob4")[..], &limits).unwrap();
    let sets = [
        ScoreSet::from_records(&csv).unwrap(),
        ScoreSet::from_records(&bob).unwrap(),
    ];
    for s in sets {
        // Mated {0.125, 0.25, 0.25, 0.5}, non-mated {0.25, 0.375, 0.5, 0.5}.
        assert_eq!(s.mated(), [0.125, 0.25, 0.25, 0.5]);
        assert_eq!(s.non_mated(), [0.25, 0.375, 0.5, 0.5]);
        // t = 0.25 accepts the tied mated and non-mated 0.25: FMR 1/4, FNMR 1/4 → EER 25 %.
        let e = s.eer();
        assert_eq!((e.eer, e.threshold), (0.25, 0.25));
        assert_eq!(e.below.unwrap().threshold, 0.125);
        assert_eq!(s.fmr(0.5), 1.0);
        assert_eq!(s.fnmr(0.375), 0.25);
    }
    // The ids of the CSV file include a quoted comma.
    assert!(csv.iter().any(|r| r.probe == "s1,left/3"));
}

/// Two systems on one DET plot (the way crease / vein / fused will be shown); written to
/// `target/tmp/det_two.{svg,png}` for inspection.
#[cfg(feature = "plot")]
#[test]
fn det_plot_with_two_curves() {
    use openpalm::eval::plot::{DetCurve, det_png, det_svg};
    let recs = synthetic_records();
    let a = ScoreSet::from_records(&recs).unwrap();
    // A weaker system: the mated distances moved 0.03 towards the non-mated ones.
    let b = ScoreSet::new(
        a.mated().iter().map(|d| d + 0.03).collect(),
        a.non_mated().to_vec(),
    )
    .unwrap();
    assert!(b.eer().eer > a.eer().eer);
    let curves = [DetCurve::new("system A", &a), DetCurve::new("system B", &b)];
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let svg = det_svg(&curves, Some("Synthetic scores")).unwrap();
    assert!(svg.contains("system A (EER") && svg.contains("system B (EER"));
    std::fs::write(dir.join("det_two.svg"), svg).unwrap();
    std::fs::write(
        dir.join("det_two.png"),
        det_png(&curves, Some("Synthetic scores")).unwrap(),
    )
    .unwrap();
}
