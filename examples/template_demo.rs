//! Template format demo: build a template, encode it, decode it, and show how a corrupted
//! template and one from another algorithm version are reported.
//!
//! ```text
//! cargo run --example template_demo
//! ```

use openpalm::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};

fn main() -> Result<(), TemplateError> {
    // A 32 × 32 × 3 crease code from the reference test algorithm (id 1, v1.0); the border
    // cells are masked out.
    let template = PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 1, 0),
        Geometry::DEFAULT,
        |plane, row, col| (row * 7 + col * 3 + plane) % 5 < 2,
        |row, col| (2..30).contains(&row) && (2..30).contains(&col),
    );
    let bytes = template.to_bytes();
    println!(
        "encoded {} template ({}, {}): {} bytes, {} valid cells",
        template.modality(),
        template.geometry(),
        template.algorithm(),
        bytes.len(),
        template.valid_cells()
    );

    let decoded = PalmTemplate::from_bytes(&bytes)?;
    assert_eq!(decoded, template);
    println!("decoded: identical to the original");

    // One flipped bit in storage: the checksum catches it.
    let mut corrupt = bytes.clone();
    corrupt[100] ^= 0x04;
    match PalmTemplate::from_bytes(&corrupt) {
        Err(e @ TemplateError::ChecksumMismatch { .. }) => println!("corrupted copy rejected: {e}"),
        other => panic!("corruption not detected: {other:?}"),
    }

    // An intact template from algorithm 1 v2.0 (a future, incompatible version).
    let future = PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 2, 0),
        Geometry::DEFAULT,
        |_, _, _| false,
        |_, _| true,
    );
    match PalmTemplate::from_bytes(&future.to_bytes()) {
        Err(e) if e.is_version_mismatch() => println!("version mismatch, re-enrol: {e}"),
        other => panic!("version mismatch not reported: {other:?}"),
    }
    Ok(())
}
