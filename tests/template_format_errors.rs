//! One negative test per decoder error, on hand-crafted bytes.
//!
//! The bytes are built field by field by [`Raw`], a naive encoder written from the format table
//! in `openpalm::template::format` (independent of `PalmTemplate::to_bytes`), with a correct
//! CRC-32C wherever the check under test comes after the checksum check.

use openpalm::template::format::{LimitKind, TemplateLimits};
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};

/// The header fields of format 1 plus payload, written naively.
#[derive(Clone)]
struct Raw {
    magic: [u8; 4],
    major: u8,
    minor: u8,
    header_len: u16,
    modality: u8,
    planes: u8,
    alg_id: u16,
    alg_major: u16,
    alg_minor: u16,
    rows: u16,
    cols: u16,
    payload_len: u32,
    flags: u64,
    /// Bytes appended to the 32-byte header (format minor ≥ 1).
    header_ext: Vec<u8>,
    payload: Vec<u8>,
}

impl Raw {
    /// A valid 3 × 5 × 2 template (15 cells: one word per plane, 49 padding bits).
    fn valid() -> Raw {
        let words: [u64; 3] = [0x1234, 0x7FFF, 0x5A5A & 0x7FFF];
        Raw {
            magic: *b"OPLM",
            major: 1,
            minor: 0,
            header_len: 32,
            modality: 2,
            planes: 2,
            alg_id: 1,
            alg_major: 1,
            alg_minor: 0,
            rows: 3,
            cols: 5,
            payload_len: 24,
            flags: 0,
            header_ext: Vec::new(),
            payload: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }

    /// Header and payload, without the trailer.
    fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.magic);
        b.push(self.major);
        b.push(self.minor);
        b.extend_from_slice(&self.header_len.to_le_bytes());
        b.push(self.modality);
        b.push(self.planes);
        b.extend_from_slice(&self.alg_id.to_le_bytes());
        b.extend_from_slice(&self.alg_major.to_le_bytes());
        b.extend_from_slice(&self.alg_minor.to_le_bytes());
        b.extend_from_slice(&self.rows.to_le_bytes());
        b.extend_from_slice(&self.cols.to_le_bytes());
        b.extend_from_slice(&self.payload_len.to_le_bytes());
        b.extend_from_slice(&self.flags.to_le_bytes());
        b.extend_from_slice(&self.header_ext);
        b.extend_from_slice(&self.payload);
        b
    }

    /// With a correct CRC-32C trailer.
    fn bytes(&self) -> Vec<u8> {
        let mut b = self.body();
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(&self) -> Result<PalmTemplate, TemplateError> {
        PalmTemplate::from_bytes(&self.bytes())
    }
}

fn with(f: impl FnOnce(&mut Raw)) -> Raw {
    let mut r = Raw::valid();
    f(&mut r);
    r
}

#[test]
fn the_reference_bytes_are_valid_and_match_the_encoder() {
    let t = Raw::valid().decode().unwrap();
    assert_eq!(t.modality(), Modality::Vein);
    assert_eq!(t.geometry(), Geometry::new(3, 5, 2).unwrap());
    assert_eq!(t.code_words(), &[0x1234, 0x7FFF]);
    assert_eq!(t.mask_words(), &[0x5A5A & 0x7FFF]);
    assert_eq!(t.to_bytes(), Raw::valid().bytes());
}

#[test]
fn truncated_below_minimal_header() {
    let b = Raw::valid().bytes();
    assert_eq!(
        PalmTemplate::from_bytes(&b[..35]),
        Err(TemplateError::Truncated {
            found: 35,
            needed: 36
        })
    );
    assert_eq!(
        PalmTemplate::from_bytes(&[]),
        Err(TemplateError::Truncated {
            found: 0,
            needed: 36
        })
    );
}

#[test]
fn bad_magic() {
    assert_eq!(
        with(|r| r.magic = *b"OPLm").decode(),
        Err(TemplateError::BadMagic { found: *b"OPLm" })
    );
    // A PNG is not a template, even when long enough.
    let mut png = vec![0x89, b'P', b'N', b'G'];
    png.resize(64, 0);
    assert_eq!(
        PalmTemplate::from_bytes(&png),
        Err(TemplateError::BadMagic {
            found: [0x89, b'P', b'N', b'G']
        })
    );
}

#[test]
fn unsupported_format_version_comes_before_the_checksum() {
    let mut b = with(|r| {
        r.major = 2;
        r.minor = 5;
    })
    .bytes();
    let n = b.len();
    b[n - 1] ^= 0xFF; // a v2 reader might checksum differently: the version is reported.
    assert_eq!(
        PalmTemplate::from_bytes(&b),
        Err(TemplateError::UnsupportedFormatVersion {
            major: 2,
            minor: 5,
            supported_major: 1
        })
    );
    assert!(matches!(
        with(|r| r.major = 0).decode(),
        Err(TemplateError::UnsupportedFormatVersion { major: 0, .. })
    ));
}

#[test]
fn header_length_invalid_for_minor_zero() {
    for bad in [0u16, 31, 33, 40, u16::MAX] {
        assert_eq!(
            with(|r| r.header_len = bad).decode(),
            Err(TemplateError::HeaderLength {
                found: bad,
                format_minor: 0,
                min: 32,
                max: 32
            }),
            "header_len {bad}"
        );
    }
    assert_eq!(
        with(|r| {
            r.minor = 1;
            r.header_len = 31;
        })
        .decode(),
        Err(TemplateError::HeaderLength {
            found: 31,
            format_minor: 1,
            min: 32,
            max: u16::MAX
        })
    );
}

#[test]
fn header_longer_than_the_input_is_truncated() {
    // Format 1.1 announcing a 1000-byte header in a 64-byte input.
    let b = with(|r| {
        r.minor = 1;
        r.header_len = 1000;
    })
    .bytes();
    assert_eq!(
        PalmTemplate::from_bytes(&b),
        Err(TemplateError::Truncated {
            found: b.len(),
            needed: 1004
        })
    );
}

#[test]
fn a_later_minor_version_may_append_header_fields() {
    let r = with(|r| {
        r.minor = 3;
        r.header_len = 40;
        r.header_ext = vec![0xEE; 8];
    });
    let t = r.decode().expect("format 1.3 with 8 extra header bytes");
    assert_eq!(t, Raw::valid().decode().unwrap());
    // Re-encoding writes canonical format 1.0.
    assert_eq!(t.to_bytes(), Raw::valid().bytes());
    // The extension is covered by the checksum.
    let mut b = r.bytes();
    b[35] ^= 1;
    assert!(matches!(
        PalmTemplate::from_bytes(&b),
        Err(TemplateError::ChecksumMismatch { .. })
    ));
}

#[test]
fn checksum_mismatch_for_every_single_bit_flip() {
    let good = Raw::valid().bytes();
    let stored = u32::from_le_bytes(good[good.len() - 4..].try_into().unwrap());
    // Payload bit flip: the stored CRC no longer matches.
    let mut b = good.clone();
    b[40] ^= 0x10;
    assert_eq!(
        PalmTemplate::from_bytes(&b),
        Err(TemplateError::ChecksumMismatch {
            stored,
            computed: crc32c::crc32c(&b[..b.len() - 4])
        })
    );
    // Every bit flip after the fields checked before the checksum (offset 8 on) is caught
    // by the checksum, including flips in the trailer itself.
    for byte in 8..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[byte] ^= 1 << bit;
            assert!(
                matches!(
                    PalmTemplate::from_bytes(&b),
                    Err(TemplateError::ChecksumMismatch { .. })
                ),
                "flip of byte {byte} bit {bit}"
            );
        }
    }
}

#[test]
fn unknown_modality() {
    for code in [0u8, 3, 255] {
        assert_eq!(
            with(|r| r.modality = code).decode(),
            Err(TemplateError::UnknownModality { code })
        );
    }
}

#[test]
fn unknown_flags() {
    assert_eq!(
        with(|r| r.flags = 1).decode(),
        Err(TemplateError::UnknownFlags {
            flags: 1,
            unknown: 1
        })
    );
    assert_eq!(
        with(|r| r.flags = 1 << 63).decode(),
        Err(TemplateError::UnknownFlags {
            flags: 1 << 63,
            unknown: 1 << 63
        })
    );
}

#[test]
fn invalid_geometry() {
    for (rows, cols, planes) in [(0, 5, 2), (3, 0, 2), (3, 5, 0), (1025, 5, 2), (3, 5, 17)] {
        assert_eq!(
            with(|r| {
                r.rows = rows;
                r.cols = cols;
                r.planes = planes;
            })
            .decode(),
            Err(TemplateError::InvalidGeometry { rows, cols, planes }),
            "{rows}×{cols}×{planes}"
        );
    }
}

#[test]
fn limits_exceeded_in_documented_order() {
    let small = TemplateLimits {
        max_rows: 2,
        max_cols: 4,
        max_planes: 1,
        max_payload_bytes: 16,
    };
    let b = Raw::valid().bytes();
    assert_eq!(
        PalmTemplate::from_bytes_with_limits(&b, &small),
        Err(TemplateError::LimitExceeded {
            what: LimitKind::Rows,
            value: 3,
            limit: 2
        })
    );
    let cases = [
        (
            TemplateLimits {
                max_rows: 3,
                ..small
            },
            LimitKind::Cols,
            5,
            4,
        ),
        (
            TemplateLimits {
                max_rows: 3,
                max_cols: 5,
                ..small
            },
            LimitKind::Planes,
            2,
            1,
        ),
        (
            TemplateLimits {
                max_rows: 3,
                max_cols: 5,
                max_planes: 2,
                ..small
            },
            LimitKind::PayloadBytes,
            24,
            16,
        ),
    ];
    for (limits, what, value, limit) in cases {
        assert_eq!(
            PalmTemplate::from_bytes_with_limits(&b, &limits),
            Err(TemplateError::LimitExceeded { what, value, limit })
        );
    }
    // Exactly at the limits passes.
    let exact = TemplateLimits {
        max_rows: 3,
        max_cols: 5,
        max_planes: 2,
        max_payload_bytes: 24,
    };
    assert!(PalmTemplate::from_bytes_with_limits(&b, &exact).is_ok());
}

#[test]
fn default_limits_reject_oversized_geometry_that_the_format_allows() {
    // 129 × 1 × 1: 3 words per plane → 48 payload bytes; fine for the format, not the defaults.
    let r = with(|r| {
        r.rows = 129;
        r.cols = 1;
        r.planes = 1;
        r.payload_len = 48;
        r.payload = vec![0; 48];
    });
    assert_eq!(
        r.decode(),
        Err(TemplateError::LimitExceeded {
            what: LimitKind::Rows,
            value: 129,
            limit: 128
        })
    );
    assert!(PalmTemplate::from_bytes_with_limits(&r.bytes(), &TemplateLimits::FORMAT_MAX).is_ok());
}

#[test]
fn payload_length_field_disagrees_with_geometry() {
    for found in [0u32, 16, 32, 100_000] {
        let r = with(|r| r.payload_len = found);
        assert_eq!(
            PalmTemplate::from_bytes_with_limits(&r.bytes(), &TemplateLimits::FORMAT_MAX),
            Err(TemplateError::PayloadLength {
                found,
                expected: 24
            }),
            "payload_len {found}"
        );
    }
    // A huge declared length under the default limits is a limit error, found first.
    assert!(matches!(
        with(|r| r.payload_len = u32::MAX).decode(),
        Err(TemplateError::LimitExceeded {
            what: LimitKind::PayloadBytes,
            ..
        })
    ));
}

#[test]
fn payload_shorter_than_declared_is_truncated() {
    let r = with(|r| r.payload.truncate(16));
    let b = r.bytes();
    assert_eq!(
        PalmTemplate::from_bytes(&b),
        Err(TemplateError::Truncated {
            found: 32 + 16 + 4,
            needed: 32 + 24 + 4
        })
    );
}

#[test]
fn trailing_bytes() {
    for extra in [1usize, 7, 8, 100] {
        let r = with(|r| r.payload.extend(std::iter::repeat_n(0, extra)));
        assert_eq!(
            r.decode(),
            Err(TemplateError::TrailingBytes { count: extra }),
            "{extra} extra bytes"
        );
    }
}

#[test]
fn non_zero_padding_in_a_code_plane_and_in_the_mask() {
    // 15 cells: bits 15..64 of each word are padding.
    let r = with(|r| r.payload[8..16].copy_from_slice(&(0x7FFFu64 | 1 << 15).to_le_bytes()));
    assert_eq!(
        r.decode(),
        Err(TemplateError::NonZeroPadding {
            plane: Some(1),
            bits: 1 << 15
        })
    );
    let r = with(|r| r.payload[16..24].copy_from_slice(&(1u64 << 63).to_le_bytes()));
    assert_eq!(
        r.decode(),
        Err(TemplateError::NonZeroPadding {
            plane: None,
            bits: 1 << 63
        })
    );
}

/// Templates of algorithm `id` at major version 1 are refused as a version mismatch
/// ("re-enrol") naming `supported_major`; at the supported major they decode.
fn assert_major_one_refused(id: u16, supported_major: u16) {
    let err = with(|r| {
        r.alg_id = id;
        r.alg_major = 1;
    })
    .decode()
    .unwrap_err();
    assert_eq!(
        err,
        TemplateError::AlgorithmVersionMismatch {
            algorithm: Algorithm::new(id, 1, 0),
            supported_major
        }
    );
    assert!(err.is_version_mismatch());
    assert!(
        with(|r| {
            r.alg_id = id;
            r.alg_major = supported_major;
        })
        .decode()
        .is_ok()
    );
}

/// Vein templates from before the 16 × 16 vein grid (algorithm major 1) are refused as a version
/// mismatch ("re-enrol"), not compared as if they were the current code.
#[test]
fn version_one_vein_templates_ask_for_re_enrolment() {
    use openpalm::features::{
        ALGORITHM_VEIN_BOCV, ALGORITHM_VEIN_MAX_CURVATURE, VEIN_ALGORITHM_VERSION,
    };
    assert_eq!(VEIN_ALGORITHM_VERSION.0, 2);
    for id in [ALGORITHM_VEIN_MAX_CURVATURE, ALGORITHM_VEIN_BOCV] {
        assert_major_one_refused(id, 2);
    }
}

/// Crease templates from before the 16 × 16 crease grid at the coarse Gabor scale (algorithm
/// major 1: 32 × 32 grid, published scale) are refused as a version mismatch ("re-enrol").
#[test]
fn version_one_crease_templates_ask_for_re_enrolment() {
    use openpalm::features::{
        ALGORITHM_BOCV, ALGORITHM_COMP_CODE, ALGORITHM_DOC, CREASE_ALGORITHM_VERSION,
    };
    assert_eq!(CREASE_ALGORITHM_VERSION.0, 2);
    for id in [ALGORITHM_COMP_CODE, ALGORITHM_BOCV, ALGORITHM_DOC] {
        assert_major_one_refused(id, 2);
    }
}

#[test]
fn algorithm_version_mismatch_is_distinct_and_actionable() {
    let r = with(|r| {
        r.alg_major = 2;
        r.alg_minor = 4;
    });
    let err = r.decode().unwrap_err();
    assert_eq!(
        err,
        TemplateError::AlgorithmVersionMismatch {
            algorithm: Algorithm::new(1, 2, 4),
            supported_major: 1
        }
    );
    assert!(err.is_version_mismatch());
    assert!(err.to_string().contains("re-enrol"), "{err}");
    // Through the top-level error too.
    let top: openpalm::Error = err.into();
    assert!(top.to_string().contains("re-enrol"));
    // A different minor of the same major is compatible.
    assert!(with(|r| r.alg_minor = 9).decode().is_ok());
    // Corruption is not a version mismatch.
    let mut b = Raw::valid().bytes();
    b[40] ^= 1;
    assert!(
        !PalmTemplate::from_bytes(&b)
            .unwrap_err()
            .is_version_mismatch()
    );
}

#[test]
fn unknown_builtin_algorithm() {
    let err = with(|r| r.alg_id = 0x7FFF).decode().unwrap_err();
    assert_eq!(
        err,
        TemplateError::UnknownBuiltinAlgorithm {
            algorithm: Algorithm::new(0x7FFF, 1, 0)
        }
    );
    assert!(err.is_version_mismatch());
    // User-defined ids are never checked.
    assert!(
        with(|r| {
            r.alg_id = 0x8000;
            r.alg_major = 999;
        })
        .decode()
        .is_ok()
    );
}

#[test]
fn checks_run_in_documented_order() {
    // Every later problem present at once: each fix reveals the next check's error.
    let mut r = Raw::valid();
    r.modality = 9;
    r.flags = 4;
    r.rows = 0;
    r.payload_len = 8;
    r.alg_major = 3;
    let mut b = r.bytes();
    b[0] = b'X';
    b[4] = 7;
    let n = b.len();
    b[n - 1] ^= 1;
    let order = |b: &[u8]| PalmTemplate::from_bytes(b).unwrap_err();
    assert!(matches!(order(&b[..20]), TemplateError::Truncated { .. }));
    assert!(matches!(order(&b), TemplateError::BadMagic { .. }));
    b[0] = b'O';
    assert!(matches!(
        order(&b),
        TemplateError::UnsupportedFormatVersion { .. }
    ));
    b[4] = 1;
    b[6] = 33;
    assert!(matches!(order(&b), TemplateError::HeaderLength { .. }));
    b[6] = 32;
    assert!(matches!(order(&b), TemplateError::ChecksumMismatch { .. }));
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::UnknownModality { .. }
    ));
    r.modality = 1;
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::UnknownFlags { .. }
    ));
    r.flags = 0;
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::InvalidGeometry { .. }
    ));
    r.rows = 200;
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::LimitExceeded { .. }
    ));
    r.rows = 3;
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::PayloadLength { .. }
    ));
    r.payload_len = 24;
    r.payload.push(0);
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::TrailingBytes { .. }
    ));
    r.payload.pop();
    r.payload[7] = 0x80;
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::NonZeroPadding { .. }
    ));
    r.payload[7] = 0;
    assert!(matches!(
        r.decode().unwrap_err(),
        TemplateError::AlgorithmVersionMismatch { .. }
    ));
    r.alg_major = 1;
    assert!(r.decode().is_ok());
}

#[test]
fn errors_display_the_offending_values() {
    let e = with(|r| r.flags = 0x30).decode().unwrap_err().to_string();
    assert!(e.contains("0x0000000000000030"), "{e}");
    let e = PalmTemplate::from_bytes(&[0; 10]).unwrap_err().to_string();
    assert!(e.contains("10") && e.contains("36"), "{e}");
    let e = with(|r| r.payload_len = 99)
        .decode()
        .unwrap_err()
        .to_string();
    assert!(e.contains("99") && e.contains("24"), "{e}");
}
