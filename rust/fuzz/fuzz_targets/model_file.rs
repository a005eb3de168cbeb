//! Either reader on raw bytes (a `tokenizer.model` unless the bytes look like JSON): never a panic, and
//! whatever is accepted encodes and decodes within the invariants of checks.rs.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use llamatok::Tokenizer;
use llamatok_fuzz::checks::check_every_mode;

fuzz_target!(|data: &[u8]| {
    if let Ok(tok) = Tokenizer::from_bytes(data.to_vec(), Path::new("fuzz.model")) {
        for text in ["", "a", "Hello <s> wor\u{2581}ld\n\tx = 1  # caf\u{e9} \u{1F600}", "<unk></s>  "] {
            check_every_mode(&tok, text);
        }
    }
});
