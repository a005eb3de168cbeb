//! Encoding on the real vocabularies (vocabs.rs): the ids, the memo, the offsets, decoding, the literal
//! round trip and the modes' agreement (checks.rs). The first byte picks the vocabulary (bits 0-1), the
//! mode (bits 2-3) and the dummy prefix (bit 4), so that each input costs one encoding; the rest is the
//! text (invalid UTF-8 replaced, so that no input is wasted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llamatok::EncodeOptions;
use llamatok_fuzz::checks::{check_encode, MODES};
use llamatok_fuzz::vocabs;

// The vocabularies load before fuzzing starts, so that libFuzzer's per-input timeout does not count
// their loading (over 10 s on a busy machine) against the first input.
fuzz_target!(init: { vocabs::all(); }, |data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let all = vocabs::all();
    let tok = &all[usize::from(flags & 3) % all.len()];
    let opts = EncodeOptions { mode: MODES[usize::from(flags >> 2 & 3) % 3], dummy_prefix: flags & 16 == 0 };
    check_encode(tok, &String::from_utf8_lossy(rest), opts, true);
});
