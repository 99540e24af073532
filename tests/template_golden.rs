//! Frozen golden files of template format v1 (`testdata/templates/v1/*.bin`).
//!
//! Each file must keep decoding to the template built here, and encoding that template must give
//! the file byte for byte. The files were generated once with
//!
//! ```text
//! REGENERATE=1 cargo test --test template_golden
//! ```
//!
//! and are then frozen: regenerating them is only legitimate together with a new format
//! version (add `testdata/templates/v2/`, never rewrite v1). The length and stored CRC of each
//! file are pinned below as well, so a regeneration cannot go unnoticed.

use openpalm::template::format::TemplateLimits;
use openpalm::template::fuzzing;
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};
use std::path::PathBuf;

/// A fixed, platform-independent pseudo-random bit for (seed, plane, row, col) (SplitMix64).
fn bit(seed: u64, plane: usize, row: usize, col: usize) -> bool {
    let mut z = seed
        .wrapping_add((plane as u64) << 40)
        .wrapping_add((row as u64) << 20)
        .wrapping_add(col as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & 1 == 1
}

struct Golden {
    file: &'static str,
    /// Pinned file length in bytes.
    len: usize,
    /// Pinned CRC-32C trailer.
    crc: u32,
    build: fn() -> PalmTemplate,
}

fn geometry(rows: u16, cols: u16, planes: u8) -> Geometry {
    Geometry::new(rows, cols, planes).unwrap()
}

/// Default geometry, crease, test algorithm 1 v1.0, an elliptical valid region.
fn crease_default() -> PalmTemplate {
    PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 1, 0),
        Geometry::DEFAULT,
        |p, r, c| bit(1, p, r, c),
        |r, c| {
            let (y, x) = (r as f64 - 15.5, c as f64 - 15.5);
            y * y / 256.0 + x * x / 196.0 <= 1.0
        },
    )
}

/// Vein, 24 × 40 × 2 (960 cells, 15 words per plane, no padding), algorithm minor version 3.
fn vein() -> PalmTemplate {
    PalmTemplate::from_fn(
        Modality::Vein,
        Algorithm::new(1, 1, 3),
        geometry(24, 40, 2),
        |p, r, c| bit(2, p, r, c),
        |r, c| !(r < 3 && c > 30),
    )
}

/// Odd geometry 17 × 23 × 2: 391 cells, 7 words per plane, 57 padding bits in each last word.
fn odd_padding() -> PalmTemplate {
    PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 1, 0),
        geometry(17, 23, 2),
        |p, r, c| bit(3, p, r, c),
        |r, c| (r * 23 + c) % 11 != 0,
    )
}

/// All cells masked out (no valid cell), 16 × 16 × 1; code bits still set.
fn all_masked() -> PalmTemplate {
    PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 1, 0),
        geometry(16, 16, 1),
        |p, r, c| bit(4, p, r, c),
        |_, _| false,
    )
}

/// A user-defined algorithm (id 0x8001 v7.3), vein, default geometry, every cell valid.
fn user_algorithm() -> PalmTemplate {
    PalmTemplate::from_fn(
        Modality::Vein,
        Algorithm::new(0x8001, 7, 3),
        Geometry::DEFAULT,
        |p, r, c| bit(5, p, r, c),
        |_, _| true,
    )
}

const GOLDEN: &[Golden] = &[
    Golden {
        file: "crease_32x32x3.bin",
        len: 548,
        crc: 0x637b_8a09,
        build: crease_default,
    },
    Golden {
        file: "vein_24x40x2.bin",
        len: 396,
        crc: 0x3da3_d11a,
        build: vein,
    },
    Golden {
        file: "odd_17x23x2_padding.bin",
        len: 204,
        crc: 0xca94_7960,
        build: odd_padding,
    },
    Golden {
        file: "all_masked_16x16x1.bin",
        len: 100,
        crc: 0x2b38_6924,
        build: all_masked,
    },
    Golden {
        file: "user_algorithm_32x32x3.bin",
        len: 548,
        crc: 0x8c09_f118,
        build: user_algorithm,
    },
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/templates/v1")
}

fn read(file: &str) -> Vec<u8> {
    let path = dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn regenerate() -> bool {
    std::env::var_os("REGENERATE").is_some_and(|v| v == "1")
}

fn trailer(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap())
}

#[test]
fn golden_files_decode_and_encode_byte_for_byte() {
    if regenerate() {
        std::fs::create_dir_all(dir()).unwrap();
        for g in GOLDEN {
            let bytes = (g.build)().to_bytes();
            std::fs::write(dir().join(g.file), &bytes).unwrap();
            eprintln!(
                "wrote {}: len {}, crc {:#010x}",
                g.file,
                bytes.len(),
                trailer(&bytes)
            );
        }
    }
    for g in GOLDEN {
        let bytes = read(g.file);
        let expected = (g.build)();
        assert_eq!(bytes.len(), g.len, "{}: length", g.file);
        if !regenerate() {
            assert_eq!(trailer(&bytes), g.crc, "{}: stored CRC-32C", g.file);
        }
        let decoded = PalmTemplate::from_bytes(&bytes)
            .unwrap_or_else(|e| panic!("{}: golden file no longer decodes: {e}", g.file));
        assert_eq!(decoded, expected, "{}: decoded template", g.file);
        assert_eq!(expected.to_bytes(), bytes, "{}: encoding", g.file);
        assert_eq!(decoded.to_bytes(), bytes, "{}: re-encoding", g.file);
    }
}

#[test]
fn golden_header_matches_the_documented_table() {
    // crease_32x32x3.bin, header bytes 0..32 as specified in openpalm::template::format.
    let b = read("crease_32x32x3.bin");
    #[rustfmt::skip]
    let header: [u8; 32] = [
        b'O', b'P', b'L', b'M', // magic
        1, 0,                   // format 1.0
        32, 0,                  // header_len
        1,                      // modality: crease
        3,                      // planes
        1, 0,                   // algorithm id 1
        1, 0, 0, 0,             // algorithm v1.0
        32, 0, 32, 0,           // rows, cols
        0x00, 0x02, 0, 0,       // payload_len 512
        0, 0, 0, 0, 0, 0, 0, 0, // flags
    ];
    assert_eq!(b[..32], header);
    assert_eq!(trailer(&b), crc32c::crc32c(&b[..544]));
    // The first payload word is plane 0's cells 0..64 (rows 0 and 1).
    let t = crease_default();
    let w0 = u64::from_le_bytes(b[32..40].try_into().unwrap());
    for i in 0..64 {
        assert_eq!(w0 >> i & 1 == 1, t.bit(0, i / 32, i % 32), "cell {i}");
    }
    // The mask starts after 3 planes × 16 words.
    let m0 = u64::from_le_bytes(b[32 + 384..32 + 392].try_into().unwrap());
    assert_eq!(m0, t.mask_words()[0]);
}

#[test]
fn golden_templates_have_the_intended_properties() {
    let odd = odd_padding();
    assert_eq!(odd.geometry().cells(), 391);
    assert_ne!(odd.geometry().last_word_mask(), u64::MAX);
    assert_eq!(all_masked().valid_cells(), 0);
    assert!(all_masked().code_words().iter().any(|&w| w != 0));
    assert!(user_algorithm().algorithm().is_user_defined());
    assert_eq!(vein().modality(), Modality::Vein);
    assert_eq!(user_algorithm().valid_cells(), 1024);
    let valid = crease_default().valid_cells();
    assert!(valid > 500 && valid < 1024, "{valid}");
}

#[test]
fn every_truncation_of_every_golden_file_is_an_error() {
    for g in GOLDEN {
        let bytes = read(g.file);
        for n in 0..bytes.len() {
            let cut = &bytes[..n];
            let err = PalmTemplate::from_bytes(cut).expect_err("truncated input decoded");
            if n < 36 {
                assert_eq!(
                    err,
                    TemplateError::Truncated {
                        found: n,
                        needed: 36
                    },
                    "{} cut at {n}",
                    g.file
                );
            } else {
                assert!(
                    matches!(err, TemplateError::ChecksumMismatch { .. }),
                    "{} cut at {n}: {err:?}",
                    g.file
                );
            }
            // With the checksum recomputed, a truncation is still caught by the size checks.
            let fixed = fuzzing::with_fixed_crc(cut);
            let err = PalmTemplate::from_bytes_with_limits(&fixed, &TemplateLimits::FORMAT_MAX)
                .expect_err("truncated input with fixed CRC decoded");
            if n >= 36 {
                assert!(
                    matches!(err, TemplateError::Truncated { found, .. } if found == n),
                    "{} cut at {n} with fixed CRC: {err:?}",
                    g.file
                );
            }
        }
    }
}

#[test]
fn golden_files_pass_the_fuzz_target_bodies() {
    for g in GOLDEN {
        let bytes = read(g.file);
        fuzzing::template_decode(&bytes);
        fuzzing::template_roundtrip(&bytes);
    }
}
