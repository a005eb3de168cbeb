//! Long chunks, which the encode target's short inputs never reach (the encoder merges chunks over 1 KiB
//! in windows, windows.rs): the text, repeated past 1 KiB when shorter, merged window by window must
//! give the plain merge loop's ids on the whole chunk; then the whole encoder's checks on the same text
//! (checks.rs). The first byte picks the vocabulary (bits 0-1), the dummy prefix (bit 2) and how far
//! past 1 KiB a repeated text goes (bits 3-7: 0 to 248 bytes, so that the last window's end varies).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llamatok::windows_check::{plain, windowed};
use llamatok::{EncodeOptions, SpecialMode};
use llamatok_fuzz::checks::check_encode;
use llamatok_fuzz::vocabs;

const LONG: usize = 1025;

fuzz_target!(init: { vocabs::all(); }, |data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let unit = String::from_utf8_lossy(rest);
    if unit.is_empty() {
        return;
    }
    let text = if unit.len() >= LONG {
        unit.into_owned()
    } else {
        let want = LONG + usize::from(flags >> 3) * 8;
        unit.repeat(want.div_ceil(unit.len()))
    };
    let all = vocabs::all();
    let tok = &all[usize::from(flags & 3) % all.len()];
    let dummy_prefix = flags & 4 == 0;
    let chunk = if dummy_prefix && tok.vocab().add_dummy_prefix { format!(" {text}") } else { text.clone() };
    if let Some(ids) = windowed(tok, &chunk) {
        assert_eq!(ids, plain(tok, &chunk), "the windows changed the ids of a {}-byte chunk", chunk.len());
    }
    check_encode(tok, &text, EncodeOptions { mode: SpecialMode::Literal, dummy_prefix }, true);
});
