//! Vocabularies with unused pieces (SentencePiece's `UNUSED`): a merge may form such a piece, but it
//! is then split back into the two symbols it was formed from, recursively. sentencepiece keeps one
//! record per unused piece for the whole text, the halves it was last seen formed from (when the pair
//! became adjacent, merged or not), so a chunk's ids can depend on the rest of the text: these
//! vocabularies are encoded whole, with sentencepiece's own order of events, no chunks and no memo.
//! No Llama or Mistral vocabulary has an unused piece. See docs/encoding.md, "Unused pieces".

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::encoder::Encoder;
use crate::merges::NO_SYMBOL;
use crate::user_defined::Part;
use crate::vocab::PieceKind;

const NIL: usize = usize::MAX;

/// One symbol of the normalized text, as a byte span of it (a space stands for `▁`).
struct Symbol {
    /// The merge-table symbol; `NO_SYMBOL` for a user-defined piece, which never merges.
    id: u32,
    /// The user-defined piece this symbol is, if it is one.
    frozen: Option<u32>,
    start: usize,
    end: usize,
}

/// Appends the ids of `text` (and, with `spans`, their byte spans in `text`) as sentencepiece gives them.
/// `dummy_prefix` is final (the model's setting already applied).
pub fn encode(
    enc: &Encoder,
    text: &str,
    dummy_prefix: bool,
    ids: &mut Vec<u32>,
    mut spans: Option<&mut Vec<(usize, usize)>>,
) {
    // The normalized text, a space standing for `▁`; key offset k is text offset k - shift.
    let shift = usize::from(dummy_prefix);
    let key = format!("{}{text}", if dummy_prefix { " " } else { "" });
    let mut symbols = Vec::with_capacity(key.len());
    let plain = |symbols: &mut Vec<Symbol>, from: usize, to: usize| {
        for (offset, c) in key[from..to].char_indices() {
            let start = from + offset;
            symbols.push(Symbol { id: enc.table.symbol(c), frozen: None, start, end: start + c.len_utf8() });
        }
    };
    match &enc.user_defined {
        None => plain(&mut symbols, 0, key.len()),
        Some(ud) => ud.split(text, dummy_prefix, |part| match part {
            Part::Text { start, end, prefixed } => {
                plain(&mut symbols, start + shift - usize::from(prefixed), end + shift)
            }
            Part::Piece { id, start, end, with_prefix } => symbols.push(Symbol {
                id: NO_SYMBOL,
                frozen: Some(id),
                start: start + shift - usize::from(with_prefix),
                end: end + shift,
            }),
        }),
    }
    let halves = merge(enc, &key, &mut symbols);

    let first = ids.len();
    // Key offsets to text offsets; the dummy `▁` belongs to the text's first character.
    let first_char_end = text.chars().next().map_or(0, char::len_utf8);
    let span_of = |start: usize, end: usize| {
        let span = (start.saturating_sub(shift), end.saturating_sub(shift));
        if dummy_prefix && start == 0 {
            (span.0, span.1.max(first_char_end))
        } else {
            span
        }
    };
    let mut leaves = Vec::new();
    for s in &symbols {
        if let Some(id) = s.frozen {
            ids.push(id);
            if let Some(spans) = spans.as_deref_mut() {
                spans.push(span_of(s.start, s.end));
            }
            continue;
        }
        leaves.clear();
        resegment(enc, &key, &halves, s.start, s.end, &mut leaves);
        for &(start, end) in &leaves {
            let before = ids.len();
            match enc.vocab.id(&piece_text(&key[start..end])) {
                Some(id) if enc.vocab.pieces()[id as usize].kind != PieceKind::Unused => ids.push(id),
                // Not a piece, or an unused piece that cannot be split (one character): unknown.
                _ => enc.push_fallback(&key[start..end], ids),
            }
            if let Some(spans) = spans.as_deref_mut() {
                spans.extend(std::iter::repeat_n(span_of(start, end), ids.len() - before));
            }
        }
    }
    enc.fuse_unknown_runs(ids, first, spans);
}

/// A normalized span as the vocabulary spells it (`▁` for the space).
fn piece_text(normalized: &str) -> String {
    normalized.replace(' ', "\u{2581}")
}

/// sentencepiece's merge loop (`bpe::Model::SampleEncode`): a heap of (rank, left position) with stale
/// entries skipped, and, each time an adjacent pair that forms an unused piece is pushed, a record of its
/// left half's length in characters. Returns those records by unused piece.
fn merge(enc: &Encoder, key: &str, symbols: &mut Vec<Symbol>) -> FxHashMap<u32, usize> {
    let mut halves = FxHashMap::default();
    let n = symbols.len();
    if n < 2 {
        return halves;
    }
    let mut next: Vec<usize> = (1..=n).collect();
    next[n - 1] = NIL;
    let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
    prev[0] = NIL;
    let mut alive = vec![true; n];
    let mut heap: BinaryHeap<Reverse<(u32, usize)>> = BinaryHeap::with_capacity(n);
    let mut push = |heap: &mut BinaryHeap<_>, symbols: &[Symbol], left: usize, right: usize| {
        if left == NIL || right == NIL {
            return;
        }
        if let Some(m) = enc.table.get(symbols[left].id, symbols[right].id) {
            heap.push(Reverse((m.rank, left)));
            if enc.vocab.pieces()[m.merged as usize].kind == PieceKind::Unused {
                // In characters: a `▁` is one byte here (a space) and three there (a `▁` of the text).
                halves.insert(m.merged, key[symbols[left].start..symbols[left].end].chars().count());
            }
        }
    };
    for i in 1..n {
        push(&mut heap, symbols, i - 1, i);
    }
    while let Some(Reverse((rank, left))) = heap.pop() {
        let right = next[left];
        if !alive[left] || right == NIL {
            continue;
        }
        match enc.table.get(symbols[left].id, symbols[right].id) {
            Some(m) if m.rank == rank => {
                symbols[left].id = m.merged;
                symbols[left].end = symbols[right].end;
                alive[right] = false;
                next[left] = next[right];
                if next[left] != NIL {
                    prev[next[left]] = left;
                }
                // sentencepiece's order: the pair on the left, then the one on the right.
                push(&mut heap, symbols, prev[left], left);
                push(&mut heap, symbols, left, next[left]);
            }
            _ => continue, // stale: the pair at `left` changed since this entry was pushed
        }
    }
    let mut i = 0;
    symbols.retain(|_| {
        i += 1;
        alive[i - 1]
    });
    halves
}

/// The spans an unused piece at `key[start..end]` splits back into (itself when it is no unused piece
/// or was never seen formed).
fn resegment(
    enc: &Encoder,
    key: &str,
    halves: &FxHashMap<u32, usize>,
    start: usize,
    end: usize,
    out: &mut Vec<(usize, usize)>,
) {
    let unused = enc
        .vocab
        .id(&piece_text(&key[start..end]))
        .filter(|&id| enc.vocab.pieces()[id as usize].kind == PieceKind::Unused && halves.contains_key(&id));
    match unused {
        Some(id) => {
            let middle = key[start..end].char_indices().nth(halves[&id]).map_or(end, |(offset, _)| start + offset);
            resegment(enc, key, halves, start, middle, out);
            resegment(enc, key, halves, middle, end, out);
        }
        None => out.push((start, end)),
    }
}

#[cfg(test)]
mod tests {
    use crate::encoder::Encoder;
    use crate::vocab::{MergeOrder, Piece, PieceKind, Vocab};

    /// `ab` is unused (formed first, then split back); `abc` is formed through it; `d` is an unused character.
    fn encoder() -> Encoder {
        let piece = |text: &str, score: f32, kind: PieceKind| Piece { text: text.into(), score, kind };
        let pieces = vec![
            piece("<unk>", 0.0, PieceKind::Unknown),
            piece("a", -10.0, PieceKind::Normal),
            piece("b", -10.0, PieceKind::Normal),
            piece("c", -10.0, PieceKind::Normal),
            piece("ab", -1.0, PieceKind::Unused),
            piece("bc", -2.0, PieceKind::Normal),
            piece("abc", -3.0, PieceKind::Normal),
            piece("d", -10.0, PieceKind::Unused),
            piece("\u{2581}", -10.0, PieceKind::Normal),
        ];
        let mut vocab = Vocab::new(pieces, MergeOrder::PieceScore, false).unwrap();
        vocab.add_dummy_prefix = false;
        Encoder::new(vocab)
    }

    fn encode(enc: &Encoder, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        enc.encode(text, false, true, &mut ids);
        let (mut with_spans, mut spans) = (Vec::new(), Vec::new());
        enc.encode_with_spans(text, false, &mut with_spans, &mut spans);
        assert_eq!(with_spans, ids, "{text:?}");
        assert_eq!(spans.len(), ids.len(), "{text:?}");
        ids
    }

    #[test]
    fn unused_pieces_are_split_back_into_the_halves_they_were_formed_from() {
        let enc = encoder();
        assert_eq!(encode(&enc, "ab"), vec![1, 2], "ab is formed, then split back");
        assert_eq!(encode(&enc, "abab"), vec![1, 2, 1, 2]);
        assert_eq!(encode(&enc, "abc"), vec![6], "ab is only a step on the way to abc");
        assert_eq!(encode(&enc, "cabc"), vec![3, 6]);
    }

    #[test]
    fn an_unused_character_is_unknown_and_runs_of_unknowns_fuse() {
        let enc = encoder();
        assert_eq!(encode(&enc, "d"), vec![0]);
        assert_eq!(encode(&enc, "ddxa"), vec![0, 1], "d, d and x are one run of unknowns");
        assert_eq!(encode(&enc, "a d"), vec![1, 8, 0]);
    }
}
