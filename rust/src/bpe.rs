//! The merge loop on one chunk: repeatedly merge the adjacent pair with the lowest rank, the
//! leftmost on ties, until no pair merges. Two implementations with identical results: a plain
//! scan for the short chunks that make up nearly all text, and a heap for long ones. Both can also
//! report each merge they make ([`Step`]), which `windows.rs` needs to prove its cuts exact.
//! See docs/encoding.md, "The merge order".

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::merges::MergeTable;

/// One symbol of a chunk: its id (a piece, a virtual character or `NO_SYMBOL`) and its byte span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub id: u32,
    pub start: u32,
    pub end: u32,
}

/// Below this many symbols the quadratic scan beats the heap's bookkeeping.
pub(crate) const SCAN_LIMIT: usize = 48;

pub(crate) const NO_RANK: u32 = u32::MAX;

/// One merge of the loop, in the order made: its rank, the merged piece, where the merged symbol
/// ends (a byte offset, as the symbols' spans), and whether the merged symbol is now the first
/// ([`FIRST`]) and/or the last ([`LAST`]) of the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub rank: u32,
    pub merged: u32,
    pub end: u32,
    pub edge: u8,
}

pub(crate) const FIRST: u8 = 1;
pub(crate) const LAST: u8 = 2;

/// Where the merge loops report their merges; `()` ignores them (and compiles to nothing).
pub(crate) trait StepLog {
    fn step(&mut self, step: Step);
}

impl StepLog for () {
    #[inline(always)]
    fn step(&mut self, _: Step) {}
}

impl StepLog for Vec<Step> {
    #[inline(always)]
    fn step(&mut self, step: Step) {
        self.push(step);
    }
}

#[inline(always)]
pub(crate) fn edge(is_first: bool, is_last: bool) -> u8 {
    (if is_first { FIRST } else { 0 }) | (if is_last { LAST } else { 0 })
}

#[inline]
pub(crate) fn rank_between(table: &MergeTable, left: &Symbol, right: &Symbol) -> (u32, u32) {
    match table.get(left.id, right.id) {
        Some(m) => (m.rank, m.merged),
        None => (NO_RANK, 0),
    }
}

/// O(n²) but cache-friendly and allocation-free: keeps the rank of every adjacent pair in a stack
/// array, merges the first minimum, and shifts the tail down by hand (tiny moves are cheaper
/// inline than through `memmove`). (The encoder runs it through [`merge_chars`]; this is the plain
/// form the tests compare with.)
#[cfg(test)]
pub fn merge_by_scan(table: &MergeTable, symbols: &mut Vec<Symbol>) {
    merge_by_scan_logged(table, symbols, &mut ());
}

/// Above this many symbols, [`merge_chars`] runs the scan with 16-bit ranks where it is usable: it finds
/// the lowest of 8 ranks at once, which pays once a chunk has a few groups of 8 pairs.
#[cfg(target_arch = "x86_64")]
const NARROW_FROM: usize = 16;

/// The merge loop on the symbols of the single characters of `text`, as `Encoder::merge_plain` builds them
/// (the heap loop's buffers in `heap`, kept by the caller).
/// The same merges: only the first ranks of pairs of two ASCII characters are read from the table's
/// ASCII ranks (one load from a small table each, where the pair table is large).
pub(crate) fn merge_chars(table: &MergeTable, symbols: &mut Vec<Symbol>, text: &[u8], heap: &mut HeapScratch) {
    let len = symbols.len();
    if len > SCAN_LIMIT {
        return merge_by_heap_logged(table, symbols, heap, &mut ());
    }
    #[cfg(target_arch = "x86_64")]
    if len > NARROW_FROM && crate::scan_narrow::usable(table) {
        // SAFETY: `usable` checked that this CPU has SSE4.1.
        unsafe { crate::scan_narrow::merge_chars(table, symbols, text, &mut ()) };
        return;
    }
    merge_chars_scalar(table, symbols, text);
}

/// [`merge_chars`] for chunks of at most [`SCAN_LIMIT`] symbols, by the plain scan whatever the CPU.
pub(crate) fn merge_chars_scalar(table: &MergeTable, symbols: &mut Vec<Symbol>, text: &[u8]) {
    let len = symbols.len();
    if len < 2 {
        return;
    }
    debug_assert!(len <= SCAN_LIMIT);
    let mut pairs = [(NO_RANK, 0u32); SCAN_LIMIT];
    for i in 0..len - 1 {
        pairs[i] = first_rank(table, text, &symbols[i], &symbols[i + 1]);
    }
    scan_from(table, symbols, &mut pairs, &mut ());
}

/// The `(rank, merged)` of two symbols of single characters of `text`, before any merge: from the
/// table's ASCII ranks when both are ASCII (one load from a small table, where the pair table is large).
#[inline(always)]
pub(crate) fn first_rank(table: &MergeTable, text: &[u8], a: &Symbol, b: &Symbol) -> (u32, u32) {
    // A character of one byte is ASCII.
    if a.end - a.start == 1 && b.end - b.start == 1 {
        table.ascii_rank(text[a.start as usize], text[b.start as usize])
    } else {
        rank_between(table, a, b)
    }
}

/// [`merge_by_scan`], reporting each merge to `log`.
pub(crate) fn merge_by_scan_logged(table: &MergeTable, symbols: &mut Vec<Symbol>, log: &mut impl StepLog) {
    let len = symbols.len();
    if len < 2 {
        return;
    }
    debug_assert!(len <= SCAN_LIMIT);
    // pairs[i] = (rank, merged) of symbols[i] + symbols[i + 1]
    let mut pairs = [(NO_RANK, 0u32); SCAN_LIMIT];
    for i in 0..len - 1 {
        pairs[i] = rank_between(table, &symbols[i], &symbols[i + 1]);
    }
    scan_from(table, symbols, &mut pairs, log);
}

/// The scan loop from the ranks of the first pairs (`pairs[i]` for `symbols[i]` and `symbols[i + 1]`).
#[inline(always)]
fn scan_from(
    table: &MergeTable,
    symbols: &mut Vec<Symbol>,
    pairs: &mut [(u32, u32); SCAN_LIMIT],
    log: &mut impl StepLog,
) {
    let mut len = symbols.len();
    loop {
        // The first lowest rank, chosen without a branch per pair: which pair is lower is different in
        // every chunk, so a branch on it goes the wrong way often.
        let (mut best, mut low) = (0, pairs[0].0);
        for (i, &(rank, _)) in pairs.iter().enumerate().take(len - 1).skip(1) {
            let lower = rank < low;
            best = std::hint::select_unpredictable(lower, i, best);
            low = std::hint::select_unpredictable(lower, rank, low);
        }
        let (rank, merged) = pairs[best];
        if rank == NO_RANK {
            break;
        }
        let end = symbols[best + 1].end;
        log.step(Step { rank, merged, end, edge: edge(best == 0, best + 2 == len) });
        symbols[best].id = merged;
        symbols[best].end = symbols[best + 1].end;
        for i in best + 1..len - 1 {
            symbols[i] = symbols[i + 1];
            pairs[i] = pairs[i + 1];
        }
        len -= 1;
        if len < 2 {
            break;
        }
        if best + 1 < len {
            pairs[best] = rank_between(table, &symbols[best], &symbols[best + 1]);
        }
        if best > 0 {
            pairs[best - 1] = rank_between(table, &symbols[best - 1], &symbols[best]);
        }
    }
    symbols.truncate(len);
}

const NIL: u32 = u32::MAX;

/// O(n log n): a min-heap of `(rank, position)` over a linked list of symbols. Entries that no
/// longer describe a live pair are recognised when popped and skipped, as sentencepiece does.
#[cfg(test)]
pub fn merge_by_heap(table: &MergeTable, symbols: &mut Vec<Symbol>) {
    merge_by_heap_logged(table, symbols, &mut HeapScratch::default(), &mut ());
}

/// The heap loop's buffers, kept between calls by callers that make many (`windows.rs`).
#[derive(Default)]
pub(crate) struct HeapScratch {
    next: Vec<u32>,
    prev: Vec<u32>,
    alive: Vec<bool>,
    heap: BinaryHeap<Reverse<u64>>,
}

/// [`merge_by_heap`] with reusable buffers, reporting each merge to `log`.
pub(crate) fn merge_by_heap_logged(
    table: &MergeTable,
    symbols: &mut Vec<Symbol>,
    scratch: &mut HeapScratch,
    log: &mut impl StepLog,
) {
    let n = symbols.len();
    if n < 2 {
        return;
    }
    let HeapScratch { next, prev, alive, heap } = scratch;
    next.clear();
    next.extend(1..=n as u32);
    next[n - 1] = NIL;
    prev.clear();
    prev.extend((0..n as u32).map(|i| i.wrapping_sub(1)));
    prev[0] = NIL;
    alive.clear();
    alive.resize(n, true);
    heap.clear();
    let push = |heap: &mut BinaryHeap<Reverse<u64>>, symbols: &[Symbol], left: usize, right: usize| {
        if let Some(m) = table.get(symbols[left].id, symbols[right].id) {
            heap.push(Reverse((u64::from(m.rank) << 32) | left as u64));
        }
    };
    for i in 0..n - 1 {
        push(heap, symbols, i, i + 1);
    }
    while let Some(Reverse(entry)) = heap.pop() {
        let rank = (entry >> 32) as u32;
        let left = (entry & 0xffff_ffff) as usize;
        if !alive[left] || next[left] == NIL {
            continue;
        }
        let right = next[left] as usize;
        // A stale entry: the pair at `left` changed since it was pushed.
        let Some(m) = table.get(symbols[left].id, symbols[right].id) else { continue };
        if m.rank != rank {
            continue;
        }
        let (merged, end) = (m.merged, symbols[right].end);
        log.step(Step { rank, merged, end, edge: edge(prev[left] == NIL, next[right] == NIL) });
        symbols[left].id = m.merged;
        symbols[left].end = symbols[right].end;
        alive[right] = false;
        next[left] = next[right];
        if next[left] != NIL {
            prev[next[left] as usize] = left as u32;
            push(heap, symbols, left, next[left] as usize);
        }
        if prev[left] != NIL {
            push(heap, symbols, prev[left] as usize, left);
        }
    }
    let mut i = 0;
    symbols.retain(|_| {
        i += 1;
        alive[i - 1]
    });
}
