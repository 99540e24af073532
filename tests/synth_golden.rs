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
