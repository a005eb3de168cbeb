//! The added vocabulary: tokens matched in text before BPE, on top of the model's vocabulary, kept
//! as `tokenizers`' `AddedVocabulary` keeps them (the file's special tokens, then every token a user
//! adds, new ones at ids from the vocabulary's length on). Immutable once built; adding tokens builds
//! a new one (`Tokenizer::with_added_tokens`).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::special::{MatchRules, SpecialTokens};
use crate::vocab::Vocab;

/// A token to add, with `tokenizers`' `AddedToken` flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NewToken {
    pub content: String,
    pub special: bool,
    /// Matched in the normalized text (spaces as `▁`, the dummy prefix in front), not in the raw text.
    pub normalized: bool,
    pub lstrip: bool,
    pub rstrip: bool,
    pub single_word: bool,
}

impl NewToken {
    /// A token as `tokenizers` makes it from a string: normalized unless special, no other flag.
    pub fn new(content: impl Into<String>, special: bool) -> NewToken {
        NewToken {
            content: content.into(),
            special,
            normalized: !special,
            lstrip: false,
            rstrip: false,
            single_word: false,
        }
    }

    pub(crate) fn rules(&self) -> MatchRules {
        MatchRules { single_word: self.single_word, lstrip: self.lstrip, rstrip: self.rstrip, special: self.special }
    }
}

/// `tokenizers`' state: which tokens are matched (in which order, in the raw or the normalized text),
/// the rules of each id, and the texts of the ids past the model's vocabulary.
#[derive(Clone, Debug, Default)]
pub struct AddedVocab {
    /// `tokenizers`' `special_tokens` list followed by its `added_tokens` list: every token that is
    /// matched, in the order their patterns are built.
    specials: Vec<NewToken>,
    others: Vec<NewToken>,
    special_set: FxHashSet<String>,
    /// Every added token by id (the last one added with that content wins, as in `tokenizers`).
    by_id: FxHashMap<u32, NewToken>,
    by_content: FxHashMap<String, u32>,
    /// The texts of ids `model_len..`.
    extra: Vec<String>,
    model_len: usize,
}

impl AddedVocab {
    pub fn new(vocab: &Vocab) -> AddedVocab {
        AddedVocab { model_len: vocab.len(), ..AddedVocab::default() }
    }

    /// Ids in the model's vocabulary and the added ones after it.
    pub fn len(&self) -> usize {
        self.model_len + self.extra.len()
    }

    /// The text of an added id past the model's vocabulary.
    pub fn extra_text(&self, id: u32) -> Option<&str> {
        let i = (id as usize).checked_sub(self.model_len)?;
        self.extra.get(i).map(String::as_str)
    }

    pub fn extra_texts(&self) -> &[String] {
        &self.extra
    }

    /// The id of `text`: an added token first, else the model's piece.
    pub fn token_to_id(&self, text: &str, vocab: &Vocab) -> Option<u32> {
        self.by_content.get(text).copied().or_else(|| vocab.id(text))
    }

    /// Every added token with its id, by id.
    pub fn tokens(&self) -> Vec<(u32, &NewToken)> {
        let mut out: Vec<(u32, &NewToken)> = self.by_id.iter().map(|(id, t)| (*id, t)).collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    pub fn is_special_text(&self, text: &str) -> bool {
        self.special_set.contains(text)
    }

    /// `tokenizers`' `AddedVocabulary::add_tokens`: special tokens join the special list (once per
    /// text); a token equal in every flag to one already added is ignored; the others take the id of
    /// their text (added or in the model) or the next new id. Returns how many were not ignored.
    pub fn add(&mut self, tokens: &[NewToken], vocab: &Vocab) -> usize {
        for token in tokens {
            if token.special && !token.content.is_empty() && !self.special_set.contains(&token.content) {
                self.specials.push(token.clone());
                self.special_set.insert(token.content.clone());
            }
        }
        let mut existing: FxHashSet<NewToken> = self.by_id.values().cloned().collect();
        let mut next_id = match self.by_id.keys().copied().max() {
            Some(max) if max as usize >= self.model_len || self.model_len == 0 => max + 1,
            _ => self.model_len as u32,
        };
        let mut ignored = 0;
        for token in tokens {
            if token.content.is_empty() || existing.contains(token) {
                ignored += 1;
                continue;
            }
            let id = match self.token_to_id(&token.content, vocab) {
                Some(id) => id,
                None => {
                    let id = next_id;
                    next_id += 1;
                    id
                }
            };
            self.by_content.insert(token.content.clone(), id);
            self.by_id.insert(id, token.clone());
            if id as usize >= self.model_len {
                // New ids come one after the other, so this is the next slot or an existing one.
                let slot = id as usize - self.model_len;
                if slot == self.extra.len() {
                    self.extra.push(token.content.clone());
                } else {
                    self.extra[slot] = token.content.clone();
                }
            }
            if !self.special_set.contains(&token.content) {
                self.others.push(token.clone());
            }
            existing.insert(token.clone());
        }
        tokens.len() - ignored
    }

    /// The rules of a matched text: the flags of the token its id holds now, and special when the
    /// text was ever added as special (`tokenizers` checks its set of special texts).
    fn rules_of(&self, content: &str) -> MatchRules {
        let mut rules = self.by_id[&self.by_content[content]].rules();
        rules.special = self.special_set.contains(content);
        rules
    }

    /// The two matchers `tokenizers` builds: tokens matched in the raw text, and tokens matched in
    /// the normalized text (their patterns normalized as the text is: `▁` in front when the model
    /// adds a dummy prefix, spaces as `▁`). Each token's rules are those of its id.
    pub fn matchers(&self, vocab: &Vocab) -> (SpecialTokens, SpecialTokens) {
        let (mut raw, mut normalized) = (Vec::new(), Vec::new());
        for token in self.specials.iter().chain(&self.others) {
            let rules = self.rules_of(&token.content);
            let id = self.by_content[&token.content];
            if token.normalized {
                normalized.push((normalized_pattern(&token.content, vocab.add_dummy_prefix), id, rules));
            } else {
                raw.push((token.content.clone(), id, rules));
            }
        }
        (SpecialTokens::with_rules(raw), SpecialTokens::with_rules(normalized))
    }

    /// Every matched token by its raw text, for the non-legacy mode (the slow tokenizer matches added
    /// tokens by their text).
    pub fn raw_matcher(&self) -> SpecialTokens {
        let entries = self
            .specials
            .iter()
            .chain(&self.others)
            .map(|t| (t.content.clone(), self.by_content[&t.content], self.rules_of(&t.content)))
            .collect();
        SpecialTokens::with_rules(entries)
    }
}

/// An added token's text as the Llama normalizer writes it (Prepend `▁` on non-empty text, then
/// Replace ` ` with `▁`).
pub fn normalized_pattern(content: &str, dummy_prefix: bool) -> String {
    let mut out = String::with_capacity(content.len() + 3);
    if dummy_prefix && !content.is_empty() {
        out.push('\u{2581}');
    }
    out.extend(content.chars().map(|c| if c == ' ' { '\u{2581}' } else { c }));
    out
}

/// The text a plain segment is matched in when some tokens are normalized: the dummy `▁` in front
/// (when asked and the segment is not empty) and every space as `▁`, with the map from its byte
/// offsets back to the segment's.
pub fn normalize_segment(text: &str, dummy_prefix: bool) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len() + 3);
    let mut map = Vec::with_capacity(text.len() + 4);
    if dummy_prefix && !text.is_empty() {
        out.push('\u{2581}');
        map.extend([0, 0, 0]);
    }
    for (i, c) in text.char_indices() {
        if c == ' ' {
            out.push('\u{2581}');
            map.extend([i, i, i]);
        } else {
            out.push(c);
            map.extend((0..c.len_utf8()).map(|k| i + k));
        }
    }
    map.push(text.len());
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn vocab() -> Vocab {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/llamatok/data/demo/tokenizer.json");
        crate::Tokenizer::from_file(path).expect("the demo vocabulary loads").vocab().clone()
    }

    #[test]
    fn new_ids_follow_the_vocabulary_and_repeats_are_ignored() {
        let v = vocab();
        let mut added = AddedVocab::new(&v);
        let n = added.add(&[NewToken::new("<pad>", true), NewToken::new("<x>", false)], &v);
        assert_eq!(n, 2);
        assert_eq!(added.token_to_id("<pad>", &v), Some(v.len() as u32));
        assert_eq!(added.token_to_id("<x>", &v), Some(v.len() as u32 + 1));
        assert_eq!(added.add(&[NewToken::new("<x>", false)], &v), 0);
        // The same text with other flags is added again, at the same id.
        let mut stripped = NewToken::new("<x>", false);
        stripped.lstrip = true;
        assert_eq!(added.add(&[stripped.clone()], &v), 1);
        assert_eq!(added.len(), v.len() + 2);
        assert!(added.tokens().iter().any(|(id, t)| *id == v.len() as u32 + 1 && **t == stripped));
        // A piece of the model keeps its id.
        let a = v.id("a").unwrap();
        added.add(&[NewToken::new("a", false)], &v);
        assert_eq!(added.token_to_id("a", &v), Some(a));
        assert_eq!(added.len(), v.len() + 2);
    }

    #[test]
    fn normalized_segments_map_back_to_their_offsets() {
        let (text, map) = normalize_segment("a b\u{e9}", true);
        assert_eq!(text, "\u{2581}a\u{2581}b\u{e9}");
        assert_eq!(map.len(), text.len() + 1);
        assert_eq!(map[3], 0);
        assert_eq!(map[4], 1);
        assert_eq!(*map.last().unwrap(), 5);
        assert_eq!(normalized_pattern("x y", true), "\u{2581}x\u{2581}y");
        assert_eq!(normalized_pattern("x", false), "x");
    }
}
