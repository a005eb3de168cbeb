//! Special-token text inside the input (SPEC §3): which strings are matched, and how the text
//! between them is encoded in each of the three modes users meet.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// How special-token strings written in the text are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecialMode {
    /// transformers 4.x `CodeLlamaTokenizerFast` with the Hub files: matched, and every text segment
    /// between them gets its own dummy `▁`.
    Legacy,
    /// transformers' slow tokenizer with `legacy=False`: matched; only the start of the whole
    /// text gets the dummy `▁`.
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
        SpecialTokens { tokens, matcher }
    }

    pub fn tokens(&self) -> &[(String, u32)] {
        &self.tokens
    }

    /// Splits `text` into text segments and special tokens, in order. Empty text segments are
    /// left out.
    pub fn split<'a>(&self, text: &'a str, mut f: impl FnMut(Segment<'a>)) {
        let Some(matcher) = &self.matcher else {
            if !text.is_empty() {
                f(Segment::Text { text, start: 0 });
            }
            return;
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
