//! The windows of a long chunk (windows.rs) against the plain merge loop on the whole chunk, from outside
//! the crate: the `long_chunk` fuzz target calls these (behind the `fuzzing` feature, not part of the API).

use crate::windows::{merge_windows, WindowScratch};
use crate::Tokenizer;

/// The ids of a normalized chunk (a space standing for `▁`) merged window by window, or None when the
/// windows fell back (the encoder then runs the plain loop).
pub fn windowed(tok: &Tokenizer, chunk: &str) -> Option<Vec<u32>> {
    let encoder = tok.encoder();
    let mut ids = Vec::new();
    let mut scratch = WindowScratch::default();
    let placed =
        merge_windows(&encoder.table, chunk, &mut scratch, &mut |part| encoder.push_symbols(chunk, part, &mut ids));
    placed.then_some(ids)
}

/// The ids of the same chunk by the plain merge loop, uncut.
pub fn plain(tok: &Tokenizer, chunk: &str) -> Vec<u32> {
    let mut ids = Vec::new();
    tok.encoder().merge_whole(chunk, &mut ids);
    ids
}
