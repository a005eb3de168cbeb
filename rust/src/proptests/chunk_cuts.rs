//! Cutting text into chunks (chunker.rs), the tiny-chunk tables and the memo change no id: the encoder
//! gives what the merge loop gives on the whole text, uncut, and what the plain merge loop of naive.rs
//! gives from the vocabulary alone. And the chunker cuts exactly where its rule says, character by
//! character, whichever way it found the cuts (runs of ASCII a block at a time, ascii_stops.rs).

use proptest::prelude::*;

use super::naive::NaiveBpe;
use super::texts::{bits, render};
use super::vocabs;
use crate::chunker::{Chunk, Chunks};
use crate::merges::MergeTable;

/// The plain loop is quadratic: texts are cut to this many bytes (still several chunks, and runs long
/// enough for the heap loop).
pub const MAX_BYTES: usize = 320;

/// `text` cut to at most `MAX_BYTES`, on a character boundary.
pub fn capped(mut text: String) -> String {
    let mut end = text.len().min(MAX_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

proptest! {
    #[test]
    fn chunk_cuts_change_no_id(bits in bits(), prefix in any::<bool>()) {
        for named in vocabs::all() {
            let text = capped(render(&bits, &named.tok));
            let encoder = &named.encoder;
            let expected = NaiveBpe::new(&encoder.vocab).encode(&text, prefix);
            let mut whole = Vec::new();
            // The uncut merge loop knows nothing of user-defined pieces: only the encoder is checked then.
            if encoder.user_defined.is_none() && !text.is_empty() {
                // The merge loop's normalized text: the dummy `▁` written as a space, as the chunks have it.
                let dummy = prefix && encoder.vocab.add_dummy_prefix;
                encoder.merge_whole(&format!("{}{text}", if dummy { " " } else { "" }), &mut whole);
            }
            if !encoder.vocab.has_byte_fallback() && encoder.vocab.fuse_unk {
                whole.dedup_by(|b, a| Some(*a) == encoder.vocab.unk_id && a == b);
            }
            if encoder.user_defined.is_none() {
                prop_assert_eq!(&whole, &expected, "{}, uncut: {:?}", named.name, text);
            }
            for use_cache in [false, true, true] {
                let mut chunked = Vec::new();
                encoder.encode(&text, prefix, use_cache, &mut chunked);
                prop_assert_eq!(&chunked, &expected, "{}, memo {}: {:?}", named.name, use_cache, text);
            }
        }
    }
}

/// The chunks of `text` by the rule itself: the characters (the dummy `▁` first when `prefixed`) cut
/// exactly between two that the table says do not join. A dummy `▁` that joins nothing is a chunk alone.
fn chunks_by_definition(table: &MergeTable, text: &str, prefixed: bool) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    if text.is_empty() {
        return chunks;
    }
    let mut current = prefixed.then_some(Chunk { start: 0, end: 0, prefixed: true, last: '\u{2581}' });
    for (i, c) in text.char_indices() {
        match current.as_mut() {
            Some(chunk) if table.joins(chunk.last, c) => {
                chunk.end = i + c.len_utf8();
                chunk.last = c;
            }
            _ => {
                chunks.extend(current.take());
                current = Some(Chunk { start: i, end: i + c.len_utf8(), prefixed: false, last: c });
            }
        }
    }
    chunks.extend(current);
    chunks
}

/// Long mixed text: runs of ASCII longer than a block, broken by characters that are not ASCII.
fn long_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => "[a-z_ ]{1,100}",
            2 => "[ -~\n\t]{1,80}",
            1 => "[\u{e9}\u{4e00}\u{2581}\u{1f600}\u{80}]{1,3}",
            1 => " {1,70}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn chunks_are_cut_where_the_rule_says(bits in bits(), long in long_text(), prefix in any::<bool>()) {
        for named in vocabs::all() {
            let table = &named.encoder.table;
            for text in [render(&bits, &named.tok), long.clone()] {
                let got: Vec<Chunk> = Chunks::new(table, &text, prefix).collect();
                prop_assert_eq!(got, chunks_by_definition(table, &text, prefix), "{}: {:?}", named.name, text);
            }
        }
    }
}
