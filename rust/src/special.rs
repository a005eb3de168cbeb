//! Special-token text inside the input: which strings are matched, and how the text between them is
//! encoded in each of the three modes users meet (docs/encoding.md, "Special-token modes").

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// How special-token strings written in the text are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecialMode {
    /// transformers 4.x `CodeLlamaTokenizerFast` with the Hub files: matched, and every text segment
    /// between them gets its own dummy `▁`.
    Legacy,
    /// transformers' slow tokenizer with `legacy=False` (`LlamaTokenizer.tokenize`): every `▁` in
    /// the text becomes a space; one `▁` is put in front, and takes part in the matching
    /// (`"<PRE> x"` matches `▁<PRE>`); text segments get no dummy `▁` of their own; and if the
    /// result starts with a lone `▁` followed by a special token, that `▁` is dropped.
    NonLegacy,
    /// Plain text, as sentencepiece treats it (`split_special_tokens=True`).
    Literal,
}

impl SpecialMode {
    pub fn parse(name: &str) -> Option<SpecialMode> {
        match name {
            "legacy" => Some(SpecialMode::Legacy),
            "non_legacy" => Some(SpecialMode::NonLegacy),
            "literal" => Some(SpecialMode::Literal),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SpecialMode::Legacy => "legacy",
            SpecialMode::NonLegacy => "non_legacy",
            SpecialMode::Literal => "literal",
        }
    }
}

/// A piece of input: text to encode, or a matched special token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Text { text: &'a str, start: usize },
    Special { id: u32, start: usize, end: usize },
}

/// The special-token strings to match, leftmost-longest (as `tokenizers`' added vocabulary does).
#[derive(Clone, Debug)]
pub struct SpecialTokens {
    tokens: Vec<(String, u32)>,
    matcher: Option<AhoCorasick>,
    /// The distinct first bytes of the tokens when there are at most three (`<` and the first byte
    /// of `▁` for Llama): text holding none of them cannot match, which `memchr` tells fast.
    first_bytes: Vec<u8>,
}

impl SpecialTokens {
    pub fn new(mut tokens: Vec<(String, u32)>) -> SpecialTokens {
        tokens.retain(|(t, _)| !t.is_empty());
        tokens.sort();
        tokens.dedup_by(|a, b| a.0 == b.0);
        let matcher = (!tokens.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(tokens.iter().map(|(t, _)| t.as_str()))
                .expect("a few short literal patterns always build")
        });
        let mut first_bytes: Vec<u8> = tokens.iter().map(|(t, _)| t.as_bytes()[0]).collect();
        first_bytes.sort_unstable();
        first_bytes.dedup();
        SpecialTokens { tokens, matcher, first_bytes }
    }

    /// False when `text` certainly holds no special token (checked by its first bytes).
    #[inline]
    fn may_match(&self, text: &str) -> bool {
        let t = text.as_bytes();
        match self.first_bytes[..] {
            [a] => memchr::memchr(a, t).is_some(),
            [a, b] => memchr::memchr2(a, b, t).is_some(),
            [a, b, c] => memchr::memchr3(a, b, c, t).is_some(),
            _ => true,
        }
    }

    pub fn tokens(&self) -> &[(String, u32)] {
        &self.tokens
    }

    /// Splits `text` into text segments and special tokens, in order. Empty text segments are
    /// left out.
    pub fn split<'a>(&self, text: &'a str, mut f: impl FnMut(Segment<'a>)) {
        let matcher = match &self.matcher {
            Some(m) if self.may_match(text) => m,
            _ => {
                if !text.is_empty() {
                    f(Segment::Text { text, start: 0 });
                }
                return;
            }
        };
        let mut last = 0;
        for m in matcher.find_iter(text) {
            if m.start() > last {
                f(Segment::Text { text: &text[last..m.start()], start: last });
            }
            f(Segment::Special { id: self.tokens[m.pattern().as_usize()].1, start: m.start(), end: m.end() });
            last = m.end();
        }
        if last < text.len() {
            f(Segment::Text { text: &text[last..], start: last });
        }
    }
}

/// The text that `legacy=False` matches special tokens in: `▁` in front (when the dummy prefix is
/// on) and every `▁` of the input turned into a space.
pub struct NonLegacyText<'a> {
    pub text: Cow<'a, str>,
    original: &'a str,
    prefix_len: usize,
}

impl<'a> NonLegacyText<'a> {
    pub fn new(original: &'a str, dummy_prefix: bool) -> NonLegacyText<'a> {
        let has_mark = original.contains('\u{2581}');
        let text = match (dummy_prefix, has_mark) {
            (false, false) => Cow::Borrowed(original),
            (true, false) => Cow::Owned(format!("\u{2581}{original}")),
            (prefix, true) => {
                let mut t = String::with_capacity(original.len() + 3);
                if prefix {
                    t.push('\u{2581}');
                }
                t.extend(original.chars().map(|c| if c == '\u{2581}' { ' ' } else { c }));
                Cow::Owned(t)
            }
        };
        NonLegacyText { text, original, prefix_len: if dummy_prefix { 3 } else { 0 } }
    }

    /// For each byte offset of `text` (and its end), the offset in the original text; the
    /// prepended `▁` maps to 0.
    pub fn offset_map(&self) -> Vec<usize> {
        let mut map = vec![0; self.prefix_len];
        for (i, c) in self.original.char_indices() {
            let produced = if c == '\u{2581}' { 1 } else { c.len_utf8() };
            map.extend((0..produced).map(|k| if produced == c.len_utf8() { i + k } else { i }));
        }
        map.push(self.original.len());
        map
    }
}
