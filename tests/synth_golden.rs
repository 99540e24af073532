//! Golden regression of the synthetic palm generator: checksums of a few small captures.
//! Any change to the model changes these on purpose; regenerate with
//! `REGENERATE=1 cargo test --release --features synth --test synth_golden` and say why in the
//! commit. (Checksums assume the platform's libm `sin`/`cos`/`exp` agree with the one that made
//! them; see the determinism note in `openpalm::synth`.)

use openpalm::synth::{CaptureOptions, Generator, Identity};

const GOLDEN: &str = "testdata/synth/golden_checksums.txt";

/// FNV-1a 64 over bytes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn captures_match_golden_checksums() {
    let g = Generator::new(CaptureOptions {
        width_px: 160,
        height_px: 120,
        color: true,
        ..CaptureOptions::default()
    })
    .unwrap();
    let mut lines = Vec::new();
    for seed in [1u64, 2, 3] {
        let id = Identity::from_seed(seed);
        for sample in [0u64, 1] {
            let c = g.capture(&id, sample);
            lines.push(format!(
                "identity {seed} sample {sample}: visible {:016x} nir {:016x} rgb {:016x} mask {:016x}",
                fnv(c.visible.as_raw()),
                fnv(c.nir.as_raw()),
                fnv(c.rgb.as_ref().unwrap().as_raw()),
                fnv(c.mask.as_raw())
            ));
        }
    }
    let got = lines.join("\n") + "\n";
    if std::env::var_os("REGENERATE").is_some() {
        std::fs::write(GOLDEN, &got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(GOLDEN).expect("golden file present (REGENERATE=1 to create)");
    assert_eq!(
        got, want,
        "synthetic captures changed; if intended, regenerate (see module doc)"
    );
}

const GOLDEN_640: &str = "testdata/synth/golden_checksums_640.txt";

/// Full-size captures with the default options (gray visible + NIR, no colour), any rotation,
/// including accessories, blur and contact pegs: the path the benchmarks and evaluations use.
/// Frozen before the renderer's speed work of 2026-12-04 (which had to keep every pixel).
#[test]
fn full_size_default_captures_match_golden_checksums() {
    let opts = [
        CaptureOptions::default(),
        CaptureOptions {
            max_rotation_deg: 180.0,
            defocus_probability: 0.5,
            motion_blur_probability: 0.5,
            ..CaptureOptions::default()
        },
        CaptureOptions {
            contact_pegs: true,
            ring_probability: 1.0,
            bracelet_probability: 1.0,
            sleeve_probability: 1.0,
            ..CaptureOptions::default()
        },
    ];
    let mut lines = Vec::new();
    for (k, o) in opts.into_iter().enumerate() {
        let g = Generator::new(o).unwrap();
        for seed in [11u64, 12, 13, 14] {
            let id = Identity::from_seed(seed);
            for sample in [0u64, 1, 2] {
                let c = g.capture(&id, sample);
                lines.push(format!(
                    "options {k} identity {seed} sample {sample}: visible {:016x} nir {:016x} mask {:016x}",
                    fnv(c.visible.as_raw()),
                    fnv(c.nir.as_raw()),
                    fnv(c.mask.as_raw())
                ));
            }
        }
    }
    let got = lines.join("\n") + "\n";
    if std::env::var_os("REGENERATE").is_some() {
        std::fs::write(GOLDEN_640, &got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(GOLDEN_640).expect("golden file present (REGENERATE=1 to create)");
    assert_eq!(
        got, want,
        "synthetic captures changed; if intended, regenerate (see module doc)"
    );
}

/// Asking for the colour frame changes nothing in the gray visible, NIR and mask frames (the
/// renderer takes a luminance-only path without colour output).
#[test]
fn colour_output_does_not_change_the_gray_frames() {
    let base = CaptureOptions {
        max_rotation_deg: 180.0,
        defocus_probability: 0.3,
        motion_blur_probability: 0.3,
        ..CaptureOptions::default()
    };
    let gray = Generator::new(base.clone()).unwrap();
    let colour = Generator::new(CaptureOptions {
        color: true,
        ..base
    })
    .unwrap();
    for seed in 20u64..24 {
        let id = Identity::from_seed(seed);
        for sample in 0..3 {
            let (a, b) = (gray.capture(&id, sample), colour.capture(&id, sample));
            assert!(a.rgb.is_none() && b.rgb.is_some());
            assert_eq!(a.visible, b.visible, "identity {seed} sample {sample}");
            assert_eq!(a.nir, b.nir);
            assert_eq!(a.mask, b.mask);
            assert_eq!(a.truth, b.truth);
        }
    }
}
