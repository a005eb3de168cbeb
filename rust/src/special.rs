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

/// How one added token is matched besides its text: `tokenizers`' `AddedToken` flags (its
/// `normalized` flag chooses which matcher holds the token, see `added.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MatchRules {
    /// Matched only between non-word characters (`\w` of the `regex` crate).
    pub single_word: bool,
    /// Takes the whitespace on its left into its match.
    pub lstrip: bool,
    /// Takes the whitespace on its right into its match.
    pub rstrip: bool,
    /// A special token: not matched when special tokens are read as text (`split_special_tokens`).
    pub special: bool,
}

impl MatchRules {
    fn is_plain(self) -> bool {
        !(self.single_word || self.lstrip || self.rstrip)
    }
}

/// The token strings to match, leftmost-longest (as `tokenizers`' added vocabulary does), each with
/// its [`MatchRules`].
#[derive(Clone, Debug)]
pub struct SpecialTokens {
    tokens: Vec<(String, u32)>,
    rules: Vec<MatchRules>,
    /// No token has a rule beyond its text: the fast path of `split`.
    plain: bool,
    /// Some token is not special (it is matched even when special tokens are read as text).
    has_non_special: bool,
    matcher: Option<AhoCorasick>,
    /// The distinct first bytes of the tokens when there are at most three (`<` and the first byte
    /// of `▁` for Llama): text holding none of them cannot match, which `memchr` tells fast.
    first_bytes: Vec<u8>,
}

/// `\w` and `\s` as `tokenizers` tests them (the `regex` crate's Unicode classes); ASCII, nearly all
/// of code, without the regex.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    static WORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let mut buf = [0u8; 4];
    WORD.get_or_init(|| regex::Regex::new(r"^\w$").expect("a valid pattern")).is_match(c.encode_utf8(&mut buf))
}

/// The regex crate's Unicode `\s` is the White_Space property, which `char::is_whitespace` tests.
fn is_space_char(c: char) -> bool {
    c.is_whitespace()
}

impl SpecialTokens {
    /// Tokens with their rules. Of two tokens with the same text the first is kept (they have the
    /// same id and rules in every list `added.rs` builds).
    pub fn with_rules(mut entries: Vec<(String, u32, MatchRules)>) -> SpecialTokens {
        entries.retain(|(t, _, _)| !t.is_empty());
        // A stable sort keeps the first of equal texts first, for the dedup below.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        let rules: Vec<MatchRules> = entries.iter().map(|e| e.2).collect();
        let tokens: Vec<(String, u32)> = entries.into_iter().map(|(t, id, _)| (t, id)).collect();
        let matcher = (!tokens.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(tokens.iter().map(|(t, _)| t.as_str()))
                .expect("literal patterns always build")
        });
        let mut first_bytes: Vec<u8> = tokens.iter().map(|(t, _)| t.as_bytes()[0]).collect();
        first_bytes.sort_unstable();
        first_bytes.dedup();
        let plain = rules.iter().all(|r| r.is_plain());
        let has_non_special = rules.iter().any(|r| !r.special);
        SpecialTokens { tokens, rules, plain, has_non_special, matcher, first_bytes }
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

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether some token is matched even when special tokens are read as text.
    pub fn has_non_special(&self) -> bool {
        self.has_non_special
    }

    /// Splits `text` into text segments and special tokens, in order. Empty text segments are
    /// left out.
    pub fn split<'a>(&self, text: &'a str, f: impl FnMut(Segment<'a>)) {
        self.split_with(text, false, f)
    }

    /// `split`, applying each token's rules as `tokenizers`' `AddedVocabulary::find_matches` does;
    /// with `skip_special`, special tokens are left in the text (`split_special_tokens`).
    /// A token's match may take in whitespace around it (lstrip, rstrip); with rstrip it can even
    /// overlap the next match, which then starts where it starts, as in `tokenizers`, unless that match
    /// has lstrip: its start then stops at the previous match's end, and if nothing of it is left there
    /// it is not a match (a whitespace token taken in by the previous token's rstrip).
    pub fn split_with<'a>(&self, text: &'a str, skip_special: bool, mut f: impl FnMut(Segment<'a>)) {
        let matcher = match &self.matcher {
            Some(m) if self.may_match(text) && (!skip_special || self.has_non_special) => m,
            _ => {
                if !text.is_empty() {
                    f(Segment::Text { text, start: 0 });
                }
                return;
            }
        };
        let mut last = 0;
        // The whitespace run an rstrip last measured (text[run] is whitespace up to a non-space or the end):
        // matches inside one long run reuse it, so a run of whitespace tokens costs linear time.
        let mut run = 0..0;
        for m in matcher.find_iter(text) {
            let index = m.pattern().as_usize();
            let id = self.tokens[index].1;
            let (mut start, mut end) = (m.start(), m.end());
            if !self.plain || skip_special {
                let rules = self.rules[index];
                if skip_special && rules.special {
                    continue;
                }
                if rules.single_word {
                    let word_before = text[..start].chars().next_back().is_some_and(is_word_char);
                    let word_after = text[end..].chars().next().is_some_and(is_word_char);
                    if word_before || word_after {
                        continue;
                    }
                }
                if rules.lstrip {
                    // Only back to the previous match's end, where the start stops anyway.
                    let spaces: usize = text[last.min(start)..start]
                        .chars()
                        .rev()
                        .take_while(|&c| is_space_char(c))
                        .map(char::len_utf8)
                        .sum();
                    start = (start - spaces).max(last);
                }
                if rules.rstrip {
                    if !(run.start <= end && end <= run.end) {
                        let spaces: usize =
                            text[end..].chars().take_while(|&c| is_space_char(c)).map(char::len_utf8).sum();
                        run = end..end + spaces;
                    }
                    end = run.end;
                }
                // lstrip stops at the previous match's end, which an rstrip may have pushed to (or past) this
                // match's own end: the whitespace token was taken in by that match. tokenizers drops the empty
                // match and panics on the reversed one ("AddedVocabulary bad split"); both are left out here.
                if start >= end {
                    continue;
                }
            }
            if start > last {
                f(Segment::Text { text: &text[last..start], start: last });
            }
            f(Segment::Special { id, start, end });
            last = end;
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

#[cfg(test)]
mod tests {
    use super::{is_space_char, is_word_char};

    #[test]
    fn the_character_classes_are_the_regex_crates() {
        let word = regex::Regex::new(r"^\w$").unwrap();
        let space = regex::Regex::new(r"^\s$").unwrap();
        let mut buf = [0u8; 4];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = c.encode_utf8(&mut buf);
            assert_eq!(is_space_char(c), space.is_match(s), "{c:?}");
            assert_eq!(is_word_char(c), word.is_match(s), "{c:?}");
        }
    }
}
