//! Plain implementations of docs/encoding.md, written to be obviously right rather than fast: the merge
//! loop on the whole normalized text as strings (no chunks, no merge table, no memo; the vocabulary's
//! own scores or merge list; user-defined pieces cut out first, unused ones split back after), the split at special tokens by trying every position, and the three modes.

use std::collections::HashMap;

use crate::special::SpecialMode;
use crate::vocab::{MergeOrder, PieceKind, Vocab};

pub struct NaiveBpe<'v> {
    vocab: &'v Vocab,
    /// A `tokenizer.json`'s merges by the pieces' texts (a repeated pair keeps its last rank); `None`
    /// for a `tokenizer.model`, whose merges are ranked by the merged piece's score.
    ranks: Option<HashMap<(&'v str, &'v str), usize>>,
}

impl<'v> NaiveBpe<'v> {
    pub fn new(vocab: &'v Vocab) -> Self {
        let text = |id: u32| vocab.pieces()[id as usize].text.as_str();
        let ranks = match &vocab.merge_order {
            MergeOrder::PieceScore => None,
            MergeOrder::MergeList(list) => {
                Some(list.iter().enumerate().map(|(rank, &(l, r))| ((text(l), text(r)), rank)).collect())
            }
        };
        NaiveBpe { vocab, ranks }
    }

    /// When `left` and `right` merge, their priority: lower merges first.
    fn priority(&self, left: &str, right: &str) -> Option<f64> {
        match &self.ranks {
            Some(ranks) => ranks.get(&(left, right)).map(|&rank| rank as f64),
            None => {
                let piece = self.vocab.piece(self.vocab.id(&format!("{left}{right}"))?)?;
                piece.kind.is_mergeable().then(|| -f64::from(piece.score))
            }
        }
    }

    /// The ids of plain text (no special tokens).
    pub fn encode(&self, text: &str, dummy_prefix: bool) -> Vec<u32> {
        if text.is_empty() {
            return Vec::new();
        }
        let prefix = (dummy_prefix && self.vocab.add_dummy_prefix).then_some('\u{2581}');
        let normalized: Vec<char> =
            prefix.into_iter().chain(text.chars().map(|c| if c == ' ' { '\u{2581}' } else { c })).collect();
        // (symbol, frozen): user-defined pieces cut out whole, longest first, scanning left to right.
        let mut symbols: Vec<(String, bool)> = Vec::new();
        let mut i = 0;
        while i < normalized.len() {
            let longest = (i + 1..=normalized.len()).rev().find(|&end| {
                let candidate: String = normalized[i..end].iter().collect();
                self.is_kind(&candidate, PieceKind::UserDefined)
            });
            let end = longest.unwrap_or(i + 1);
            symbols.push((normalized[i..end].iter().collect(), longest.is_some()));
            i = end;
        }
        // For each unused piece, the halves it was last seen formed from, in sentencepiece's order of events.
        let mut halves: HashMap<String, (String, String)> = HashMap::new();
        let mut note = |symbols: &[(String, bool)], i: usize| {
            let (l, r) = (&symbols[i], &symbols[i + 1]);
            if self.ranks.is_none() && !l.1 && !r.1 && self.is_kind(&format!("{}{}", l.0, r.0), PieceKind::Unused) {
                halves.insert(format!("{}{}", l.0, r.0), (l.0.clone(), r.0.clone()));
            }
        };
        for i in 0..symbols.len().saturating_sub(1) {
            note(&symbols, i);
        }
        loop {
            // The pair with the lowest priority; the leftmost of equals.
            let mut best: Option<(f64, usize)> = None;
            for i in 0..symbols.len().saturating_sub(1) {
                if symbols[i].1 || symbols[i + 1].1 {
                    continue;
                }
                if let Some(p) = self.priority(&symbols[i].0, &symbols[i + 1].0) {
                    if best.is_none_or(|(b, _)| p < b) {
                        best = Some((p, i));
                    }
                }
            }
            let Some((_, i)) = best else { break };
            let right = symbols.remove(i + 1);
            symbols[i].0.push_str(&right.0);
            if i > 0 {
                note(&symbols, i - 1);
            }
            if i + 1 < symbols.len() {
                note(&symbols, i);
            }
        }
        fn split_back(s: &str, halves: &HashMap<String, (String, String)>, out: &mut Vec<String>) {
            match halves.get(s) {
                Some((l, r)) => {
                    split_back(l, halves, out);
                    split_back(r, halves, out);
                }
                None => out.push(s.to_string()),
            }
        }
        let mut leaves = Vec::new();
        for (symbol, _) in &symbols {
            split_back(symbol, &halves, &mut leaves);
        }
        let mut ids = Vec::new();
        for symbol in &leaves {
            let id = self.vocab.id(symbol).filter(|&id| self.vocab.pieces()[id as usize].kind != PieceKind::Unused);
            match (id, self.vocab.byte_table()) {
                (Some(id), _) => ids.push(id),
                (None, Some(bytes)) => ids.extend(symbol.bytes().map(|b| bytes[b as usize])),
                (None, None) => ids.extend(self.vocab.unk_id),
            }
        }
        if !self.vocab.has_byte_fallback() && self.vocab.fuse_unk {
            ids.dedup_by(|b, a| Some(*a) == self.vocab.unk_id && a == b);
        }
        ids
    }

    /// Whether `text` is a piece of `kind` of a SentencePiece model (`tokenizer.json`s have no such kinds
    /// for the merge loop: their added tokens are matched before it).
    fn is_kind(&self, text: &str, kind: PieceKind) -> bool {
        self.ranks.is_none() && self.vocab.id(text).is_some_and(|id| self.vocab.pieces()[id as usize].kind == kind)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Seg<'a> {
    Text(&'a str),
    Special(u32),
}

/// `text` cut at special tokens: at each position the longest token that starts there, else one character.
pub fn split<'a>(text: &'a str, specials: &[(String, u32)]) -> Vec<Seg<'a>> {
    let (mut out, mut last, mut i) = (Vec::new(), 0, 0);
    while i < text.len() {
        let found = specials.iter().filter(|(t, _)| text[i..].starts_with(t.as_str())).max_by_key(|(t, _)| t.len());
        match found {
            Some((t, id)) => {
                if i > last {
                    out.push(Seg::Text(&text[last..i]));
                }
                out.push(Seg::Special(*id));
                i += t.len();
                last = i;
            }
            None => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if last < text.len() {
        out.push(Seg::Text(&text[last..]));
    }
    out
}

/// The ids of `text` in `mode` (docs/encoding.md, "Special-token modes").
pub fn encode(bpe: &NaiveBpe, specials: &[(String, u32)], text: &str, mode: SpecialMode, prefix: bool) -> Vec<u32> {
    let segments = |text| {
        let mut ids = Vec::new();
        for seg in split(text, specials) {
            match seg {
                Seg::Text(t) => ids.extend(bpe.encode(t, prefix && mode == SpecialMode::Legacy)),
                Seg::Special(id) => ids.push(id),
            }
        }
        ids
    };
    match mode {
        SpecialMode::Literal => bpe.encode(text, prefix),
        SpecialMode::Legacy => segments(text),
        SpecialMode::NonLegacy if text.is_empty() => Vec::new(),
        SpecialMode::NonLegacy => {
            // `▁` in the text is a space; one `▁` in front takes part in the matching; segments get no prefix.
            let prepared = format!("{}{}", if prefix { "\u{2581}" } else { "" }, text.replace('\u{2581}', " "));
            let mut ids = segments(&prepared);
            // A lone `▁` right before the first special token, at the start, is dropped.
            if let [Seg::Text(first), Seg::Special(_), ..] = split(&prepared, specials)[..] {
                if bpe.encode(first, false) == bpe.vocab.id("\u{2581}").into_iter().collect::<Vec<_>>() {
                    ids.remove(0);
                }
            }
            ids
        }
    }
}
