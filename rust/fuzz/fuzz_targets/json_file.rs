//! The `tokenizer.json` reader, structure-aware: a valid document (json_doc.rs) with arbitrary edits of
//! its values, keys and lists. Whatever the reader accepts must then encode and decode within the
//! invariants of checks.rs; whatever it refuses must be an error, never a panic.
#![no_main]

use std::path::Path;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use llamatok::Tokenizer;
use llamatok_fuzz::checks::check_every_mode;
use llamatok_fuzz::json_doc::{apply, base, Edit};

#[derive(Arbitrary, Debug)]
struct Input {
    variant: u8,
    edits: Vec<Edit>,
    text: String,
}

fuzz_target!(|input: Input| {
    let mut doc = base(input.variant).clone();
    for edit in input.edits.iter().take(8) {
        apply(&mut doc, edit);
    }
    let bytes = serde_json::to_vec(&doc).expect("a Value always serializes");
    if let Ok(tok) = Tokenizer::from_bytes(bytes, Path::new("fuzz.json")) {
        check_every_mode(&tok, &input.text);
    }
});
