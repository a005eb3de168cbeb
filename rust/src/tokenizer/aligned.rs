//! Encoding with what `tokenizers` tells about each token besides its id: the span of text it comes
//! from, the word it belongs to, and its token text. Slower than `encode`; the transformers-style class
//! asks for it only when offsets or alignment are wanted.

use super::{EncodeOptions, Part, Tokenizer};
use crate::special::{NonLegacyText, Segment, SpecialMode};

/// One text's ids with their alignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aligned {
    pub ids: Vec<u32>,
    /// Per id, the byte span of the text it comes from (special tokens: their match; the rest as
    /// docs/encoding.md, "Offsets", says).
    pub spans: Vec<(usize, usize)>,
    /// Per id, its word as `tokenizers` numbers them for a vocabulary without a pre-tokenizer (Code
    /// Llama's): the added tokens matched in the text cut it into parts, each match is a part of its
    /// own, and the parts that give ids are the words 0, 1, 2, ...
    pub words: Vec<u32>,
    /// `(index, text)` of every id whose token text is not its piece: an added token that took in
    /// whitespace (`lstrip`/`rstrip`) or was matched in the normalized text is the text it matched.
    pub matched: Vec<(usize, String)>,
}

impl Aligned {
    /// Moves the spans appended since `from` by `offset` bytes.
    fn shift_spans(&mut self, from: usize, offset: usize) {
        for span in &mut self.spans[from..] {
            *span = (span.0 + offset, span.1 + offset);
        }
    }
}

/// Gives ids `from..len` (one part of the text) the word after the last one in `words`.
fn close_part(words: &mut Vec<u32>, len: usize, from: usize) {
    if len > from {
        let word = words.last().map_or(0, |w| w + 1);
        words.resize(len, word);
    }
}

impl Tokenizer {
    /// The ids of `text` with their spans, words and matched token texts ([`Aligned`]).
    pub fn encode_aligned(&self, text: &str, opts: EncodeOptions) -> Aligned {
        let enc = &*self.encoder;
        let mut out = Aligned::default();
        match opts.mode {
            SpecialMode::Literal | SpecialMode::Legacy => {
                let skip_special = opts.mode == SpecialMode::Literal;
                if skip_special && !self.literal_matches() {
                    enc.encode_with_spans(text, opts.dummy_prefix, &mut out.ids, &mut out.spans);
                    close_part(&mut out.words, out.ids.len(), 0);
                    return out;
                }
                self.walk_added(text, opts.dummy_prefix, skip_special, |part| {
                    let from = out.ids.len();
                    match part {
                        Part::Raw { text: segment, start } => {
                            enc.encode_with_spans(segment, opts.dummy_prefix, &mut out.ids, &mut out.spans);
                            out.shift_spans(from, start);
                        }
                        Part::Normalized { text: segment, offsets } => {
                            enc.encode_with_spans(segment, false, &mut out.ids, &mut out.spans);
                            for span in &mut out.spans[from..] {
                                *span = (offsets[span.0], offsets[span.1]);
                            }
                        }
                        Part::Token { id, start, end, text: token } => {
                            if self.id_to_token(id) != Some(token) {
                                out.matched.push((from, token.to_string()));
                            }
                            out.ids.push(id);
                            out.spans.push((start, end));
                        }
                    }
                    close_part(&mut out.words, out.ids.len(), from);
                });
            }
            SpecialMode::NonLegacy => {
                if text.is_empty() {
                    return out;
                }
                let prepared = NonLegacyText::new(text, opts.dummy_prefix);
                let (mut ids, mut spans, mut words) = (Vec::new(), Vec::new(), Vec::new());
                let dropped = self.walk_non_legacy(&prepared.text, &mut ids, |seg, ids| {
                    let from = ids.len();
                    match seg {
                        Segment::Text { text: segment, start } => {
                            enc.encode_with_spans(segment, false, ids, &mut spans);
                            for span in &mut spans[from..] {
                                *span = (span.0 + start, span.1 + start);
                            }
                        }
                        Segment::Special { id, start, end } => {
                            ids.push(id);
                            spans.push((start, end));
                        }
                    }
                    close_part(&mut words, ids.len(), from);
                });
                if let Some(i) = dropped {
                    // The dropped `▁` was the only id of the first word.
                    spans.remove(i);
                    words.remove(i);
                    words.iter_mut().for_each(|w| *w -= 1);
                }
                // Spans so far are offsets of the prepared text: map them back to the caller's.
                let map = prepared.offset_map();
                out.spans = spans.into_iter().map(|(a, b)| (map[a], map[b])).collect();
                out.ids = ids;
                out.words = words;
            }
        }
        out
    }

    /// The ids of `text` with, for each, the byte span of `text` it comes from. Slower than `encode`.
    pub fn encode_with_spans(&self, text: &str, opts: EncodeOptions) -> (Vec<u32>, Vec<(usize, usize)>) {
        let aligned = self.encode_aligned(text, opts);
        (aligned.ids, aligned.spans)
    }

    /// The ids of `text` with their tokens as `tokenizers` gives them: a piece's text, or for an added
    /// token the text it matched (with the whitespace lstrip/rstrip took in; normalized, for a token
    /// matched in the normalized text). In the non-legacy mode, the pieces.
    pub fn encode_tokens(&self, text: &str, opts: EncodeOptions) -> Vec<(u32, String)> {
        let aligned = self.encode_aligned(text, opts);
        let mut tokens: Vec<(u32, String)> =
            aligned.ids.iter().map(|&id| (id, self.id_to_token(id).unwrap_or_default().to_string())).collect();
        for (index, text) in aligned.matched {
            tokens[index].1 = text;
        }
        tokens
    }
}
