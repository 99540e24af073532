//! Property tests of the binary template format: round trip for arbitrary valid templates, and
//! no panic (only typed errors) for arbitrary mutations, insertions and deletions of valid
//! encodings, with and without the checksum recomputed.

use openpalm::template::format::TemplateLimits;
use openpalm::template::fuzzing;
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};
use proptest::prelude::*;

fn modality() -> impl Strategy<Value = Modality> {
    prop_oneof![Just(Modality::Crease), Just(Modality::Vein)]
}

/// Algorithms that decode in this build: the built-in test algorithm with any minor, or any
/// user-defined id and version.
fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        any::<u16>().prop_map(|minor| Algorithm::new(1, 1, minor)),
        (
            Algorithm::USER_ID_START..=u16::MAX,
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(|(id, major, minor)| Algorithm::new(id, major, minor)),
    ]
}

fn geometry() -> impl Strategy<Value = Geometry> {
    (1u16..=48, 1u16..=48, 1u8..=6).prop_map(|(r, c, p)| Geometry::new(r, c, p).unwrap())
}

/// Arbitrary valid templates: random words with the padding bits cleared.
fn template() -> impl Strategy<Value = PalmTemplate> {
    (modality(), algorithm(), geometry()).prop_flat_map(|(m, a, g)| {
        (
            proptest::collection::vec(any::<u64>(), g.code_words()),
            proptest::collection::vec(any::<u64>(), g.words_per_plane()),
        )
            .prop_map(move |(mut code, mut mask)| {
                let wpp = g.words_per_plane();
                for p in 0..g.planes() {
                    code[p * wpp + wpp - 1] &= g.last_word_mask();
                }
                mask[wpp - 1] &= g.last_word_mask();
                PalmTemplate::new(m, a, g, code, mask).unwrap()
            })
    })
}

#[derive(Debug, Clone)]
enum Edit {
    /// XOR a byte at a position (taken modulo the length).
    Flip(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Delete a run of bytes.
    Delete(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Edit::Flip(i, x)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Edit::Insert(i, x)),
        1 => (any::<usize>(), 1usize..=16).prop_map(|(i, n)| Edit::Delete(i, n)),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        match *e {
            Edit::Flip(i, x) if !bytes.is_empty() => {
                let n = bytes.len();
                bytes[i % n] ^= x;
            }
            Edit::Insert(i, x) => bytes.insert(i % (bytes.len() + 1), x),
            Edit::Delete(i, n) if !bytes.is_empty() => {
                let start = i % bytes.len();
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            _ => {}
        }
    }
}

/// Naive reference: the template's bits read back cell by cell through the public accessors.
fn cells(t: &PalmTemplate) -> Vec<bool> {
    let g = t.geometry();
    let mut v = Vec::new();
    for r in 0..g.rows() {
        for c in 0..g.cols() {
            v.push(t.is_valid(r, c));
            for p in 0..g.planes() {
                v.push(t.bit(p, r, c));
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(t in template()) {
        let bytes = t.to_bytes();
        prop_assert_eq!(bytes.len(), t.encoded_len());
        let back = PalmTemplate::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(cells(&back), cells(&t));
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn from_fn_round_trips_cell_by_cell(
        g in geometry(),
        seed in any::<u64>(),
    ) {
        let f = |p: usize, r: usize, c: usize| {
            (seed.rotate_left((p * 31 + r * 7 + c) as u32 % 64) ^ (r * c) as u64) & 1 == 1
        };
        let t = PalmTemplate::from_fn(
            Modality::Crease, Algorithm::new(1, 1, 0), g, f, |r, c| f(9, r, c));
        let back = PalmTemplate::from_bytes(&t.to_bytes()).unwrap();
        for r in 0..g.rows() {
            for c in 0..g.cols() {
                prop_assert_eq!(back.is_valid(r, c), f(9, r, c));
                for p in 0..g.planes() {
                    prop_assert_eq!(back.bit(p, r, c), f(p, r, c));
                }
            }
        }
    }

    #[test]
    fn mutations_never_panic(t in template(), edits in edits()) {
        let mut bytes = t.to_bytes();
        apply(&mut bytes, &edits);
        // Without fixing the CRC, any change is caught before the checksum-protected fields are
        // trusted; an edit that cancels out (e.g. insert then delete) may still decode to `t`.
        match PalmTemplate::from_bytes_with_limits(&bytes, &TemplateLimits::FORMAT_MAX) {
            Ok(back) => prop_assert_eq!(back, t),
            Err(e) => { let _ = e.to_string(); }
        }
        // With the CRC fixed, every later check is reached; still only typed errors.
        let fixed = fuzzing::with_fixed_crc(&bytes);
        let _ = PalmTemplate::from_bytes(&fixed);
        fuzzing::template_decode(&bytes);
        fuzzing::template_roundtrip(&bytes);
    }

    #[test]
    fn single_byte_corruption_is_always_detected(t in template(), at in any::<usize>(), x in 1u8..=255) {
        let mut bytes = t.to_bytes();
        let i = at % bytes.len();
        bytes[i] ^= x;
        let err = PalmTemplate::from_bytes(&bytes).unwrap_err();
        // Not mistaken for a version mismatch: corruption is reported as corruption.
        prop_assert!(!err.is_version_mismatch(), "{:?}", err);
        if i >= 8 {
            let is_crc = matches!(err, TemplateError::ChecksumMismatch { .. });
            prop_assert!(is_crc, "byte {}: {:?}", i, err);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::template_decode(&bytes);
        fuzzing::template_roundtrip(&bytes);
    }
}
