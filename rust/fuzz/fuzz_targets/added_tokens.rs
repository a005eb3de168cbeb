//! Tokens added with `tokenizers`' flags (special, normalized, lstrip, rstrip, single_word) to the real
//! vocabularies (`Tokenizer::with_added_tokens`), then any text in every mode: no panic, and the
//! invariants of checks.rs (without the round trip: lstrip and rstrip drop the whitespace they take in).
//! Contents and texts are spelled from a small alphabet heavy in whitespace, where the rules interact
//! (a token's rstrip reaching the next match), so that short inputs reach those cases.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use llamatok::NewToken;
use llamatok_fuzz::checks::check_every_mode;
use llamatok_fuzz::vocabs;

const ALPHABET: [&str; 16] =
    [" ", "  ", "\n", "\t", "\u{2581}", "\u{3000}", "a", "b", "x", "_", "<", ">", "<s>", "é", "😀", "\r\n"];

fn spell(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| ALPHABET[usize::from(b) % ALPHABET.len()]).collect()
}

#[derive(Arbitrary, Debug)]
struct Token {
    /// Letters of ALPHABET.
    content: Vec<u8>,
    /// Bits 0-4: special, normalized, lstrip, rstrip, single_word.
    flags: u8,
}

#[derive(Arbitrary, Debug)]
struct Input {
    vocab: u8,
    tokens: Vec<Token>,
    /// Letters of ALPHABET.
    text: Vec<u8>,
}

fuzz_target!(init: { vocabs::all(); }, |input: Input| {
    let all = vocabs::all();
    let base = &all[usize::from(input.vocab) % all.len()];
    let tokens: Vec<NewToken> = input
        .tokens
        .iter()
        .take(6)
        .map(|t| NewToken {
            content: spell(&t.content),
            special: t.flags & 1 != 0,
            normalized: t.flags & 2 != 0,
            lstrip: t.flags & 4 != 0,
            rstrip: t.flags & 8 != 0,
            single_word: t.flags & 16 != 0,
        })
        .collect();
    // Refused tokens (an empty content) are the API's errors, tested elsewhere.
    let Ok((tok, _)) = base.with_added_tokens(&tokens) else { return };
    check_every_mode(&tok, &spell(&input.text));
});
