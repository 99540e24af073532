//! Maximum curvature against the peer project's reference arrays (bob.bio.vein
//! `test_max_curvature`, MATLAB reference of B. Ton's `miura_max_curvature.m`), with the peer's
//! stated tolerances; see `../shared/peers/bob.bio.vein/README.md` §3.1.
//!
//! Skipped, with a printed reason, only when the peer folder is absent.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, s};
use openpalm::features::maxcurv;

/// The peer folder: `../shared` next to the crate (the main checkout), or two levels up (a
/// worktree under `wt/`).
fn peer_dir() -> Option<PathBuf> {
    [
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/peers/bob.bio.vein"),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/peers/bob.bio.vein"
        ),
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.join("maxcurv").is_dir())
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn u8_array(dir: &Path, name: &str, h: usize, w: usize) -> Array2<u8> {
    Array2::from_shape_vec((h, w), read(dir, name)).expect("shape from the sidecar")
}

fn f64_array(dir: &Path, name: &str, shape: &[usize]) -> Vec<f64> {
    let bytes = read(dir, name);
    assert_eq!(
        bytes.len(),
        shape.iter().product::<usize>() * 8,
        "{name} size"
    );
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

const H: usize = 190;
const W: usize = 336;
const SIGMA: f64 = 3.0;

#[test]
fn max_curvature_matches_bob_reference() {
    let Some(dir) = peer_dir() else {
        println!(
            "SKIPPED: peer folder ../shared/peers/bob.bio.vein not found next to {}",
            env!("CARGO_MANIFEST_DIR")
        );
        return;
    };
    let mc = dir.join("maxcurv");
    let image = u8_array(&mc, "image.u8", H, W).mapv(|v| v as f64 / 255.0);
    let mask = u8_array(&mc, "mask.u8", H, W).mapv(|v| v != 0);
    let vt_ref = Array2::from_shape_vec((H, W), f64_array(&mc, "vt_matlab.f64", &[H, W])).unwrap();
    let g_ref = Array2::from_shape_vec((H, W), f64_array(&mc, "g_matlab.f64", &[H, W])).unwrap();
    let bin_ref = u8_array(&mc, "bin_matlab.u8", H, W).mapv(|v| v != 0);

    // Step 1: curvature. No peer reference exists for it; cross-check against the helper's
    // independent NumPy reimplementation (`derived/`, explicitly not an authority).
    let kappa = maxcurv::kappa(image.view(), mask.view(), SIGMA).unwrap();
    let derived = mc.join("derived");
    if derived.join("kappa_reimpl.f64").is_file() {
        let k_ref = Array3::from_shape_vec(
            (H, W, 4),
            f64_array(&derived, "kappa_reimpl.f64", &[H, W, 4]),
        )
        .unwrap();
        let mut max = 0f64;
        for d in 0..4 {
            for y in 0..H {
                for x in 0..W {
                    max = max.max((kappa[[d, y, x]] - k_ref[[y, x, d]]).abs());
                }
            }
        }
        println!("kappa vs derived reimplementation: max |Δ| = {max:.3e}");
        assert!(
            max < 1e-12,
            "kappa differs from the NumPy cross-check by {max}"
        );
    }

    // Step 2: Vt, peer tolerance allclose(rtol 1e-3, atol 1e-4) everywhere.
    let vt = maxcurv::vein_centres(kappa.view()).unwrap();
    let mut worst = 0f64;
    let mut differing = 0;
    let mut sum = 0f64;
    for ((y, x), &b) in vt_ref.indexed_iter() {
        let a = vt[[y, x]];
        let d = (a - b).abs();
        sum += d;
        if d > 1e-9 {
            differing += 1;
        }
        worst = worst.max(d - (1e-4 + 1e-3 * b.abs()));
        assert!(
            d <= 1e-4 + 1e-3 * b.abs(),
            "Vt at ({y}, {x}): {a} vs MATLAB {b}"
        );
    }
    println!("Vt: {differing} pixels differ by > 1e-9, sum |Δ| = {sum:.6e}");
    // The peer's README measured 2 such pixels on the right edge and sum 9.2001e-05 (its
    // matlab/README printout says the same); hold the port to that.
    assert!(differing <= 2, "{differing} Vt pixels differ");
    assert!((sum - 9.2001e-5).abs() < 1e-8, "sum |ΔVt| = {sum}");

    // Step 3: G on the [2:-3, 2:-3] window (MATLAB's border bug), numpy isclose defaults.
    let g = maxcurv::connect_centres(vt.view()).unwrap();
    let win = s![2..H - 3, 2..W - 3];
    let mut max_g = 0f64;
    for (a, b) in g.slice(win).iter().zip(g_ref.slice(win)) {
        max_g = max_g.max((a - b).abs());
        assert!(
            (a - b).abs() <= 1e-8 + 1e-5 * b.abs(),
            "G {a} vs MATLAB {b}"
        );
    }
    println!("G[2:-3, 2:-3]: max |Δ| = {max_g:.3e}");

    // Step 4: binarised, peer tolerance: fewer than 30 of 63 840 pixels differ.
    let bin = maxcurv::binarise(g.view()).unwrap();
    let diff = bin.iter().zip(&bin_ref).filter(|(a, b)| a != b).count();
    println!(
        "binarised: {diff} pixels differ from MATLAB ({} vs {} ones)",
        bin.iter().filter(|&&v| v).count(),
        bin_ref.iter().filter(|&&v| v).count()
    );
    assert!(diff < 30, "{diff} binarised pixels differ");

    // With G restricted to MATLAB's frame the output is identical (README §3.1).
    let mut g_framed = Array2::zeros((H, W));
    g_framed.slice_mut(win).assign(&g.slice(win));
    let bin_framed = maxcurv::binarise(g_framed.view()).unwrap();
    assert_eq!(bin_framed, bin_ref);

    // The one-call path agrees with the steps.
    assert_eq!(
        maxcurv::max_curvature(image.view(), mask.view(), SIGMA).unwrap(),
        bin
    );
}
