//! Decoding any ids in both styles, skipping special tokens or not: an error exactly when an id is past
//! the vocabulary, never a panic (checks.rs). The first byte picks the vocabulary; each next two bytes
//! are an id, spread over the vocabulary and a little past it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llamatok_fuzz::checks::check_decode;
use llamatok_fuzz::vocabs;

// The vocabularies load before fuzzing starts, so that libFuzzer's per-input timeout does not count
// their loading (over 10 s on a busy machine) against the first input.
fuzz_target!(init: { vocabs::all(); }, |data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let all = vocabs::all();
    let tok = &all[pick as usize % all.len()];
    let limit = tok.vocab().len() as u32 + 4;
    let ids: Vec<u32> = rest.chunks_exact(2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])) % limit).collect();
    check_decode(tok, &ids);
});
