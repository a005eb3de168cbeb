//! Encoding plain text (no special tokens): normalize, cut into chunks, merge each chunk, and
//! fall back to bytes for characters that are not pieces. See docs/encoding.md.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::bpe::{self, HeapScratch, Symbol};
use crate::cache::{memo_key, pack_plain, with_cache, ChunkCache};
use crate::chunker::{Chunk, Chunks};
use crate::interrupt;
use crate::merges::MergeTable;
use crate::tiny_chunks::single_byte_ids;
use crate::unused;
use crate::user_defined::{Part, UserDefined};
use crate::vocab::{MergeOrder, PieceKind, Vocab};
use crate::windows::{merge_windows, WindowScratch, LONG_CHUNK};

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

/// The plain-text encoder of one vocabulary. Immutable and shareable across threads.
pub struct Encoder {
    pub vocab: Vocab,
    pub table: MergeTable,
    /// The matcher of the user-defined pieces of a SentencePiece model that has some.
    pub(crate) user_defined: Option<UserDefined>,
    /// A SentencePiece model with unused pieces: encoded whole (`unused.rs`), without chunks or memo.
    has_unused: bool,
    /// Each ASCII byte's id as a chunk of its own (tiny_chunks.rs).
    pub(crate) single_ids: [u32; 128],
    /// Identifies this encoder's per-thread caches.
    uid: u64,
}

/// Scratch buffers reused across the chunks of a call, and across calls on one thread (a short
/// text's call then allocates and frees nothing).
#[derive(Default)]
struct Scratch {
    key: String,
    memo_key: Vec<u8>,
    symbols: Vec<Symbol>,
    ids: Vec<u32>,
    /// Bounded by the size of a window, whatever the text (windows.rs).
    windows: WindowScratch,
}

/// A buffer of more than this many elements after a call is released rather than kept: only chunks
/// the windows could not take make them large, and one such call should not pin its memory for good.
const KEEP_ELEMENTS: usize = 1 << 16;

impl Scratch {
    fn release_large(&mut self) {
        if self.key.capacity() > KEEP_ELEMENTS {
            self.key = String::new();
        }
        if self.memo_key.capacity() > KEEP_ELEMENTS {
            self.memo_key = Vec::new();
        }
        if self.symbols.capacity() > KEEP_ELEMENTS {
            self.symbols = Vec::new();
        }
        if self.ids.capacity() > KEEP_ELEMENTS {
            self.ids = Vec::new();
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The memo's common case, inline in the chunk loop: a chunk of at most 8 bytes that packs as it is
/// (no dummy prefix, see [`pack_plain`]) and is in the memo's hot table. False leaves it to
/// `Encoder::encode_chunk`.
#[inline(always)]
fn memo_hot(text: &[u8], chunk: Chunk, cache: &mut ChunkCache, out: &mut Vec<u32>) -> bool {
    if chunk.prefixed || chunk.end - chunk.start > 8 {
        return false;
    }
    match pack_plain(text, chunk.start, chunk.end) {
        Some(packed) => cache.get_hot(packed, out),
        None => false,
    }
}

/// Runs `f` with this thread's scratch buffers, borrowed in place (moving them out and back copied the
/// whole struct several times a call, a cost short texts felt). A nested call, were there one, would
/// find them borrowed and work in buffers of its own.
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let result = f(&mut scratch);
            scratch.release_large();
            result
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

impl Encoder {
    pub fn new(vocab: Vocab) -> Encoder {
        let table = MergeTable::new(&vocab);
        let user_defined = UserDefined::new(&vocab);
        let has_unused = matches!(vocab.merge_order, MergeOrder::PieceScore)
            && vocab.pieces().iter().any(|p| p.kind == PieceKind::Unused);
        let single_ids = single_byte_ids(&table, &vocab);
        Encoder { vocab, table, user_defined, has_unused, single_ids, uid: NEXT_UID.fetch_add(1, Ordering::Relaxed) }
    }

    /// Appends the ids of `text` to `out`. `dummy_prefix` prepends `▁` (when the model asks for it).
    /// `use_cache` = false runs every chunk through the merge loop (for tests and measurements).
    pub fn encode(&self, text: &str, dummy_prefix: bool, use_cache: bool, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let dummy_prefix = dummy_prefix && self.vocab.add_dummy_prefix;
        if self.has_unused {
            return unused::encode(self, text, dummy_prefix, out, None);
        }
        let Some(user_defined) = &self.user_defined else {
            return self.encode_plain(text, dummy_prefix, use_cache, out);
        };
        // No merge crosses a user-defined piece: the text between them is encoded part by part.
        user_defined.split(text, dummy_prefix, |part| match part {
            Part::Text { start, end, prefixed } if start == end => {
                debug_assert!(prefixed, "only the dummy prefix can make an empty part");
                self.merge_chunk(" ", &mut Vec::new(), &mut WindowScratch::default(), out);
            }
            Part::Text { start, end, prefixed } => self.encode_plain(&text[start..end], prefixed, use_cache, out),
            Part::Piece { id, .. } => out.push(id),
        });
    }

    /// `encode` on text in which no user-defined piece is matched; `dummy_prefix` is final.
    fn encode_plain(&self, text: &str, dummy_prefix: bool, use_cache: bool, out: &mut Vec<u32>) {
        let first = out.len();
        with_scratch(|scratch| {
            if use_cache {
                with_cache(self.uid, |cache| {
                    self.walk(text, dummy_prefix, out, |chunk, out| {
                        if !memo_hot(text.as_bytes(), chunk, cache, out) {
                            self.encode_chunk(text, chunk, Some(&mut *cache), scratch, out)
                        }
                    });
                });
            } else {
                self.walk(text, dummy_prefix, out, |chunk, out| self.encode_chunk(text, chunk, None, scratch, out));
            }
        });
        self.fuse_unknown_runs(out, first, None);
    }

    /// Without byte fallback, SentencePiece gives one `<unk>` for a run of unknown symbols.
    pub(crate) fn fuse_unknown_runs(&self, ids: &mut Vec<u32>, first: usize, spans: Option<&mut Vec<(usize, usize)>>) {
        if !self.vocab.has_byte_fallback() && self.vocab.fuse_unk {
            fuse_unknowns(ids, first, self.vocab.unk_id, spans);
        }
    }

    /// Hands each chunk of `text` that the tiny-chunk tables do not answer to `each`, and stops early when
    /// the caller's interrupt check (interrupt.rs) says so, polled once per `interrupt::EVERY` bytes.
    #[inline(always)]
    fn walk(&self, text: &str, dummy_prefix: bool, out: &mut Vec<u32>, mut each: impl FnMut(Chunk, &mut Vec<u32>)) {
        // Poll once a chunk ends past this byte of `text` (never, when no check is installed).
        let mut due = interrupt::budget();
        let mut chunks = Chunks::new(&self.table, text, dummy_prefix);
        while let Some(chunk) = chunks.next() {
            if chunk.end > due {
                if interrupt::poll() {
                    return;
                }
                due = chunk.end.saturating_add(interrupt::EVERY);
            }
            if !self.encode_tiny(text.as_bytes(), chunk, out) {
                each(chunk, out);
            }
            if chunks.single_byte_next() {
                self.single_bytes(&mut chunks, out);
            } else if !chunk.last.is_ascii() && chunks.non_ascii_next() {
                self.single_chars(&mut chunks, out);
            }
        }
        if due != usize::MAX {
            // What is left of the budget carries over to the next text (a batch of small texts).
            interrupt::set_budget(interrupt::budget().min(due.saturating_sub(text.len())));
        }
    }

    // Out of line, so that the chunk loop around `memo_hot` stays small: most chunks of code never get here.
    #[inline(never)]
    fn encode_chunk(
        &self,
        text: &str,
        chunk: Chunk,
        cache: Option<&mut ChunkCache>,
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) {
        let body = &text[chunk.start..chunk.end];
        // The normalized chunk: the dummy `▁` (written as a space) and then the text.
        let key: &str = if chunk.prefixed {
            scratch.key.clear();
            scratch.key.push(' ');
            scratch.key.push_str(body);
            &scratch.key
        } else {
            body
        };
        let cache = match cache {
            Some(c) => {
                if !c.in_use() || key.len() > LONG_CHUNK {
                    return self.merge_chunk(key, &mut scratch.symbols, &mut scratch.windows, out);
                }
                c
            }
            None => return self.merge_chunk(key, &mut scratch.symbols, &mut scratch.windows, out),
        };
        let memo = memo_key(text.as_bytes(), chunk.start, chunk.end, chunk.prefixed, &mut scratch.memo_key);
        if !cache.get(&memo, out) {
            let mut ids = std::mem::take(&mut scratch.ids);
            ids.clear();
            self.merge_chunk(key, &mut scratch.symbols, &mut scratch.windows, &mut ids);
            cache.insert(&memo, &ids);
            out.extend_from_slice(&ids);
            scratch.ids = ids;
        }
    }

    /// Runs the plain merge loop on one normalized chunk (spans of `symbols` index into `chunk`).
    fn merge_plain(&self, chunk: &str, symbols: &mut Vec<Symbol>, heap: &mut HeapScratch) {
        symbols.clear();
        for (start, c) in chunk.char_indices() {
            let end = start + c.len_utf8();
            symbols.push(Symbol { id: self.table.symbol(c), start: start as u32, end: end as u32 });
        }
        bpe::merge_chars(&self.table, symbols, chunk.as_bytes(), heap);
    }

    /// The merge loop's symbols for one normalized chunk, in `symbols`: long chunks in windows
    /// (windows.rs), the others (and long ones whose windows could not be placed) by the plain loop.
    fn merge_symbols(&self, chunk: &str, symbols: &mut Vec<Symbol>, windows: &mut WindowScratch) {
        symbols.clear();
        // An interrupted call's symbols are partial, and the caller discards them (not the plain loop's).
        if chunk.len() > LONG_CHUNK
            && (merge_windows(&self.table, chunk, windows, &mut |part| symbols.extend_from_slice(part))
                || interrupt::stopped())
        {
            return;
        }
        self.merge_plain(chunk, symbols, windows.heap());
    }

    /// Runs the merge loop on one normalized chunk and appends its ids. A long chunk goes window by
    /// window straight into `out`, so its characters never all become symbols at once.
    fn merge_chunk(&self, text: &str, symbols: &mut Vec<Symbol>, windows: &mut WindowScratch, out: &mut Vec<u32>) {
        if text.len() > LONG_CHUNK {
            let first = out.len();
            let mut emit = |part: &[Symbol]| self.push_symbols(text, part, out);
            if merge_windows(&self.table, text, windows, &mut emit) || interrupt::stopped() {
                return;
            }
            out.truncate(first);
        }
        self.merge_plain(text, symbols, windows.heap());
        self.push_symbols(text, symbols, out);
    }

    /// Runs the plain merge loop on a whole text, uncut and without windows, and appends its ids (for the
    /// property tests, which check that neither chunks nor windows change an id).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn merge_whole(&self, text: &str, out: &mut Vec<u32>) {
        let mut symbols = Vec::new();
        self.merge_plain(text, &mut symbols, &mut HeapScratch::default());
        self.push_symbols(text, &symbols, out);
    }

    /// The ids of merged symbols of `text`: a piece's id, or bytes (or `<unk>`) for the others.
    #[inline]
    pub(crate) fn push_symbols(&self, text: &str, symbols: &[Symbol], out: &mut Vec<u32>) {
        for s in symbols {
            if self.table.is_piece(s.id) {
                out.push(s.id);
            } else {
                self.push_fallback(&text[s.start as usize..s.end as usize], out);
            }
        }
    }

    /// One character that is not a piece (and not a space), given as its UTF-8 bytes.
    #[inline(always)]
    pub(crate) fn push_byte_fallback(&self, utf8: &[u8], out: &mut Vec<u32>) {
        match self.vocab.byte_table() {
            Some(bytes) => out.extend(utf8.iter().map(|&b| bytes[b as usize])),
            None => out.extend(self.vocab.unk_id),
        }
    }

    /// Characters that are not pieces: their UTF-8 bytes as `<0xXX>` pieces, or `<unk>` each.
    pub(crate) fn push_fallback(&self, text: &str, out: &mut Vec<u32>) {
        let Some(bytes) = self.vocab.byte_table() else {
            if let Some(unk) = self.vocab.unk_id {
                out.extend(text.chars().map(|_| unk));
            }
            return;
        };
        if !text.contains(' ') {
            return self.push_byte_fallback(text.as_bytes(), out);
        }
        for c in text.chars() {
            // A space stands for `▁` here; the normalized text never holds a plain space.
            let c = if c == ' ' { '\u{2581}' } else { c };
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                out.push(bytes[b as usize]);
            }
        }
    }

    /// Like [`Encoder::encode`], and also the byte span of `text` each id comes from. The dummy
    /// `▁` counts as part of the text's first character (so a lone `▁` spans that character, as
    /// in `tokenizers`). Each `<0xXX>` id spans its whole character.
    /// Uses no cache: offsets are for inspection, not bulk work.
    pub fn encode_with_spans(
        &self,
        text: &str,
        dummy_prefix: bool,
        ids: &mut Vec<u32>,
        spans: &mut Vec<(usize, usize)>,
    ) {
        if text.is_empty() {
            return;
        }
        let dummy_prefix = dummy_prefix && self.vocab.add_dummy_prefix;
        if self.has_unused {
            return unused::encode(self, text, dummy_prefix, ids, Some(spans));
        }
        let Some(user_defined) = &self.user_defined else {
            return self.plain_with_spans(text, dummy_prefix, ids, spans);
        };
        let first_char_end = text.chars().next().map_or(0, char::len_utf8);
        user_defined.split(text, dummy_prefix, |part| match part {
            Part::Text { start, end, .. } if start == end => {
                self.merge_chunk(" ", &mut Vec::new(), &mut WindowScratch::default(), ids);
                spans.resize(ids.len(), (0, first_char_end));
            }
            Part::Text { start, end, prefixed } => {
                let from = spans.len();
                self.plain_with_spans(&text[start..end], prefixed, ids, spans);
                for span in &mut spans[from..] {
                    *span = (span.0 + start, span.1 + start);
                }
            }
            Part::Piece { id, start, end, .. } => {
                ids.push(id);
                spans.push((start, if start == 0 && dummy_prefix { end.max(first_char_end) } else { end }));
            }
        });
    }

    /// `encode_with_spans` on text in which no user-defined piece is matched; `dummy_prefix` is final.
    fn plain_with_spans(&self, text: &str, dummy_prefix: bool, ids: &mut Vec<u32>, spans: &mut Vec<(usize, usize)>) {
        let first = ids.len();
        let mut key = String::new();
        let mut symbols = Vec::new();
        let mut windows = WindowScratch::default();
        // The caller's interrupt check, as in `walk`: an interrupted call's ids are partial and discarded.
        let mut due = interrupt::budget();
        for chunk in Chunks::new(&self.table, text, dummy_prefix) {
            if chunk.end > due {
                if interrupt::poll() {
                    break;
                }
                due = chunk.end.saturating_add(interrupt::EVERY);
            }
            key.clear();
            if chunk.prefixed {
                key.push(' ');
            }
            key.push_str(&text[chunk.start..chunk.end]);
            let shift = usize::from(chunk.prefixed);
            // Key offset k is text offset chunk.start + k - shift. The dummy `▁` is aligned with the
            // text's first character, as `tokenizers`' Prepend normalizer aligns it.
            let to_text = |k: u32| chunk.start + (k as usize).saturating_sub(shift);
            let first_char_end = text.chars().next().map_or(0, char::len_utf8);
            self.merge_symbols(&key, &mut symbols, &mut windows);
            for s in &symbols {
                let mut span = (to_text(s.start), to_text(s.end));
                if chunk.prefixed && s.start == 0 {
                    span.1 = span.1.max(first_char_end);
                }
                if self.table.is_piece(s.id) {
                    ids.push(s.id);
                    spans.push(span);
                } else {
                    let before = ids.len();
                    self.push_fallback(&key[s.start as usize..s.end as usize], ids);
                    spans.extend(std::iter::repeat_n(span, ids.len() - before));
                }
            }
        }
        self.fuse_unknown_runs(ids, first, Some(spans));
    }
}

/// SentencePiece merges a run of unknown pieces into one: fuses each run of `unk` in `ids[first..]`.
/// `spans`, when given, holds one span per id, and a fused id spans its whole run.
fn fuse_unknowns(ids: &mut Vec<u32>, first: usize, unk: Option<u32>, mut spans: Option<&mut Vec<(usize, usize)>>) {
    let Some(unk) = unk else { return };
    let mut write = first;
    for read in first..ids.len() {
        let id = ids[read];
        if id == unk && write > first && ids[write - 1] == unk {
            if let Some(spans) = spans.as_deref_mut() {
                spans[write - 1].1 = spans[read].1;
            }
            continue;
        }
        ids[write] = id;
        if let Some(spans) = spans.as_deref_mut() {
            spans[write] = spans[read];
        }
        write += 1;
    }
    ids.truncate(write);
    if let Some(spans) = spans {
        spans.truncate(write);
    }
}

#[cfg(test)]
mod tests {
    use super::{fuse_unknowns, KEEP_ELEMENTS, SCRATCH};
    use crate::tokenizer::{EncodeOptions, Tokenizer};

    #[test]
    fn the_kept_buffers_change_no_id_and_large_ones_are_released() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/python/llamatok/data/demo/tokenizer.json");
        let tok = Tokenizer::from_file(path).expect("the demo vocabulary loads");
        let opts = EncodeOptions::default();
        let texts = ["def f(x):\n    return x", "x", "  indented   code  ", "caf\u{e9} \u{1F600} ok"];
        let alone: Vec<Vec<u32>> = texts.iter().map(|t| tok.with_cache(false).encode(t, opts)).collect();
        // A long chunk with the dummy prefix: its normalized copy is longer than what is kept.
        let long = "a".repeat(4 * KEEP_ELEMENTS);
        for round in 0..3 {
            for (text, ids) in texts.iter().zip(&alone) {
                assert_eq!(&tok.encode(text, opts), ids, "{text:?}, round {round}");
            }
            assert!(!tok.encode(&long, opts).is_empty());
            SCRATCH.with(|cell| {
                let scratch = cell.borrow();
                assert!(scratch.key.capacity() <= KEEP_ELEMENTS, "{}", scratch.key.capacity());
                assert!(scratch.symbols.capacity() <= KEEP_ELEMENTS && scratch.ids.capacity() <= KEEP_ELEMENTS);
            });
        }
    }

    #[test]
    fn runs_of_unknowns_fuse_and_their_spans_join() {
        const UNK: u32 = 0;
        let mut ids = vec![7, UNK, 5, UNK, UNK, UNK, 6, UNK, UNK];
        let mut spans: Vec<(usize, usize)> = (0..ids.len()).map(|i| (i, i + 1)).collect();
        fuse_unknowns(&mut ids, 2, Some(UNK), Some(&mut spans));
        assert_eq!(ids, vec![7, UNK, 5, UNK, 6, UNK]);
        assert_eq!(spans, vec![(0, 1), (1, 2), (2, 3), (3, 6), (6, 7), (7, 9)]);
        let mut plain = vec![UNK, UNK, 3, UNK];
        fuse_unknowns(&mut plain, 0, Some(UNK), None);
        assert_eq!(plain, vec![UNK, 3, UNK]);
        fuse_unknowns(&mut plain, 0, None, None);
        assert_eq!(plain, vec![UNK, 3, UNK], "no unknown piece: nothing to fuse");
    }
}
