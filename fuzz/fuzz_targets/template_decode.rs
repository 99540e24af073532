//! Decoding arbitrary bytes never panics; see `openpalm::template::fuzzing::template_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    openpalm::template::fuzzing::template_decode(data);
});
