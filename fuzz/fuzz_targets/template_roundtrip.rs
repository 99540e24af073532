//! Decode → encode → decode is the identity; see
//! `openpalm::template::fuzzing::template_roundtrip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    openpalm::template::fuzzing::template_roundtrip(data);
});
