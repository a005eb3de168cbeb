//! Generated text: pieces of the vocabulary glued together (long merge chains), special-token text and
//! near misses, runs of spaces and `▁`, code, CJK and emoji, long runs without spaces (the heap merge
//! loop), and any character at all.

use proptest::prelude::*;
use proptest::sample::Index;

use crate::Tokenizer;

#[derive(Clone, Debug)]
pub enum Bit {
    /// The text of a piece of the vocabulary, `▁` written as a space.
    Piece(Index),
    /// The text of one of the tokenizer's special tokens.
    Special(Index),
    Spaces(usize),
    Marks(usize),
    Char(char),
    Text(String),
}

pub fn bits() -> impl Strategy<Value = Vec<Bit>> {
    let bit = prop_oneof![
        6 => any::<Index>().prop_map(Bit::Piece),
        1 => any::<Index>().prop_map(Bit::Special),
        1 => (1usize..40).prop_map(Bit::Spaces),
        1 => (1usize..4).prop_map(Bit::Marks),
        2 => any::<char>().prop_map(Bit::Char),
        2 => "[a-z0-9_(){}=.:,+\\n\\t #'\"-]{1,12}".prop_map(Bit::Text),
        1 => "(<|>|s>|</|<s|<0x41>|<E|<PRE>|<SUF>|<M|<EOT>|<unk)".prop_map(Bit::Text),
        1 => "[\u{4e00}-\u{4e2f}\u{3040}-\u{304f}\u{1f600}-\u{1f60f}\u{e9}\u{2581}\u{3000} ]{1,6}".prop_map(Bit::Text),
        1 => "[A-Za-z0-9+/=]{30,90}".prop_map(Bit::Text),
        // Mistral's user-defined and control pieces, and near misses.
        1 => "(\\[REF\\]|\\[/REF\\]|\\[REFERENCE_DOC_1?[0-9]\\]|\\[REF|REF\\]|\\[INST\\]|\\[PREFIX\\]|\\[SUFFIX\\]|\\[MIDDLE\\]| \\[)"
            .prop_map(Bit::Text),
    ];
    proptest::collection::vec(bit, 0..14)
}

/// The text `bits` stand for with `tok`'s vocabulary and special tokens.
pub fn render(bits: &[Bit], tok: &Tokenizer) -> String {
    let mut out = String::new();
    for bit in bits {
        match bit {
            Bit::Piece(i) => {
                let pieces = tok.vocab().pieces();
                out.push_str(&pieces[i.index(pieces.len())].text.replace('\u{2581}', " "));
            }
            Bit::Special(i) => {
                let specials = tok.special_tokens();
                if !specials.is_empty() {
                    out.push_str(&specials[i.index(specials.len())].0);
                }
            }
            Bit::Spaces(n) => out.extend(std::iter::repeat_n(' ', *n)),
            Bit::Marks(n) => out.extend(std::iter::repeat_n('\u{2581}', *n)),
            Bit::Char(c) => out.push(*c),
            Bit::Text(t) => out.push_str(t),
        }
    }
    out
}
