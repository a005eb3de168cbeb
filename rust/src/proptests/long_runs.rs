//! Long chunks merged in windows (windows.rs) give the plain merge loop's symbols on the whole chunk, and the
//! encoder gives the plain loop's ids on whole texts made of them, memo on and off: repeated letters and
//! multi-byte characters, repeated pieces, random letters without spaces, base64, minified JavaScript.
//! On these the windows must also be placed without falling back to the plain loop (that is what makes
//! them linear).

use proptest::prelude::*;

use super::vocabs;
use crate::bpe::{merge_by_heap, Symbol};
use crate::encoder::Encoder;
use crate::windows::{merge_windows, WindowScratch, LONG_CHUNK};

/// Adversarial long runs, from 1 to 8 KiB.
fn long_text() -> impl Strategy<Value = String> {
    let unit = prop_oneof![
        "[a-z]{1,3}",
        "[A-Za-z]{1,5}",
        "[\u{e9}\u{4e00}-\u{4e0f}\u{1f600}-\u{1f603}\u{2581} a]{1,3}",
        "(ab|aa|ing|tion|the|__|==|\\.\\.|[ ]{1,3}|0x|ff)",
    ];
    let repeated = (unit, 300usize..3000).prop_map(|(u, n)| u.repeat(n / u.len().max(1) + 1));
    prop_oneof![
        repeated,
        "[a-z]{800,8000}",
        "[A-Za-z]{800,8000}",
        "[A-Za-z0-9+/]{800,8000}",
        "[a-zA-Z_$.(){};,=+!0-9\"']{800,8000}",
        "[\u{4e00}-\u{4e2f}\u{3040}-\u{304f}]{300,2000}",
    ]
}

/// The windows' symbols joined, or None when they fell back (`scalar_only`: the windows' scalar scan even
/// where the SSE4.1 one is usable).
fn windowed(encoder: &Encoder, chunk: &str, scalar_only: bool) -> Option<Vec<Symbol>> {
    let mut symbols = Vec::new();
    let mut scratch = WindowScratch::default();
    scratch.scalar_only = scalar_only;
    merge_windows(&encoder.table, chunk, &mut scratch, &mut |part| symbols.extend_from_slice(part)).then_some(symbols)
}

fn plain(encoder: &Encoder, chunk: &str) -> Vec<Symbol> {
    let table = &encoder.table;
    let mut symbols: Vec<Symbol> = chunk
        .char_indices()
        .map(|(i, c)| Symbol { id: table.symbol(c), start: i as u32, end: (i + c.len_utf8()) as u32 })
        .collect();
    merge_by_heap(table, &mut symbols);
    symbols
}

proptest! {

    #[test]
    fn windows_give_the_merge_loops_symbols(text in long_text(), prefix in any::<bool>()) {
        for named in vocabs::all() {
            let encoder = &named.encoder;
            let chunk = format!("{}{text}", if prefix { " " } else { "" });
            let expected = plain(encoder, &chunk);
            for scalar_only in [false, true] {
                let got = windowed(encoder, &chunk, scalar_only);
                prop_assert!(got.is_some(), "{}: the windows fell back on {:?}", named.name, chunk);
                prop_assert_eq!(&got.unwrap(), &expected, "{}, scalar {}: {:?}", named.name, scalar_only, chunk);
            }
            let mut whole = Vec::new();
            encoder.merge_whole(&chunk, &mut whole);
            if !encoder.vocab.has_byte_fallback() && encoder.vocab.fuse_unk {
                whole.dedup_by(|b, a| Some(*a) == encoder.vocab.unk_id && a == b);
            }
            for use_cache in [false, true] {
                let mut ids = Vec::new();
                encoder.encode(&text, prefix && encoder.vocab.add_dummy_prefix, use_cache, &mut ids);
                if prefix && !encoder.vocab.add_dummy_prefix {
                    continue;
                }
                prop_assert_eq!(&ids, &whole, "{}, memo {}: {:?}", named.name, use_cache, text);
            }
        }
    }
}

/// The adversarial families of the issue, long: every window is placed (no fallback to the plain loop).
#[test]
fn long_runs_are_windowed_without_fallback() {
    let mut texts = vec!["a".repeat(100_000), "\u{2581}".repeat(30_000), " ".repeat(50_000), "é".repeat(40_000)];
    texts.push("😀".repeat(20_000));
    texts.push("ab".repeat(40_000));
    texts.push("def".repeat(30_000));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = |alphabet: &[u8], n: usize| {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                alphabet[(state % alphabet.len() as u64) as usize] as char
            })
            .collect::<String>()
    };
    texts.push(random(b"abcdefghijklmnopqrstuvwxyz", 100_000));
    texts.push(random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 100_000));
    for named in vocabs::all() {
        for text in &texts {
            assert!(text.len() > LONG_CHUNK);
            let expected = plain(&named.encoder, text);
            for scalar_only in [false, true] {
                let got = windowed(&named.encoder, text, scalar_only);
                assert!(got.is_some(), "{}: windows fell back on {:?}...", named.name, &text[..20]);
                assert_eq!(got.unwrap(), expected, "{}, scalar {scalar_only}: {:?}...", named.name, &text[..20]);
            }
        }
    }
}

/// Runs of one unit at every length just past LONG_CHUNK: a window's cut candidate can fall at or past the
/// chunk's end there (a run of 346 `▁` once looped forever looking for a character boundary past it).
#[test]
fn runs_just_past_long_chunk_end_their_last_window() {
    let units = ["\u{2581}", " \u{2581}", "\u{2581}\u{2581}a", "é", "😀", "a", "_"];
    for named in vocabs::all() {
        for unit in units {
            for count in LONG_CHUNK / unit.len()..(LONG_CHUNK + 160) / unit.len() {
                for prefix in ["", " "] {
                    let chunk = format!("{prefix}{}", unit.repeat(count));
                    let got = windowed(&named.encoder, &chunk, false);
                    assert!(got.is_some(), "{}: the windows fell back on {unit:?} x {count}", named.name);
                    assert_eq!(got.unwrap(), plain(&named.encoder, &chunk), "{}: {unit:?} x {count}", named.name);
                }
            }
        }
    }
}
