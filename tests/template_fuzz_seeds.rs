//! Replays the fuzz seed corpus through the exact fuzz target bodies
//! (`openpalm::template::fuzzing`), so an ordinary `cargo test` re-checks every seed and every
//! regression input the fuzzer ever found.
//!
//! Corpus: the golden files `testdata/templates/v1/*.bin` plus `fuzz/seeds/<target>/*`. The
//! hand-made seeds (`seed_*` files) were written once with
//!
//! ```text
//! REGENERATE=1 cargo test --test template_fuzz_seeds
//! ```
//!
//! Crash inputs found by `cargo fuzz` go to `fuzz/seeds/<target>/` under a `crash-…` name
//! after the fix, and are replayed here forever.

use openpalm::template::fuzzing;
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out
}

/// Hand-made seeds that reach the corners of the decoder: (name, bytes, decodes?).
fn seeds() -> Vec<(&'static str, Vec<u8>, bool)> {
    let t = PalmTemplate::from_fn(
        Modality::Vein,
        Algorithm::new(1, 1, 2),
        Geometry::new(5, 13, 2).unwrap(),
        |p, r, c| (p + r * 3 + c) % 4 == 1,
        |r, c| r != c,
    );
    let base = t.to_bytes();
    let patch = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        fuzzing::with_fixed_crc(&b)
    };
    // Format 1.1 with 8 appended header bytes.
    let mut ext = base[..32].to_vec();
    ext[5] = 1;
    ext[6] = 40;
    ext.extend_from_slice(&[0xAB; 8]);
    ext.extend_from_slice(&base[32..]);
    let ext = fuzzing::with_fixed_crc(&ext);
    // Largest geometry the default limits accept.
    let big = PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(0x9000, 3, 1),
        Geometry::new(128, 128, 8).unwrap(),
        |p, r, c| (p ^ r ^ c) & 1 == 1,
        |r, _| r % 2 == 0,
    )
    .to_bytes();
    vec![
        ("seed_vein_5x13x2", base.clone(), true),
        ("seed_format_1_1_extended_header", ext, true),
        ("seed_max_default_geometry", big, true),
        ("seed_version_mismatch", patch(&|b| b[12] = 2), false),
        ("seed_unknown_flag", patch(&|b| b[31] = 0x80), false),
        (
            "seed_trailing_bytes",
            {
                let mut b = base[..base.len() - 4].to_vec();
                b.extend_from_slice(&[0; 12]);
                fuzzing::with_fixed_crc(&b)
            },
            false,
        ),
        ("seed_padding_bit", patch(&|b| b[32 + 15] = 0x80), false),
        ("seed_minimal_header_only", base[..36].to_vec(), false),
    ]
}

#[test]
fn seed_corpus_replays_through_the_fuzz_targets() {
    let regenerate = std::env::var_os("REGENERATE").is_some_and(|v| v == "1");
    let mut count = 0;
    for target in ["template_decode", "template_roundtrip"] {
        let dir = root().join("fuzz/seeds").join(target);
        if regenerate {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes, _) in seeds() {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        let mut corpus = files(&root().join("testdata/templates/v1"));
        corpus.extend(files(&dir));
        assert!(corpus.len() >= 10, "{target}: only {} seeds", corpus.len());
        for (path, bytes) in corpus {
            eprintln!("{target} <- {}", path.display());
            match target {
                "template_decode" => fuzzing::template_decode(&bytes),
                _ => fuzzing::template_roundtrip(&bytes),
            }
            count += 1;
        }
    }
    assert!(count >= 20);
}

#[test]
fn hand_made_seeds_are_committed_and_do_what_they_say() {
    for target in ["template_decode", "template_roundtrip"] {
        let dir = root().join("fuzz/seeds").join(target);
        for (name, bytes, decodes) in seeds() {
            let on_disk = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(on_disk, bytes, "{target}/{name} differs from its generator");
            assert_eq!(
                PalmTemplate::from_bytes(&bytes).is_ok(),
                decodes,
                "{name}: {:?}",
                PalmTemplate::from_bytes(&bytes)
            );
        }
    }
}
