//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` and by ordinary tests that
//! replay the seed corpus. Not part of the public API: may change without notice.
//!
//! Each body takes arbitrary bytes, must never panic on any input, and panics (an assertion)
//! only when it finds a bug. Each body runs twice: once on the bytes as given (exercising the
//! checks up to the checksum) and once with the CRC-32C trailer recomputed, so that mutated
//! inputs also reach every check after the checksum.

use super::format::{TRAILER_LEN, TemplateLimits};
use super::{PalmTemplate, TemplateError};

/// `data` with its last four bytes replaced by the CRC-32C of the bytes before them (unchanged
/// when shorter than four bytes).
pub fn with_fixed_crc(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    if out.len() >= TRAILER_LEN {
        let end = out.len() - TRAILER_LEN;
        let crc = crc32c::crc32c(&out[..end]);
        out[end..].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

/// Body of the `template_decode` target: decoding arbitrary bytes never panics, and when it
/// succeeds the result is consistent (bounded by the input, canonical, limits only narrow).
pub fn template_decode(data: &[u8]) {
    decode_one(data);
    if data.len() >= TRAILER_LEN {
        decode_one(&with_fixed_crc(data));
    }
}

/// Body of the `template_roundtrip` target: whenever decoding succeeds, encoding then decoding
/// gives the same template and the same bytes.
pub fn template_roundtrip(data: &[u8]) {
    roundtrip_one(data);
    if data.len() >= TRAILER_LEN {
        roundtrip_one(&with_fixed_crc(data));
    }
}

fn decode_one(data: &[u8]) {
    let wide = PalmTemplate::from_bytes_with_limits(data, &TemplateLimits::FORMAT_MAX);
    let narrow = PalmTemplate::from_bytes(data);
    match (&wide, &narrow) {
        (Ok(w), Ok(n)) => assert_eq!(w, n, "limits changed the decoded template"),
        (Ok(_), Err(e)) => assert!(
            matches!(e, TemplateError::LimitExceeded { .. }),
            "default limits gave {e:?} where format limits decoded"
        ),
        (Err(e), Ok(_)) => panic!("format limits rejected ({e:?}) what default limits accept"),
        (Err(w), Err(n)) => assert!(
            w == n || matches!(n, TemplateError::LimitExceeded { .. }),
            "different errors for different limits: {w:?} vs {n:?}"
        ),
    }
    match wide {
        Ok(t) => {
            // Nothing bigger than the input was built from it.
            assert!(t.code_words().len() * 8 + t.mask_words().len() * 8 <= data.len());
            assert_eq!(
                t.mask_words().len(),
                t.geometry().words_per_plane(),
                "mask size"
            );
            // Format minor 0 has exactly one encoding per template.
            if data[5] == 0 {
                assert_eq!(t.to_bytes(), data, "accepted a non-canonical encoding");
            }
        }
        Err(e) => {
            // Display must not panic either.
            let _ = e.to_string();
        }
    }
}

fn roundtrip_one(data: &[u8]) {
    let Ok(t) = PalmTemplate::from_bytes_with_limits(data, &TemplateLimits::FORMAT_MAX) else {
        return;
    };
    let bytes = t.to_bytes();
    assert_eq!(bytes.len(), t.encoded_len());
    let again = PalmTemplate::from_bytes_with_limits(&bytes, &TemplateLimits::FORMAT_MAX)
        .expect("an encoded template must decode");
    assert_eq!(again, t, "decode(encode(t)) != t");
    assert_eq!(again.to_bytes(), bytes, "encoding is not stable");
    if data[5] == 0 {
        assert_eq!(bytes, data, "format 1.0 input did not re-encode to itself");
    }
    // The public constructor accepts the decoded words unchanged.
    let rebuilt = PalmTemplate::new(
        t.modality(),
        t.algorithm(),
        t.geometry(),
        t.code_words().to_vec(),
        t.mask_words().to_vec(),
    )
    .expect("decoded words must satisfy the constructor");
    assert_eq!(rebuilt, t);
}
