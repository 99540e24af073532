//! Binary template format, version 1.
//!
//! A template is stored as one self-contained byte string: a fixed header, the payload (code
//! words, then mask words) and a CRC-32C trailer. All integers are **little-endian**; there is
//! no padding between fields and no alignment requirement on the input.
//!
//! # Layout (format 1.0)
//!
//! | Offset | Size | Type       | Field            | Meaning |
//! |-------:|-----:|------------|------------------|---------|
//! | 0      | 4    | `u8[4]`    | `magic`          | `4F 50 4C 4D` (ASCII `"OPLM"`) |
//! | 4      | 1    | `u8`       | `format_major`   | `1`. A reader rejects any other value. |
//! | 5      | 1    | `u8`       | `format_minor`   | `0` for this layout. A minor version may only *append* header fields (see `header_len`); a 1.x reader accepts any minor. |
//! | 6      | 2    | `u16`      | `header_len`     | Bytes from offset 0 to the start of the payload. Exactly `32` when `format_minor = 0`; at least `32` otherwise. |
//! | 8      | 1    | `u8`       | `modality`       | `1` = crease (visible light), `2` = vein (near infrared). See [`Modality::code`]. |
//! | 9      | 1    | `u8`       | `planes`         | Code bit planes per cell, `1..=16`. |
//! | 10     | 2    | `u16`      | `algorithm_id`   | Extractor id. `< 0x8000`: openpalm built-in (version-checked); `≥ 0x8000`: user-defined (never checked). |
//! | 12     | 2    | `u16`      | `algorithm_major`| Incompatible-change version of the extractor. |
//! | 14     | 2    | `u16`      | `algorithm_minor`| Compatible-change version of the extractor. |
//! | 16     | 2    | `u16`      | `rows`           | Cell rows, `1..=1024`. |
//! | 18     | 2    | `u16`      | `cols`           | Cell columns, `1..=1024`. |
//! | 20     | 4    | `u32`      | `payload_len`    | Payload bytes; must equal `8 · (planes + 1) · ⌈rows · cols / 64⌉`. |
//! | 24     | 8    | `u64`      | `flags`          | Feature bits. Format 1 defines **none**: any set bit is an error (reserved for e.g. a future *protected / revocable template* flag that an old reader must not ignore). |
//! | 32     | `payload_len` | `u64[]` | `payload` | Code words, plane 0 first, then plane 1, …; then the mask words. `W = ⌈rows · cols / 64⌉` words per plane, so `(planes + 1) · W` words in all, each a little-endian `u64`. |
//! | 32 + `payload_len` | 4 | `u32` | `crc32c` | CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`, initial value and final XOR `0xFFFFFFFF`, i.e. the iSCSI / SSE4.2 `crc32` checksum) of **every byte before it**, header and payload. |
//!
//! Total length: `header_len + payload_len + 4` bytes, nothing after the trailer. The default
//! geometry (32 × 32 cells, 3 planes, `W = 16`) gives `32 + 512 + 4 = 548` bytes.
//!
//! Bits inside the words follow the layout in the [module docs](super#bit-layout): cell
//! `i = row · cols + col` is bit `i mod 64` (least significant first) of word `i / 64` of its
//! plane. Bits of the last word of each plane past the last cell (`i ≥ rows · cols`) are padding
//! and must be zero. A mask bit of 1 means the cell is valid.
//!
//! A later format minor version (1.1, …) may append header fields after offset 32 and announce
//! them by a larger `header_len`; the appended bytes are covered by the checksum and ignored by
//! this reader. Anything a reader must not ignore needs a flag or a new `format_major`.
//!
//! # Decoder checks, in order
//!
//! [`PalmTemplate::from_bytes_with_limits`] performs these checks in exactly this order and stops
//! at the first failure, returning the [`TemplateError`] variant named (each carries the
//! offending value and the expected value or bound). No byte outside the input is ever read,
//! and nothing is allocated before check 10 has tied the payload size to the input length.
//!
//! | # | Check | Error |
//! |--:|-------|-------|
//! | 1 | input length `≥ 36` (format 1.0 header + trailer) | [`Truncated`](TemplateError::Truncated) |
//! | 2 | `magic` is `"OPLM"` | [`BadMagic`](TemplateError::BadMagic) |
//! | 3 | `format_major == 1` (checked before the checksum: another major may checksum differently) | [`UnsupportedFormatVersion`](TemplateError::UnsupportedFormatVersion) |
//! | 4 | `header_len == 32` if `format_minor == 0`, else `header_len ≥ 32` | [`HeaderLength`](TemplateError::HeaderLength) |
//! | 5 | input length `≥ header_len + 4` | [`Truncated`](TemplateError::Truncated) |
//! | 6 | CRC-32C of bytes `0 .. len − 4` equals the trailer at `len − 4` | [`ChecksumMismatch`](TemplateError::ChecksumMismatch) |
//! | 7 | `modality` is known (`1` or `2`) | [`UnknownModality`](TemplateError::UnknownModality) |
//! | 8 | `flags == 0` (no flag is defined in format 1) | [`UnknownFlags`](TemplateError::UnknownFlags) |
//! | 9 | `rows`, `cols` in `1..=1024`, `planes` in `1..=16` | [`InvalidGeometry`](TemplateError::InvalidGeometry) |
//! | 10 | `rows`, `cols`, `planes`, `payload_len` (in this order) within the caller's [`TemplateLimits`] | [`LimitExceeded`](TemplateError::LimitExceeded) |
//! | 11 | `payload_len == 8 · (planes + 1) · W` | [`PayloadLength`](TemplateError::PayloadLength) |
//! | 12 | `header_len + payload_len + 4 == input length`: fewer bytes → truncated, more → trailing bytes | [`Truncated`](TemplateError::Truncated), [`TrailingBytes`](TemplateError::TrailingBytes) |
//! | 13 | padding bits (past the last cell) are zero in every code plane, then in the mask | [`NonZeroPadding`](TemplateError::NonZeroPadding) |
//! | 14 | a built-in `algorithm_id` (`< 0x8000`) is one of this build's [`BUILTIN_ALGORITHMS`] and has the same `algorithm_major` (any minor is accepted) | [`UnknownBuiltinAlgorithm`](TemplateError::UnknownBuiltinAlgorithm), [`AlgorithmVersionMismatch`](TemplateError::AlgorithmVersionMismatch) |
//!
//! Checks 1–12 failing mean the bytes are corrupt, truncated or not a template (a storage
//! problem). Check 14 failing means the template is intact but from another algorithm version:
//! re-enrol ([`TemplateError::is_version_mismatch`] is true).
//!
//! # Example
//!
//! ```
//! use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
//!
//! let t = PalmTemplate::from_fn(
//!     Modality::Crease,
//!     Algorithm::new(1, 1, 0),
//!     Geometry::DEFAULT,
//!     |p, r, c| (p + r * c) % 3 == 0,
//!     |r, _| r > 1,
//! );
//! let bytes = t.to_bytes();
//! assert_eq!(bytes.len(), 548);
//! assert_eq!(&bytes[..4], b"OPLM");
//! assert_eq!(PalmTemplate::from_bytes(&bytes)?, t);
//! # Ok::<(), openpalm::TemplateError>(())
//! ```

use super::{
    Algorithm, BUILTIN_ALGORITHMS, Geometry, MAX_GRID_SIDE, MAX_PLANES, Modality, PalmTemplate,
    TemplateError,
};
use std::fmt;

/// The four magic bytes at offset 0: ASCII `"OPLM"`.
pub const MAGIC: [u8; 4] = *b"OPLM";
/// The format major version this build reads and writes.
pub const FORMAT_MAJOR: u8 = 1;
/// The format minor version this build writes.
pub const FORMAT_MINOR: u8 = 0;
/// Header length of format 1.0, in bytes (offset of the payload).
pub const HEADER_LEN_V1: usize = 32;
/// Length of the CRC-32C trailer, in bytes.
pub const TRAILER_LEN: usize = 4;
/// The shortest input that can be a template: header plus trailer (36 bytes).
pub const MIN_LEN: usize = HEADER_LEN_V1 + TRAILER_LEN;
/// Flags defined by this build (format 1 defines none).
pub const KNOWN_FLAGS: u64 = 0;

// Field offsets (format 1.0).
const OFF_FORMAT_MAJOR: usize = 4;
const OFF_FORMAT_MINOR: usize = 5;
const OFF_HEADER_LEN: usize = 6;
const OFF_MODALITY: usize = 8;
const OFF_PLANES: usize = 9;
const OFF_ALG_ID: usize = 10;
const OFF_ALG_MAJOR: usize = 12;
const OFF_ALG_MINOR: usize = 14;
const OFF_ROWS: usize = 16;
const OFF_COLS: usize = 18;
const OFF_PAYLOAD_LEN: usize = 20;
const OFF_FLAGS: usize = 24;

/// Payload bytes of a geometry: `8 · (planes + 1) · ⌈rows · cols / 64⌉`.
pub const fn payload_len(geometry: Geometry) -> usize {
    geometry.total_words() * 8
}

/// Which [`TemplateLimits`] bound a template exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// [`TemplateLimits::max_rows`].
    Rows,
    /// [`TemplateLimits::max_cols`].
    Cols,
    /// [`TemplateLimits::max_planes`].
    Planes,
    /// [`TemplateLimits::max_payload_bytes`].
    PayloadBytes,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::Rows => "rows",
            LimitKind::Cols => "cols",
            LimitKind::Planes => "planes",
            LimitKind::PayloadBytes => "payload bytes",
        })
    }
}

/// Size limits the decoder enforces on untrusted template bytes (check 10 of the
/// [format](self#decoder-checks-in-order)).
///
/// Every combination of values is valid and means what it says: a template passes when each of
/// its rows, columns, planes and payload bytes is `≤` the limit. A limit of zero rejects every
/// template; a limit above the format's own maxima (1024 rows or columns, 16 planes, which
/// [`TemplateLimits::FORMAT_MAX`] spells out) has no further effect, because geometry is
/// validated first (check 9). The limits bound what the decoder *accepts*; the decoder never
/// allocates more than the input's own length whatever the limits are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateLimits {
    /// Most cell rows accepted.
    pub max_rows: u16,
    /// Most cell columns accepted.
    pub max_cols: u16,
    /// Most code planes accepted.
    pub max_planes: u8,
    /// Most payload bytes (code + mask) accepted.
    pub max_payload_bytes: usize,
}

impl TemplateLimits {
    /// The defaults, sized for real palm codes with room to spare: up to 128 × 128 cells and 8
    /// planes, i.e. at most 18 432 payload bytes (18.5 KB per template with header and
    /// trailer). The default 32 × 32 × 3 code is 512 payload bytes.
    pub const DEFAULT: TemplateLimits = TemplateLimits {
        max_rows: 128,
        max_cols: 128,
        max_planes: 8,
        max_payload_bytes: 8 * 9 * (128 * 128 / 64),
    };

    /// No limit beyond the format's own: 1024 × 1024 cells, 16 planes, 2 228 224 payload bytes.
    pub const FORMAT_MAX: TemplateLimits = TemplateLimits {
        max_rows: MAX_GRID_SIDE,
        max_cols: MAX_GRID_SIDE,
        max_planes: MAX_PLANES,
        max_payload_bytes: 8
            * (MAX_PLANES as usize + 1)
            * (MAX_GRID_SIDE as usize * MAX_GRID_SIDE as usize).div_ceil(64),
    };

    /// Whether a geometry passes these limits (the same test as decoder check 10).
    pub fn check(&self, geometry: Geometry) -> Result<(), TemplateError> {
        self.check_fields(
            geometry.rows() as u16,
            geometry.cols() as u16,
            geometry.planes() as u8,
            payload_len(geometry) as u64,
        )
    }

    fn check_fields(
        &self,
        rows: u16,
        cols: u16,
        planes: u8,
        payload_bytes: u64,
    ) -> Result<(), TemplateError> {
        let checks = [
            (LimitKind::Rows, u64::from(rows), u64::from(self.max_rows)),
            (LimitKind::Cols, u64::from(cols), u64::from(self.max_cols)),
            (
                LimitKind::Planes,
                u64::from(planes),
                u64::from(self.max_planes),
            ),
            (
                LimitKind::PayloadBytes,
                payload_bytes,
                self.max_payload_bytes as u64,
            ),
        ];
        for (what, value, limit) in checks {
            if value > limit {
                return Err(TemplateError::LimitExceeded { what, value, limit });
            }
        }
        Ok(())
    }
}

impl Default for TemplateLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[inline]
fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

impl PalmTemplate {
    /// Length in bytes of [`to_bytes`](Self::to_bytes)' output:
    /// `32 + 8 · (planes + 1) · ⌈rows · cols / 64⌉ + 4`.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN_V1 + payload_len(self.geometry) + TRAILER_LEN
    }

    /// Encodes in [binary format 1.0](crate::template::format#layout-format-10).
    ///
    /// The encoding is canonical: equal templates give equal bytes, and for any input of format
    /// minor 0 that decodes, re-encoding gives the input back byte for byte. A template whose
    /// built-in algorithm is not this build's version encodes fine but will not decode in this
    /// build ([`TemplateError::AlgorithmVersionMismatch`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let g = self.geometry;
        let payload = payload_len(g);
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_MAJOR);
        out.push(FORMAT_MINOR);
        out.extend_from_slice(&(HEADER_LEN_V1 as u16).to_le_bytes());
        out.push(self.modality.code());
        out.push(g.planes() as u8);
        out.extend_from_slice(&self.algorithm.id.to_le_bytes());
        out.extend_from_slice(&self.algorithm.version.major.to_le_bytes());
        out.extend_from_slice(&self.algorithm.version.minor.to_le_bytes());
        out.extend_from_slice(&(g.rows() as u16).to_le_bytes());
        out.extend_from_slice(&(g.cols() as u16).to_le_bytes());
        // ≤ 2 228 224 by the geometry bounds, so it fits a u32.
        out.extend_from_slice(&(payload as u32).to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        debug_assert_eq!(out.len(), HEADER_LEN_V1);
        for w in self.code.iter().chain(self.mask.iter()) {
            out.extend_from_slice(&w.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        debug_assert_eq!(out.len(), self.encoded_len());
        out
    }

    /// Decodes [binary format 1](crate::template::format) with [`TemplateLimits::DEFAULT`].
    ///
    /// See [`from_bytes_with_limits`](Self::from_bytes_with_limits) for the checks.
    pub fn from_bytes(bytes: &[u8]) -> Result<PalmTemplate, TemplateError> {
        Self::from_bytes_with_limits(bytes, &TemplateLimits::DEFAULT)
    }

    /// Decodes [binary format 1](crate::template::format), enforcing `limits`.
    ///
    /// Performs the [documented checks](crate::template::format#decoder-checks-in-order) in
    /// their documented order and returns the first failure. Never panics, never reads outside
    /// `bytes`, and allocates at most `bytes.len()` bytes (only after the payload size has been
    /// matched against the input length).
    pub fn from_bytes_with_limits(
        bytes: &[u8],
        limits: &TemplateLimits,
    ) -> Result<PalmTemplate, TemplateError> {
        let len = bytes.len();
        // 1. Minimal length.
        if len < MIN_LEN {
            return Err(TemplateError::Truncated {
                found: len,
                needed: MIN_LEN,
            });
        }
        // 2. Magic.
        let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if magic != MAGIC {
            return Err(TemplateError::BadMagic { found: magic });
        }
        // 3. Format version.
        let (major, minor) = (bytes[OFF_FORMAT_MAJOR], bytes[OFF_FORMAT_MINOR]);
        if major != FORMAT_MAJOR {
            return Err(TemplateError::UnsupportedFormatVersion {
                major,
                minor,
                supported_major: FORMAT_MAJOR,
            });
        }
        // 4. Header length.
        let header_len = u16_at(bytes, OFF_HEADER_LEN);
        let (min, max) = if minor == 0 {
            (HEADER_LEN_V1 as u16, HEADER_LEN_V1 as u16)
        } else {
            (HEADER_LEN_V1 as u16, u16::MAX)
        };
        if header_len < min || header_len > max {
            return Err(TemplateError::HeaderLength {
                found: header_len,
                format_minor: minor,
                min,
                max,
            });
        }
        let header_len = usize::from(header_len);
        // 5. Header and trailer present.
        if len < header_len + TRAILER_LEN {
            return Err(TemplateError::Truncated {
                found: len,
                needed: header_len + TRAILER_LEN,
            });
        }
        // 6. Checksum over everything before the trailer.
        let body_end = len - TRAILER_LEN;
        let stored = u32_at(bytes, body_end);
        let computed = crc32c::crc32c(&bytes[..body_end]);
        if stored != computed {
            return Err(TemplateError::ChecksumMismatch { stored, computed });
        }
        // 7. Modality.
        let modality_code = bytes[OFF_MODALITY];
        let modality =
            Modality::from_code(modality_code).ok_or(TemplateError::UnknownModality {
                code: modality_code,
            })?;
        // 8. Flags.
        let flags = u64_at(bytes, OFF_FLAGS);
        if flags & !KNOWN_FLAGS != 0 {
            return Err(TemplateError::UnknownFlags {
                flags,
                unknown: flags & !KNOWN_FLAGS,
            });
        }
        // 9. Geometry.
        let rows = u16_at(bytes, OFF_ROWS);
        let cols = u16_at(bytes, OFF_COLS);
        let planes = bytes[OFF_PLANES];
        let geometry = Geometry::new(rows, cols, planes)?;
        // 10. Limits.
        let declared = u32_at(bytes, OFF_PAYLOAD_LEN);
        limits.check_fields(rows, cols, planes, u64::from(declared))?;
        // 11. Payload length agrees with the geometry.
        let expected = payload_len(geometry);
        if declared as usize != expected {
            return Err(TemplateError::PayloadLength {
                found: declared,
                expected,
            });
        }
        // 12. Payload length agrees with the input length.
        let available = body_end - header_len;
        if available < expected {
            return Err(TemplateError::Truncated {
                found: len,
                needed: header_len + expected + TRAILER_LEN,
            });
        }
        if available > expected {
            return Err(TemplateError::TrailingBytes {
                count: available - expected,
            });
        }
        // Allocation is now bounded by the input length.
        let payload = &bytes[header_len..body_end];
        let mut words = payload
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        let code: Vec<u64> = words.by_ref().take(geometry.code_words()).collect();
        let mask: Vec<u64> = words.collect();
        // 13. Padding bits (PalmTemplate::new checks the planes in order, then the mask).
        let algorithm_id = u16_at(bytes, OFF_ALG_ID);
        let algorithm = Algorithm::new(
            algorithm_id,
            u16_at(bytes, OFF_ALG_MAJOR),
            u16_at(bytes, OFF_ALG_MINOR),
        );
        let template = PalmTemplate::new(modality, algorithm, geometry, code, mask)?;
        // 14. Built-in algorithm known, same major version.
        check_algorithm(algorithm)?;
        Ok(template)
    }
}

/// Decoder check 14: a built-in algorithm id must be known to this build with the same major.
fn check_algorithm(algorithm: Algorithm) -> Result<(), TemplateError> {
    if algorithm.is_user_defined() {
        return Ok(());
    }
    match BUILTIN_ALGORITHMS
        .iter()
        .find(|(id, _, _)| *id == algorithm.id)
    {
        None => Err(TemplateError::UnknownBuiltinAlgorithm { algorithm }),
        Some((_, v, _)) if v.major != algorithm.version.major => {
            Err(TemplateError::AlgorithmVersionMismatch {
                algorithm,
                supported_major: v.major,
            })
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PalmTemplate {
        PalmTemplate::from_fn(
            Modality::Vein,
            Algorithm::new(1, 1, 7),
            Geometry::new(5, 13, 2).unwrap(),
            |p, r, c| (p * 7 + r * 3 + c) % 5 < 2,
            |r, c| (r + c) % 4 != 0,
        )
    }

    #[test]
    fn header_fields_at_documented_offsets() {
        let t = sample();
        let b = t.to_bytes();
        assert_eq!(&b[0..4], b"OPLM");
        assert_eq!(b[4], 1);
        assert_eq!(b[5], 0);
        assert_eq!(u16_at(&b, 6), 32);
        assert_eq!(b[8], 2);
        assert_eq!(b[9], 2);
        assert_eq!(u16_at(&b, 10), 1);
        assert_eq!(u16_at(&b, 12), 1);
        assert_eq!(u16_at(&b, 14), 7);
        assert_eq!(u16_at(&b, 16), 5);
        assert_eq!(u16_at(&b, 18), 13);
        // 65 cells → 2 words per plane, 3 planes of words (2 code + mask).
        assert_eq!(u32_at(&b, 20), 48);
        assert_eq!(u64_at(&b, 24), 0);
        assert_eq!(b.len(), 32 + 48 + 4);
        assert_eq!(u64_at(&b, 32), t.code_words()[0]);
        assert_eq!(u64_at(&b, 32 + 32), t.mask_words()[0]);
        assert_eq!(u32_at(&b, 80), crc32c::crc32c(&b[..80]));
        assert_eq!(b.len(), t.encoded_len());
    }

    #[test]
    fn round_trip() {
        let t = sample();
        assert_eq!(PalmTemplate::from_bytes(&t.to_bytes()).unwrap(), t);
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // The standard CRC-32C check value.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn limits_constants() {
        assert_eq!(
            TemplateLimits::DEFAULT.max_payload_bytes,
            payload_len(Geometry::new(128, 128, 8).unwrap())
        );
        assert_eq!(TemplateLimits::DEFAULT.max_payload_bytes, 18_432);
        assert_eq!(
            TemplateLimits::FORMAT_MAX.max_payload_bytes,
            payload_len(Geometry::new(MAX_GRID_SIDE, MAX_GRID_SIDE, MAX_PLANES).unwrap())
        );
        assert_eq!(TemplateLimits::FORMAT_MAX.max_payload_bytes, 2_228_224);
        assert!(TemplateLimits::FORMAT_MAX.max_payload_bytes <= u32::MAX as usize);
        assert_eq!(TemplateLimits::default(), TemplateLimits::DEFAULT);
    }

    #[test]
    fn limits_check_reports_first_exceeded() {
        let g = Geometry::new(200, 300, 9).unwrap();
        assert_eq!(
            TemplateLimits::DEFAULT.check(g),
            Err(TemplateError::LimitExceeded {
                what: LimitKind::Rows,
                value: 200,
                limit: 128
            })
        );
        assert!(TemplateLimits::FORMAT_MAX.check(g).is_ok());
        let zero = TemplateLimits {
            max_payload_bytes: 0,
            ..TemplateLimits::DEFAULT
        };
        assert_eq!(
            zero.check(Geometry::DEFAULT),
            Err(TemplateError::LimitExceeded {
                what: LimitKind::PayloadBytes,
                value: 512,
                limit: 0
            })
        );
    }
}
