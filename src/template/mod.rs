//! Palm templates: the binary codes an extractor produces and the matcher compares.
//!
//! A [`PalmTemplate`] holds `planes` code bit planes over a `rows × cols` grid of cells, plus one
//! validity mask over the same grid (shared by all planes: a cell is either usable or not).
//!
//! # Bit layout
//!
//! Cells are numbered row-major, `i = row · cols + col`. Each plane is packed into
//! `words_per_plane = ⌈rows · cols / 64⌉` little-endian `u64` words; cell `i` is bit `i % 64`
//! (least significant bit first) of word `i / 64`. The code words are the planes one after the
//! other (`code[p · words_per_plane + i / 64]`), the mask has one plane's worth of words. Bits past
//! the last cell (`i ≥ rows · cols`) are padding and are always zero, in the code and in the mask.
//!
//! This is the layout the matcher wants: a reference is a flat run of words that a SIMD kernel
//! streams through once, while the per-probe work (every shifted copy of the probe, re-packed in
//! this same layout with the cells shifted in from outside masked off) is done once in the
//! prepared probe. The default geometry (32 × 32 cells, 3 planes) is exactly 16 words per plane,
//! i.e. 512 bytes per template including the mask: one template is eight 64-byte cache lines.
//!
//! # Binary format
//!
//! [`PalmTemplate::to_bytes`] and [`PalmTemplate::from_bytes`] use the versioned, checksummed
//! format specified byte by byte in the [`format` module](crate::template::format): a 32-byte
//! little-endian header (magic `"OPLM"`, format version, header length, modality, algorithm id
//! and version, geometry, payload length, flags), the payload (code words plane after plane,
//! then the mask words, in the layout above) and a CRC-32C trailer. The default 32 × 32 × 3
//! template is 548 bytes.
//!
//! Decoding untrusted bytes runs
//! [fourteen checks in a fixed order](crate::template::format#decoder-checks-in-order) against
//! caller-chosen [`TemplateLimits`], never panics and never allocates more than the input's
//! length; each failure is its own [`TemplateError`] variant carrying the offending value and
//! the bound. [`TemplateError::is_version_mismatch`] separates "intact, but made by an
//! incompatible algorithm version: re-enrol" from "corrupt":
//!
//! ```
//! use openpalm::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};
//!
//! let t = PalmTemplate::from_fn(
//!     Modality::Vein,
//!     Algorithm::new(1, 1, 0),
//!     Geometry::new(17, 23, 2)?,
//!     |p, r, c| (p + r + c) % 2 == 0,
//!     |_, _| true,
//! );
//! let mut bytes = t.to_bytes();
//! assert_eq!(PalmTemplate::from_bytes(&bytes)?, t);
//!
//! bytes[40] ^= 1; // storage corruption
//! let err = PalmTemplate::from_bytes(&bytes).unwrap_err();
//! assert!(matches!(err, TemplateError::ChecksumMismatch { .. }));
//! assert!(!err.is_version_mismatch());
//! # Ok::<(), TemplateError>(())
//! ```

use std::fmt;

pub mod format;
#[doc(hidden)]
pub mod fuzzing;

pub use format::{LimitKind, TemplateLimits};

/// Most rows or columns a geometry may have (`u16` in the format; real codes use 16–128).
pub const MAX_GRID_SIDE: u16 = 1024;
/// Most code planes a geometry may have.
pub const MAX_PLANES: u8 = 16;

/// What a template encodes. `#[non_exhaustive]`: more modalities (e.g. palm geometry, fused
/// multispectral codes) may follow.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Modality {
    /// Palmprint creases and texture, captured in visible light.
    Crease,
    /// Palm veins, captured in near-infrared light.
    Vein,
}

impl Modality {
    /// The byte that identifies this modality in the binary format.
    pub const fn code(self) -> u8 {
        match self {
            Modality::Crease => 1,
            Modality::Vein => 2,
        }
    }

    /// The modality for a format byte, or `None` if this build does not know it.
    pub const fn from_code(code: u8) -> Option<Modality> {
        match code {
            1 => Some(Modality::Crease),
            2 => Some(Modality::Vein),
            _ => None,
        }
    }

    /// Lower-case name (`"crease"`, `"vein"`).
    pub const fn name(self) -> &'static str {
        match self {
            Modality::Crease => "crease",
            Modality::Vein => "vein",
        }
    }
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An algorithm version: the major number changes whenever codes or scores change meaning
/// (templates of different majors must not be compared: re-enrol); the minor number changes for
/// compatible refinements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlgorithmVersion {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible changes.
    pub minor: u16,
}

impl AlgorithmVersion {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }
}

impl fmt::Display for AlgorithmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The algorithm that produced a template: a numeric id and its version.
///
/// Ids below [`Algorithm::USER_ID_START`] are reserved for openpalm's own extractors and are
/// checked against this build on decode (see [`Algorithm::builtin_version`]); ids from
/// `USER_ID_START` up are free for integrators' own extractors and are never version-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Algorithm {
    /// Numeric id.
    pub id: u16,
    /// Version of that algorithm.
    pub version: AlgorithmVersion,
}

impl Algorithm {
    /// First id available to user-defined algorithms.
    pub const USER_ID_START: u16 = 0x8000;

    /// An algorithm id and version.
    pub const fn new(id: u16, major: u16, minor: u16) -> Self {
        Self {
            id,
            version: AlgorithmVersion::new(major, minor),
        }
    }

    /// Whether the id is in the user-defined range.
    pub const fn is_user_defined(self) -> bool {
        self.id >= Self::USER_ID_START
    }

    /// The version of a built-in algorithm id that this build produces, or `None` when the id is
    /// not a built-in algorithm of this build.
    pub fn builtin_version(id: u16) -> Option<AlgorithmVersion> {
        BUILTIN_ALGORITHMS
            .iter()
            .find(|(known, _, _)| *known == id)
            .map(|(_, v, _)| *v)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match BUILTIN_ALGORITHMS.iter().find(|(id, _, _)| *id == self.id) {
            Some((_, _, name)) => write!(f, "{} (id {}) v{}", name, self.id, self.version),
            None => write!(f, "algorithm id {} v{}", self.id, self.version),
        }
    }
}

/// The built-in algorithms of this build: `(id, version, name)`. A template whose id is listed
/// here but whose major version differs is rejected on decode with
/// [`TemplateError::AlgorithmVersionMismatch`].
///
/// Id 1 is the reference test algorithm used by the format's golden files and the demo; the
/// feature extractors register their own ids here.
pub const BUILTIN_ALGORITHMS: &[(u16, AlgorithmVersion, &str)] = {
    use crate::features as f;
    const C: AlgorithmVersion =
        AlgorithmVersion::new(f::CREASE_ALGORITHM_VERSION.0, f::CREASE_ALGORITHM_VERSION.1);
    const V: AlgorithmVersion =
        AlgorithmVersion::new(f::VEIN_ALGORITHM_VERSION.0, f::VEIN_ALGORITHM_VERSION.1);
    &[
        (1, AlgorithmVersion::new(1, 0), "openpalm-test-code"),
        (f::ALGORITHM_COMP_CODE, C, "compcode"),
        (f::ALGORITHM_BOCV, C, "bocv"),
        (f::ALGORITHM_DOC, C, "doc"),
        (f::ALGORITHM_VEIN_MAX_CURVATURE, V, "vein-maxcurv"),
        (f::ALGORITHM_VEIN_BOCV, V, "vein-bocv"),
    ]
};

/// Grid geometry of a template: `rows × cols` cells, `planes` code bits per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    rows: u16,
    cols: u16,
    planes: u8,
}

impl Geometry {
    /// The default code geometry: 32 × 32 cells, 3 planes (512 bytes per template with mask).
    pub const DEFAULT: Geometry = Geometry {
        rows: 32,
        cols: 32,
        planes: 3,
    };

    /// A validated geometry: every side in `1..=MAX_GRID_SIDE`, planes in `1..=MAX_PLANES`.
    pub fn new(rows: u16, cols: u16, planes: u8) -> Result<Self, TemplateError> {
        if rows == 0 || cols == 0 || planes == 0 || rows > MAX_GRID_SIDE || cols > MAX_GRID_SIDE {
            return Err(TemplateError::InvalidGeometry { rows, cols, planes });
        }
        if planes > MAX_PLANES {
            return Err(TemplateError::InvalidGeometry { rows, cols, planes });
        }
        Ok(Self { rows, cols, planes })
    }

    /// Rows of cells.
    pub const fn rows(self) -> usize {
        self.rows as usize
    }
    /// Columns of cells.
    pub const fn cols(self) -> usize {
        self.cols as usize
    }
    /// Code bits per cell.
    pub const fn planes(self) -> usize {
        self.planes as usize
    }
    /// `rows · cols`.
    pub const fn cells(self) -> usize {
        self.rows() * self.cols()
    }
    /// `⌈cells / 64⌉`: words in one plane (and in the mask).
    pub const fn words_per_plane(self) -> usize {
        self.cells().div_ceil(64)
    }
    /// Words of code: `planes · words_per_plane`.
    pub const fn code_words(self) -> usize {
        self.planes() * self.words_per_plane()
    }
    /// Words of code plus mask.
    pub const fn total_words(self) -> usize {
        (self.planes() + 1) * self.words_per_plane()
    }
    /// The mask of valid bits in the last word of a plane (all ones when `cells` is a multiple
    /// of 64).
    pub const fn last_word_mask(self) -> u64 {
        match self.cells() % 64 {
            0 => u64::MAX,
            r => (1u64 << r) - 1,
        }
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}×{}", self.rows, self.cols, self.planes)
    }
}

/// A palm template: code bit planes and a validity mask over a cell grid.
///
/// Construct with [`PalmTemplate::new`] (words in the documented layout) or
/// [`PalmTemplate::from_fn`] (cell by cell); decode with [`PalmTemplate::from_bytes`]. All
/// constructors validate: a `PalmTemplate` value always satisfies the layout invariants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PalmTemplate {
    modality: Modality,
    algorithm: Algorithm,
    geometry: Geometry,
    code: Vec<u64>,
    mask: Vec<u64>,
}

impl PalmTemplate {
    /// A template from code and mask words in the documented layout.
    ///
    /// Fails with [`TemplateError::WordCount`] when the word counts do not match the geometry and
    /// with [`TemplateError::NonZeroPadding`] when a padding bit is set.
    pub fn new(
        modality: Modality,
        algorithm: Algorithm,
        geometry: Geometry,
        code: Vec<u64>,
        mask: Vec<u64>,
    ) -> Result<Self, TemplateError> {
        if code.len() != geometry.code_words() {
            return Err(TemplateError::WordCount {
                part: "code",
                found: code.len(),
                expected: geometry.code_words(),
            });
        }
        if mask.len() != geometry.words_per_plane() {
            return Err(TemplateError::WordCount {
                part: "mask",
                found: mask.len(),
                expected: geometry.words_per_plane(),
            });
        }
        let wpp = geometry.words_per_plane();
        let pad = !geometry.last_word_mask();
        for plane in 0..=geometry.planes() {
            let word = if plane < geometry.planes() {
                code[plane * wpp + wpp - 1]
            } else {
                mask[wpp - 1]
            };
            if word & pad != 0 {
                return Err(TemplateError::NonZeroPadding {
                    plane: if plane < geometry.planes() {
                        Some(plane as u8)
                    } else {
                        None
                    },
                    bits: word & pad,
                });
            }
        }
        Ok(Self {
            modality,
            algorithm,
            geometry,
            code,
            mask,
        })
    }

    /// A template built cell by cell: `code(plane, row, col)` gives a code bit, `valid(row, col)`
    /// the mask bit.
    pub fn from_fn(
        modality: Modality,
        algorithm: Algorithm,
        geometry: Geometry,
        mut code: impl FnMut(usize, usize, usize) -> bool,
        mut valid: impl FnMut(usize, usize) -> bool,
    ) -> Self {
        let wpp = geometry.words_per_plane();
        let mut code_words = vec![0u64; geometry.code_words()];
        let mut mask_words = vec![0u64; wpp];
        for r in 0..geometry.rows() {
            for c in 0..geometry.cols() {
                let i = r * geometry.cols() + c;
                if valid(r, c) {
                    mask_words[i / 64] |= 1 << (i % 64);
                }
                for p in 0..geometry.planes() {
                    if code(p, r, c) {
                        code_words[p * wpp + i / 64] |= 1 << (i % 64);
                    }
                }
            }
        }
        Self {
            modality,
            algorithm,
            geometry,
            code: code_words,
            mask: mask_words,
        }
    }

    /// The modality.
    pub fn modality(&self) -> Modality {
        self.modality
    }
    /// The producing algorithm and its version.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
    /// The grid geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
    /// All code words, plane after plane.
    pub fn code_words(&self) -> &[u64] {
        &self.code
    }
    /// The words of one code plane. Panics if `plane ≥ planes` (a programming error).
    pub fn plane_words(&self, plane: usize) -> &[u64] {
        let wpp = self.geometry.words_per_plane();
        &self.code[plane * wpp..(plane + 1) * wpp]
    }
    /// The validity mask words.
    pub fn mask_words(&self) -> &[u64] {
        &self.mask
    }
    /// One code bit. Panics when out of range (a programming error).
    pub fn bit(&self, plane: usize, row: usize, col: usize) -> bool {
        assert!(plane < self.geometry.planes() && row < self.geometry.rows());
        assert!(col < self.geometry.cols());
        let i = row * self.geometry.cols() + col;
        self.plane_words(plane)[i / 64] >> (i % 64) & 1 == 1
    }
    /// One mask bit: whether the cell is valid. Panics when out of range.
    pub fn is_valid(&self, row: usize, col: usize) -> bool {
        assert!(row < self.geometry.rows() && col < self.geometry.cols());
        let i = row * self.geometry.cols() + col;
        self.mask[i / 64] >> (i % 64) & 1 == 1
    }
    /// Number of valid cells.
    pub fn valid_cells(&self) -> usize {
        self.mask.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// Splits into `(code, mask)` words.
    pub fn into_words(self) -> (Vec<u64>, Vec<u64>) {
        (self.code, self.mask)
    }
}

/// Why template bytes or template construction were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// Rows, columns or planes out of range (also decoder check 9).
    #[error(
        "invalid geometry {rows}×{cols}×{planes}: sides must be 1..={MAX_GRID_SIDE}, planes 1..={MAX_PLANES}"
    )]
    InvalidGeometry {
        /// Rows found.
        rows: u16,
        /// Columns found.
        cols: u16,
        /// Planes found.
        planes: u8,
    },
    /// Code or mask word count does not match the geometry (construction only: the decoder
    /// reports [`PayloadLength`](Self::PayloadLength) instead).
    #[error("{part} has {found} words, geometry needs {expected}")]
    WordCount {
        /// `"code"` or `"mask"`.
        part: &'static str,
        /// Words given.
        found: usize,
        /// Words the geometry needs.
        expected: usize,
    },
    /// A padding bit past the last cell is set (also decoder check 13).
    #[error("padding bits {bits:#018x} set in {}", match plane { Some(p) => format!("code plane {p}"), None => "mask".to_string() })]
    NonZeroPadding {
        /// The plane (`None`: the mask).
        plane: Option<u8>,
        /// The offending bits of the last word.
        bits: u64,
    },
    /// The input ends before the data it announces (decoder checks 1, 5 and 12).
    #[error("template truncated: {found} bytes, need {needed}")]
    Truncated {
        /// Input length in bytes.
        found: usize,
        /// Bytes needed at least.
        needed: usize,
    },
    /// The input does not start with the magic `"OPLM"`: not a template (decoder check 2).
    #[error(
        "not an openpalm template: magic {found:02x?}, expected {:02x?} (\"OPLM\")",
        format::MAGIC
    )]
    BadMagic {
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// A format major version this build cannot read (decoder check 3).
    #[error(
        "template format version {major}.{minor} not supported: this build reads format {supported_major}.x"
    )]
    UnsupportedFormatVersion {
        /// Format major version found.
        major: u8,
        /// Format minor version found.
        minor: u8,
        /// The format major version this build reads.
        supported_major: u8,
    },
    /// The header length field is invalid for the format version (decoder check 4).
    #[error(
        "header length {found} invalid for format minor version {format_minor}: must be {min}..={max}"
    )]
    HeaderLength {
        /// Header length found, in bytes.
        found: u16,
        /// Format minor version found.
        format_minor: u8,
        /// Smallest valid header length.
        min: u16,
        /// Largest valid header length.
        max: u16,
    },
    /// The CRC-32C trailer does not match the bytes: corrupted or tampered data (decoder
    /// check 6).
    #[error("checksum mismatch: stored CRC-32C {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// The CRC-32C stored in the trailer.
        stored: u32,
        /// The CRC-32C of the bytes before the trailer.
        computed: u32,
    },
    /// A modality code this build does not know (decoder check 7).
    #[error("unknown modality code {code} (known: 1 = crease, 2 = vein)")]
    UnknownModality {
        /// The modality byte found.
        code: u8,
    },
    /// Flag bits this build does not know are set (decoder check 8). Format 1 defines none.
    #[error("flags {flags:#018x} contain bits {unknown:#018x} this build does not know")]
    UnknownFlags {
        /// The flags field found.
        flags: u64,
        /// The bits of it that this build does not know.
        unknown: u64,
    },
    /// A size exceeds the caller's [`TemplateLimits`] (decoder check 10).
    #[error("template {what} {value} exceeds limit {limit}")]
    LimitExceeded {
        /// Which limit.
        what: LimitKind,
        /// The value found.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The payload length field disagrees with the geometry (decoder check 11).
    #[error("payload length field is {found} bytes, geometry needs {expected}")]
    PayloadLength {
        /// Payload length field found, in bytes.
        found: u32,
        /// Payload bytes the geometry needs.
        expected: usize,
    },
    /// Bytes between the payload and the checksum trailer (decoder check 12).
    #[error("{count} unexpected bytes after the payload")]
    TrailingBytes {
        /// Number of extra bytes.
        count: usize,
    },
    /// A template id in the built-in range (below [`Algorithm::USER_ID_START`]) that this build
    /// does not know, e.g. made by a newer openpalm. The template is intact but cannot be
    /// compared with this build's templates: **re-enrol** (or upgrade).
    #[error(
        "template made by {algorithm}, a built-in algorithm this build does not know: re-enrol the subject or upgrade"
    )]
    UnknownBuiltinAlgorithm {
        /// The algorithm recorded in the template.
        algorithm: Algorithm,
    },
    /// A built-in algorithm's template from an incompatible (different major) version (decoder
    /// check 14). The
    /// template is intact but cannot be compared with this build's templates: **re-enrol**.
    #[error(
        "template made by {algorithm} but this build uses major version {supported_major}: re-enrol the subject"
    )]
    AlgorithmVersionMismatch {
        /// The algorithm recorded in the template.
        algorithm: Algorithm,
        /// The major version this build produces.
        supported_major: u16,
    },
}

impl TemplateError {
    /// True when the template is intact but was made by an incompatible algorithm version
    /// ([`AlgorithmVersionMismatch`](Self::AlgorithmVersionMismatch) or
    /// [`UnknownBuiltinAlgorithm`](Self::UnknownBuiltinAlgorithm)), so the right action is
    /// re-enrolment rather than treating the data as corrupt.
    pub fn is_version_mismatch(&self) -> bool {
        matches!(
            self,
            TemplateError::AlgorithmVersionMismatch { .. }
                | TemplateError::UnknownBuiltinAlgorithm { .. }
        )
    }
}
