//! The merge table: which adjacent symbol pairs may merge, into what, and with which priority.
//! Built once from the vocabulary; both SentencePiece's score order and a Hugging Face merge list
//! become the same thing here: `(left symbol, right symbol) -> (rank, merged piece)`, lowest rank first
//! (docs/encoding.md, "The merge order").

use rustc_hash::{FxHashMap, FxHashSet};

use crate::bpe::NO_RANK;
use crate::vocab::{MergeOrder, Vocab};

/// Symbols fit in 30 bits (vocabularies have fewer than 2^30 pieces): `bmp` packs two flag
/// bits above them.
const SYMBOL_MASK: u32 = (1 << 30) - 1;
const FLAGS_SHIFT: u32 = 30;

/// A character that is no symbol at all: it can never merge and is emitted as bytes.
pub const NO_SYMBOL: u32 = SYMBOL_MASK;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merge {
    pub rank: u32,
    pub merged: u32,
}

/// `▁` and the plain space are the same symbol: the normalizer turns every space into `▁`.
#[inline]
pub fn canonical(c: char) -> char {
    if c == '\u{2581}' {
        ' '
    } else {
        c
    }
}

#[inline]
fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

/// `ascii_pairs` entry: both characters are pieces and do not merge.
pub const PAIR_STAYS: u32 = u32::MAX;
/// `ascii_pairs` entry: a character is not a piece; take the general path.
pub const PAIR_UNKNOWN: u32 = u32::MAX - 1;

const JOINS_NEXT: u8 = 1;
const JOINS_PREVIOUS: u8 = 2;

/// 256-code-point pages in all of Unicode, as words of a bitmap.
const ASTRAL_PAGE_WORDS: usize = 0x11_0000 / 256 / 64;

pub struct MergeTable {
    pairs: FxHashMap<u64, Merge>,
    /// For each character below U+10000, by code point: its symbol in the low 30 bits (`' '`
    /// is `▁`) and its join flags in the top two. A flat table because CJK text looks up every
    /// character, and one word because every character wants both (one cache miss, not two).
    /// Join flags: [`JOINS_NEXT`] if the character is followed by another inside some mergeable
    /// piece, [`JOINS_PREVIOUS`] if it is preceded by one. Pairs failing these need no lookup.
    bmp: Box<[u32]>,
    /// The characters above U+FFFF that have a symbol or occur in a mergeable piece (Code Llama
    /// has three), with their symbol and join flags.
    astral: FxHashMap<char, (u32, u8)>,
    /// Bit per 256-code-point page above U+FFFF, set when `astral` holds a character of that page:
    /// most emoji are then settled by one load, without hashing.
    astral_pages: Box<[u64; ASTRAL_PAGE_WORDS]>,
    /// Symbols `>= n_pieces` stand for characters that are not pieces but occur inside one
    /// (SentencePiece can still merge them); they are emitted as bytes if they stay alone.
    n_pieces: u32,
    /// Bit `b % 64` of word `2a + b / 64`: some mergeable piece holds ASCII `a` right before
    /// ASCII `b` (one load and a bit test on the hot path).
    joins_ascii: Box<[u64; 256]>,
    /// The same for pairs where either character is not ASCII.
    joins_other: FxHashSet<u64>,
    /// The encoding of every two-character ASCII chunk (`' '` is `▁`), by `128 * a + b`: the merged
    /// piece, [`PAIR_STAYS`] or [`PAIR_UNKNOWN`]. Two-character chunks are common in code, more
    /// so in base64, and this answers them with one load.
    ascii_pairs: Box<[u32]>,
    /// `(rank, merged)` of the symbols of every two ASCII characters, by `128 * a + b` (`NO_RANK` when
    /// they do not merge): the first pairs of a chunk of code are mostly these.
    ascii_ranks: Box<[(u32, u32)]>,
    /// The highest rank of any pair (0 when none merges).
    max_rank: u32,
}

impl MergeTable {
    pub fn new(vocab: &Vocab) -> MergeTable {
        let n_pieces = vocab.len() as u32;
        let mut table = MergeTable {
            pairs: FxHashMap::default(),
            bmp: vec![NO_SYMBOL; 0x10000].into_boxed_slice(),
            astral: FxHashMap::default(),
            astral_pages: Box::new([0; ASTRAL_PAGE_WORDS]),
            n_pieces,
            joins_ascii: Box::new([0; 256]),
            joins_other: FxHashSet::default(),
            ascii_pairs: vec![PAIR_UNKNOWN; 128 * 128].into_boxed_slice(),
            ascii_ranks: vec![(NO_RANK, 0); 128 * 128].into_boxed_slice(),
            max_rank: 0,
        };
        for (id, piece) in vocab.pieces().iter().enumerate() {
            let mut it = piece.text.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                table.set_symbol(canonical(c), id as u32);
            }
        }
        match &vocab.merge_order {
            MergeOrder::PieceScore => table.add_score_merges(vocab),
            MergeOrder::MergeList(list) => table.add_list_merges(vocab, list),
        }
        for a in 0..128u8 {
            for b in 0..128u8 {
                let (sa, sb) = (table.ascii_symbol(a), table.ascii_symbol(b));
                let merge = table.get(sa, sb);
                let at = 128 * a as usize + b as usize;
                if let Some(m) = merge {
                    table.ascii_ranks[at] = (m.rank, m.merged);
                }
                if table.is_piece(sa) && table.is_piece(sb) {
                    table.ascii_pairs[at] = merge.map_or(PAIR_STAYS, |m| m.merged);
                }
            }
        }
        table.max_rank = table.pairs.values().map(|m| m.rank).max().unwrap_or(0);
        let merged: Vec<u32> = table.pairs.values().map(|m| m.merged).collect();
        for id in merged {
            let text = &vocab.pieces()[id as usize].text;
            let chars: Vec<char> = text.chars().map(canonical).collect();
            for w in chars.windows(2) {
                table.mark_join(w[0], w[1]);
            }
        }
        table
    }

    fn set_symbol(&mut self, c: char, symbol: u32) {
        match self.bmp.get_mut(c as usize) {
            Some(slot) => {
                assert!(symbol < NO_SYMBOL, "vocabularies have fewer than 2^30 pieces");
                *slot = (*slot & !SYMBOL_MASK) | symbol;
            }
            None => self.astral_entry(c).0 = symbol,
        }
    }

    fn astral_entry(&mut self, c: char) -> &mut (u32, u8) {
        let page = c as usize >> 8;
        self.astral_pages[page / 64] |= 1 << (page % 64);
        self.astral.entry(c).or_insert((NO_SYMBOL, 0))
    }

    /// The symbol and join flags of a character above U+FFFF.
    #[inline]
    fn astral(&self, c: char) -> (u32, u8) {
        let page = c as usize >> 8;
        if self.astral_pages[page / 64] >> (page % 64) & 1 == 0 {
            return (NO_SYMBOL, 0);
        }
        self.astral.get(&c).copied().unwrap_or((NO_SYMBOL, 0))
    }

    fn mark_join(&mut self, a: char, b: char) {
        // Flags are looked up before canonicalizing: `▁` and the space share theirs.
        let aliases = |c: char| if c == ' ' { ['\u{2581}', ' '] } else { [c, c] };
        for a in aliases(a) {
            self.add_join_flags(a, JOINS_NEXT);
        }
        for b in aliases(b) {
            self.add_join_flags(b, JOINS_PREVIOUS);
        }
        if a.is_ascii() && b.is_ascii() {
            let (a, b) = (a as usize, b as usize);
            self.joins_ascii[2 * a + b / 64] |= 1u64 << (b % 64);
        } else {
            self.joins_other.insert(pair_key(a as u32, b as u32));
        }
    }

    fn add_join_flags(&mut self, c: char, flags: u8) {
        match self.bmp.get_mut(c as usize) {
            Some(slot) => *slot |= u32::from(flags) << FLAGS_SHIFT,
            None => self.astral_entry(c).1 |= flags,
        }
    }

    /// SentencePiece: every split of a mergeable piece into two symbols is a pair; its priority is
    /// the merged piece's score (equal scores share a rank, so the leftmost pair wins the tie).
    fn add_score_merges(&mut self, vocab: &Vocab) {
        let mut scores: Vec<f32> = vocab.pieces().iter().filter(|p| p.kind.is_mergeable()).map(|p| p.score).collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        scores.dedup();
        let rank_of = |score: f32| scores.partition_point(|&s| s > score) as u32;
        // Characters that occur inside mergeable pieces but are not pieces get virtual symbols.
        let mut next_virtual = self.n_pieces;
        for piece in vocab.pieces().iter().filter(|p| p.kind.is_mergeable()) {
            for c in piece.text.chars().map(canonical) {
                if self.symbol(c) == NO_SYMBOL {
                    self.set_symbol(c, next_virtual);
                    next_virtual += 1;
                }
            }
        }
        for (id, piece) in vocab.pieces().iter().enumerate() {
            if !piece.kind.is_mergeable() {
                continue;
            }
            let text = &piece.text;
            let rank = rank_of(piece.score);
            for (split, _) in text.char_indices().skip(1) {
                let (left, right) = text.split_at(split);
                let (Some(l), Some(r)) = (self.operand(vocab, left), self.operand(vocab, right)) else {
                    continue;
                };
                self.pairs.insert(pair_key(l, r), Merge { rank, merged: id as u32 });
            }
        }
    }

    /// A substring can be a symbol if it is one character, or a piece that merges can produce.
    fn operand(&self, vocab: &Vocab, text: &str) -> Option<u32> {
        let mut it = text.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => Some(self.symbol(canonical(c))).filter(|&s| s != NO_SYMBOL),
            _ => vocab.id(text).filter(|&id| vocab.pieces()[id as usize].kind.is_mergeable()),
        }
    }

    /// Hugging Face BPE: the merge list's order is the priority (a repeated pair keeps its last rank,
    /// as `tokenizers` does when it collects the list into a map).
    fn add_list_merges(&mut self, vocab: &Vocab, list: &[(u32, u32)]) {
        let mut text = String::new();
        for (rank, &(l, r)) in list.iter().enumerate() {
            text.clear();
            text.push_str(&vocab.pieces()[l as usize].text);
            text.push_str(&vocab.pieces()[r as usize].text);
            let merged = vocab.id(&text).expect("the reader checked every merge result");
            self.pairs.insert(pair_key(l, r), Merge { rank: rank as u32, merged });
        }
    }

    /// The initial symbol of a character.
    #[inline]
    pub fn symbol(&self, c: char) -> u32 {
        let c = canonical(c);
        match self.bmp.get(c as usize) {
            Some(&entry) => entry & SYMBOL_MASK,
            None => self.astral(c).0,
        }
    }

    #[inline]
    pub fn ascii_symbol(&self, b: u8) -> u32 {
        self.bmp[b as usize] & SYMBOL_MASK
    }

    /// The encoding of the two ASCII characters `a b` as one chunk (see `ascii_pairs`).
    #[inline]
    pub fn ascii_pair(&self, a: u8, b: u8) -> u32 {
        self.ascii_pairs[128 * usize::from(a & 0x7F) + usize::from(b & 0x7F)]
    }

    #[inline]
    pub fn get(&self, left: u32, right: u32) -> Option<Merge> {
        self.pairs.get(&pair_key(left, right)).copied()
    }

    /// The rank and merged piece of the symbols of ASCII `a` and `b` (rank `NO_RANK` when they do not
    /// merge): `get` on their symbols, from a table of all such pairs.
    #[inline]
    pub fn ascii_rank(&self, a: u8, b: u8) -> (u32, u32) {
        self.ascii_ranks[128 * usize::from(a & 0x7F) + usize::from(b & 0x7F)]
    }

    /// The highest rank of any pair (0 when none merges).
    #[inline]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code, reason = "read by the x86-64 scan only"))]
    pub fn max_rank(&self) -> u32 {
        self.max_rank
    }

    /// True when `symbol` is a vocabulary id (not a virtual character or `NO_SYMBOL`).
    #[inline]
    pub fn is_piece(&self, symbol: u32) -> bool {
        symbol < self.n_pieces
    }

    /// Whether a merge could ever produce a piece holding `a` immediately followed by `b`.
    /// When it cannot, text may be cut between them without changing any id.
    #[inline(always)]
    pub fn joins(&self, a: char, b: char) -> bool {
        // Most non-ASCII characters are never next to anything inside a piece: two flag lookups
        // settle them before any hashing.
        if self.join_flags(a) & JOINS_NEXT == 0 || self.join_flags(b) & JOINS_PREVIOUS == 0 {
            return false;
        }
        let (a, b) = (canonical(a), canonical(b));
        if a.is_ascii() && b.is_ascii() {
            return self.joins_ascii(a as u8, b as u8);
        }
        self.joins_other.contains(&pair_key(a as u32, b as u32))
    }

    #[inline]
    fn join_flags(&self, c: char) -> u8 {
        match self.bmp.get(c as usize) {
            Some(&entry) => (entry >> FLAGS_SHIFT) as u8,
            None => self.astral(c).1,
        }
    }

    /// The table [`joins_ascii`](Self::joins_ascii) reads (bit `b % 64` of word `2a + b / 64`), for
    /// lookups of many pairs at once (`ascii_stops.rs`).
    #[inline]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code, reason = "read by the x86-64 block scan only"))]
    pub fn joins_ascii_words(&self) -> &[u64; 256] {
        &self.joins_ascii
    }

    #[inline]
    pub fn joins_ascii(&self, a: u8, b: u8) -> bool {
        let (a, b) = (a as usize, b as usize);
        self.joins_ascii[2 * a + b / 64] >> (b % 64) & 1 != 0
    }
}
