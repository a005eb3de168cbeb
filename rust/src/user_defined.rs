//! User-defined pieces (SentencePiece's `USER_DEFINED`, e.g. Mistral's `[REF]`): sentencepiece cuts
//! them out of the normalized text before merging and never merges them with anything. Its scan goes
//! left to right and takes, at each position, the longest user-defined piece that starts there (else
//! one character); so the matches are the leftmost-longest ones, without overlaps.
//!
//! The scan runs on the caller's text with the normalizer's two changes applied as it reads: a space
//! reads as `▁`, and the dummy `▁` in front of the text may begin a match. Text between matches is
//! plain text for the encoder: no merge crosses a match, so each part merges on its own.
//! See docs/encoding.md, "User-defined pieces".

use rustc_hash::FxHashMap;

use crate::merges::canonical;
use crate::vocab::{MergeOrder, PieceKind, Vocab};

const NO_PIECE: u32 = u32::MAX;

/// A part of the text, in the caller's byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Plain text `start..end`, after the dummy `▁` when `prefixed` (possibly empty then: the dummy `▁`
    /// alone, before a match at the start of the text).
    Text { start: usize, end: usize, prefixed: bool },
    /// A user-defined piece matched at `start..end`; `with_prefix` when the dummy `▁` is its first
    /// character.
    Piece { id: u32, start: usize, end: usize, with_prefix: bool },
}

/// A trie of the user-defined pieces over canonical characters (`▁` stored as a space).
pub struct UserDefined {
    edges: FxHashMap<(u32, char), u32>,
    /// The piece that ends at each node, or `NO_PIECE`; node 0 is the root.
    ends: Vec<u32>,
    /// ASCII bytes that start some piece: one bit test rejects nearly every position of the text.
    ascii_first: [bool; 128],
    /// Whether some piece starts with a character that is not ASCII (or with `▁`).
    other_first: bool,
}

impl UserDefined {
    /// The matcher of a SentencePiece vocabulary's user-defined pieces; `None` when it has none (or when
    /// the vocabulary is a `tokenizer.json`'s, whose added tokens are matched elsewhere).
    pub fn new(vocab: &Vocab) -> Option<UserDefined> {
        if !matches!(vocab.merge_order, MergeOrder::PieceScore) {
            return None;
        }
        let mut trie = UserDefined {
            edges: FxHashMap::default(),
            ends: vec![NO_PIECE],
            ascii_first: [false; 128],
            other_first: false,
        };
        for (id, piece) in vocab.pieces().iter().enumerate() {
            if piece.kind != PieceKind::UserDefined {
                continue;
            }
            let mut node = 0u32;
            for (k, c) in piece.text.chars().map(canonical).enumerate() {
                if k == 0 {
                    match c {
                        ' ' => {
                            trie.ascii_first[usize::from(b' ')] = true;
                            trie.other_first = true; // a `▁` in the text reads as a space too
                        }
                        c if c.is_ascii() => trie.ascii_first[c as usize] = true,
                        _ => trie.other_first = true,
                    }
                }
                let next = trie.ends.len() as u32;
                node = *trie.edges.entry((node, c)).or_insert(next);
                if node == next {
                    trie.ends.push(NO_PIECE);
                }
            }
            trie.ends[node as usize] = id as u32;
        }
        (trie.ends.len() > 1).then_some(trie)
    }

    /// The longest piece starting at byte `at` of `text` (after the dummy `▁` first, when `prefix`):
    /// its id and where it ends in `text`.
    fn longest(&self, text: &str, at: usize, prefix: bool) -> Option<(u32, usize)> {
        let mut node = 0u32;
        let mut best = None;
        if prefix {
            node = *self.edges.get(&(0, ' '))?;
            if self.ends[node as usize] != NO_PIECE {
                best = Some((self.ends[node as usize], at));
            }
        }
        for (offset, c) in text[at..].char_indices() {
            let Some(&next) = self.edges.get(&(node, canonical(c))) else { break };
            node = next;
            if self.ends[node as usize] != NO_PIECE {
                best = Some((self.ends[node as usize], at + offset + c.len_utf8()));
            }
        }
        best
    }

    /// Whether a piece may start at byte `i` (a character boundary).
    #[inline(always)]
    fn may_start(&self, text: &[u8], i: usize) -> bool {
        match text[i] {
            b if b < 0x80 => self.ascii_first[b as usize],
            b => self.other_first && b & 0xC0 != 0x80,
        }
    }

    /// Hands `emit` the parts of `text` in order: plain text and the user-defined pieces matched in it.
    /// `dummy_prefix`: the normalized text starts with `▁` (the caller has applied the model's setting).
    pub fn split(&self, text: &str, dummy_prefix: bool, mut emit: impl FnMut(Part)) {
        let bytes = text.as_bytes();
        let (mut plain_start, mut prefix_pending) = (0, dummy_prefix);
        if dummy_prefix {
            if let Some((id, end)) = self.longest(text, 0, true) {
                emit(Part::Piece { id, start: 0, end, with_prefix: true });
                (plain_start, prefix_pending) = (end, false);
            }
        }
        let mut i = plain_start;
        while i < bytes.len() {
            if self.may_start(bytes, i) {
                if let Some((id, end)) = self.longest(text, i, false) {
                    if i > plain_start || prefix_pending {
                        emit(Part::Text { start: plain_start, end: i, prefixed: prefix_pending });
                    }
                    emit(Part::Piece { id, start: i, end, with_prefix: false });
                    (plain_start, prefix_pending, i) = (end, false, end);
                    continue;
                }
            }
            i += 1;
        }
        if plain_start < bytes.len() {
            emit(Part::Text { start: plain_start, end: bytes.len(), prefixed: prefix_pending });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Piece;

    fn vocab(user_defined: &[&str]) -> Vocab {
        let mut pieces = vec![Piece { text: "<unk>".into(), score: 0.0, kind: PieceKind::Unknown }];
        for t in user_defined {
            pieces.push(Piece { text: t.to_string(), score: 0.0, kind: PieceKind::UserDefined });
        }
        pieces.push(Piece { text: "a".into(), score: -1.0, kind: PieceKind::Normal });
        Vocab::new(pieces, MergeOrder::PieceScore, false).unwrap()
    }

    fn parts(ud: &UserDefined, text: &str, prefix: bool) -> Vec<Part> {
        let mut out = Vec::new();
        ud.split(text, prefix, |p| out.push(p));
        out
    }

    #[test]
    fn leftmost_longest_matches_and_the_text_between() {
        let ud = UserDefined::new(&vocab(&["[R]", "[R]x", "x["])).unwrap();
        let text = "a[R]x[R]b";
        assert_eq!(
            parts(&ud, text, true),
            vec![
                Part::Text { start: 0, end: 1, prefixed: true },
                Part::Piece { id: 2, start: 1, end: 5, with_prefix: false },
                Part::Piece { id: 1, start: 5, end: 8, with_prefix: false },
                Part::Text { start: 8, end: 9, prefixed: false },
            ]
        );
        // A match at the start leaves the dummy `▁` alone before it.
        assert_eq!(parts(&ud, "[R]", true)[0], Part::Text { start: 0, end: 0, prefixed: true });
        assert_eq!(parts(&ud, "[R]", false), vec![Part::Piece { id: 1, start: 0, end: 3, with_prefix: false }]);
    }

    #[test]
    fn spaces_read_as_the_whitespace_symbol_and_the_dummy_prefix_can_start_a_match() {
        let ud = UserDefined::new(&vocab(&["\u{2581}[X]", "y\u{2581}z"])).unwrap();
        assert_eq!(parts(&ud, "[X]", true), vec![Part::Piece { id: 1, start: 0, end: 3, with_prefix: true }]);
        assert_eq!(parts(&ud, "[X]", false), vec![Part::Text { start: 0, end: 3, prefixed: false }]);
        let text = "y z y\u{2581}z a [X]";
        let found: Vec<_> = parts(&ud, text, false)
            .into_iter()
            .filter_map(|p| match p {
                Part::Piece { id, start, end, .. } => Some((id, &text[start..end])),
                Part::Text { .. } => None,
            })
            .collect();
        assert_eq!(found, vec![(2, "y z"), (2, "y\u{2581}z"), (1, " [X]")]);
    }

    #[test]
    fn no_user_defined_piece_no_matcher() {
        assert!(UserDefined::new(&vocab(&[])).is_none());
    }
}
