//! Cutting text into chunks (chunker.rs), the tiny-chunk tables and the memo change no id: the encoder
//! gives what the merge loop gives on the whole text, uncut, and what the plain merge loop of naive.rs
//! gives from the vocabulary alone.

use proptest::prelude::*;

use super::naive::NaiveBpe;
use super::texts::{bits, render};
use super::vocabs;

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
