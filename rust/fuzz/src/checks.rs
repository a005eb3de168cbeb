//! The invariants of encoding and decoding that hold for any vocabulary the readers accept
//! (docs/encoding.md, docs/decoding.md); a broken one panics, which libFuzzer reports as a crash.

use llamatok::id_bytes::IntFormat;
use llamatok::{DecodeStyle, EncodeOptions, SpecialMode, Tokenizer};

pub const MODES: [SpecialMode; 3] = [SpecialMode::Legacy, SpecialMode::NonLegacy, SpecialMode::Literal];
const STYLES: [DecodeStyle; 2] = [DecodeStyle::SentencePiece, DecodeStyle::Transformers];

/// Encodes `text` in every mode, with and without the dummy prefix (for the reader targets, whose
/// vocabularies are odd: no round trip, see `check_encode`).
pub fn check_every_mode(tok: &Tokenizer, text: &str) {
    for mode in MODES {
        for dummy_prefix in [true, false] {
            check_encode(tok, text, EncodeOptions { mode, dummy_prefix }, false);
        }
    }
}

/// Encodes `text` with `opts` and checks the ids (in the vocabulary, the same with the memo off, none
/// exactly when the text is empty), the offsets and decoding. In literal mode with the dummy prefix, also
/// that the other modes give the same ids where no special token can match, and, with `round_trip`, that
/// the text decodes back: true of the real vocabularies, not of every odd one a reader accepts (a piece
/// named `<0x41>` decodes as a byte).
pub fn check_encode(tok: &Tokenizer, text: &str, opts: EncodeOptions, round_trip: bool) {
    let ids = tok.encode(text, opts);
    assert!(ids.iter().all(|&id| (id as usize) < tok.len()), "{opts:?}: an id past the vocabulary: {ids:?}");
    assert_eq!(tok.with_cache(false).encode(text, opts), ids, "{opts:?}: the memo changed the ids");
    assert_eq!(text.is_empty(), ids.is_empty(), "{opts:?}: {text:?} gave {ids:?}");
    check_spans(tok, text, opts, &ids);
    for style in STYLES {
        for skip in [false, true] {
            tok.decode(&ids, style, skip).expect("ids from encode decode");
        }
    }
    if opts != (EncodeOptions { mode: SpecialMode::Literal, dummy_prefix: true }) {
        return;
    }
    if round_trip {
        for style in STYLES {
            assert_eq!(tok.decode(&ids, style, false).unwrap(), text.replace('\u{2581}', " "), "{style:?}");
        }
    }
    // Whether some mode could match a token in the text: the tokens matched in the raw text, and every
    // added token, also those matched in the normalized text (which the non-legacy mode matches too).
    let prepared = format!("\u{2581}{}", text.replace('\u{2581}', " "));
    let normalized = format!("\u{2581}{}", text.replace(' ', "\u{2581}"));
    let found = |t: &str| [text, prepared.as_str(), normalized.as_str()].iter().any(|s| s.contains(t));
    // A normalized token is matched by its content normalized too (spaces as `▁`).
    let matchable = tok.special_tokens().iter().any(|(t, _)| found(t))
        || tok.added_tokens().iter().any(|(_, t)| found(&t.content) || found(&t.content.replace(' ', "\u{2581}")));
    if !matchable {
        let legacy = tok.encode(text, EncodeOptions { mode: SpecialMode::Legacy, dummy_prefix: true });
        assert_eq!(legacy, ids, "legacy mode on text without special tokens");
        if tok.vocab().add_dummy_prefix {
            let non_legacy = tok.encode(text, EncodeOptions { mode: SpecialMode::NonLegacy, dummy_prefix: true });
            assert_eq!(non_legacy, ids, "non-legacy mode on text without special tokens");
        }
    }
}

/// docs/encoding.md, "Offsets": the ids of `encode`, one byte range of the text each, on character
/// boundaries, in order of their starts.
fn check_spans(tok: &Tokenizer, text: &str, opts: EncodeOptions, ids: &[u32]) {
    let (span_ids, spans) = tok.encode_with_spans(text, opts);
    assert_eq!(span_ids, ids, "{opts:?}: encode_with_spans gave other ids");
    assert_eq!(spans.len(), ids.len(), "{opts:?}");
    let mut last_start = 0;
    for &(a, b) in &spans {
        assert!(a <= b && b <= text.len(), "{opts:?}: span {a}..{b} of {} bytes", text.len());
        assert!(text.is_char_boundary(a) && text.is_char_boundary(b), "{opts:?}: span {a}..{b} cuts a character");
        assert!(a >= last_start, "{opts:?}: spans go backwards: {spans:?}");
        last_start = a;
    }
}

/// Decodes any ids: an error exactly when one is past the vocabulary, never a panic.
pub fn check_decode(tok: &Tokenizer, ids: &[u32]) {
    let valid = ids.iter().all(|&id| (id as usize) < tok.len());
    for style in STYLES {
        for skip in [false, true] {
            let result = tok.decode(ids, style, skip);
            assert_eq!(result.is_ok(), valid, "{style:?} skip={skip}: {result:?}");
        }
    }
}

/// The ids stored in `bytes` as items of format `f`, read one byte at a time (the oracle of the
/// `id_buffer` target), or the first value out of `0..vocab_size` and its position.
pub fn expected_ids(bytes: &[u8], f: IntFormat, vocab_size: usize) -> Result<Vec<u32>, (i128, usize)> {
    let mut ids = Vec::new();
    for (i, item) in bytes.chunks(f.size).enumerate().take_while(|(_, item)| item.len() == f.size) {
        let mut magnitude: u128 = 0;
        let mut push = |b: &u8| magnitude = magnitude << 8 | u128::from(*b);
        if f.big_endian {
            item.iter().for_each(&mut push);
        } else {
            item.iter().rev().for_each(&mut push);
        }
        let bits = 8 * f.size as u32;
        let negative = f.signed && magnitude >> (bits - 1) == 1;
        let value = if negative { magnitude as i128 - (1i128 << bits) } else { magnitude as i128 };
        if value < 0 || value >= vocab_size as i128 {
            return Err((value, i));
        }
        ids.push(value as u32);
    }
    Ok(ids)
}
