//! The encodings with alignment (`encode_with_offsets`, `encode_aligned`): ids with their spans as
//! character offsets, which is how Python indexes a `str`.

use crate::tokenizer::EncodeOptions;

/// Ids and, for each, its `(start, end)` character offsets.
pub type WithOffsets = (Vec<u32>, Vec<(usize, usize)>);
/// Ids, their character offsets, words and matched token texts.
pub type Aligned = (Vec<u32>, Vec<(usize, usize)>, Vec<u32>, Vec<(usize, String)>);
/// Ids with their tokens as `tokenizers` gives them.
pub type Tokens = Vec<(u32, String)>;

pub fn with_offsets(tokenizer: &crate::Tokenizer, text: &str, opts: EncodeOptions) -> WithOffsets {
    let (ids, spans) = tokenizer.encode_with_spans(text, opts);
    (ids, char_offsets(text, spans))
}

pub fn aligned(tokenizer: &crate::Tokenizer, text: &str, opts: EncodeOptions) -> Aligned {
    let aligned = tokenizer.encode_aligned(text, opts);
    (aligned.ids, char_offsets(text, aligned.spans), aligned.words, aligned.matched)
}

/// Byte spans of `text` as character offsets.
fn char_offsets(text: &str, spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut char_at_byte = vec![0usize; text.len() + 1];
    let mut chars = 0;
    for (i, c) in text.char_indices() {
        char_at_byte[i..i + c.len_utf8()].fill(chars);
        chars += 1;
    }
    char_at_byte[text.len()] = chars;
    spans.into_iter().map(|(a, b)| (char_at_byte[a], char_at_byte[b])).collect()
}
