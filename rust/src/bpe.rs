//! The merge loop on one chunk: repeatedly merge the adjacent pair with the lowest rank, the
//! leftmost on ties, until no pair merges. Two implementations with identical results: a plain
//! scan for the short chunks that make up nearly all text, and a heap for long ones.
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
const SCAN_LIMIT: usize = 48;

const NO_RANK: u32 = u32::MAX;

/// Merges `symbols` in place.
pub fn merge(table: &MergeTable, symbols: &mut Vec<Symbol>) {
    if symbols.len() <= SCAN_LIMIT {
        merge_by_scan(table, symbols);
    } else {
        merge_by_heap(table, symbols);
    }
}

#[inline]
fn rank_between(table: &MergeTable, left: &Symbol, right: &Symbol) -> (u32, u32) {
    match table.get(left.id, right.id) {
        Some(m) => (m.rank, m.merged),
        None => (NO_RANK, 0),
    }
}

/// O(n²) but cache-friendly and allocation-free: keeps the rank of every adjacent pair in a stack
/// array, merges the first minimum, and shifts the tail down by hand (tiny moves are cheaper
/// inline than through `memmove`).
pub fn merge_by_scan(table: &MergeTable, symbols: &mut Vec<Symbol>) {
    let mut len = symbols.len();
    if len < 2 {
        return;
    }
    debug_assert!(len <= SCAN_LIMIT);
    // pairs[i] = (rank, merged) of symbols[i] + symbols[i + 1]
    let mut pairs = [(NO_RANK, 0u32); SCAN_LIMIT];
    for i in 0..len - 1 {
        pairs[i] = rank_between(table, &symbols[i], &symbols[i + 1]);
    }
    loop {
        let mut best = 0;
        for i in 1..len - 1 {
            if pairs[i].0 < pairs[best].0 {
                best = i;
            }
        }
        let (rank, merged) = pairs[best];
        if rank == NO_RANK {
            break;
        }
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
pub fn merge_by_heap(table: &MergeTable, symbols: &mut Vec<Symbol>) {
    let n = symbols.len();
    if n < 2 {
        return;
    }
    let mut next: Vec<u32> = (1..=n as u32).collect();
    next[n - 1] = NIL;
    let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
    prev[0] = NIL;
    let mut alive = vec![true; n];
    let mut heap: BinaryHeap<Reverse<u64>> = BinaryHeap::with_capacity(n);
    let push = |heap: &mut BinaryHeap<Reverse<u64>>, symbols: &[Symbol], left: usize, right: usize| {
        if let Some(m) = table.get(symbols[left].id, symbols[right].id) {
            heap.push(Reverse((u64::from(m.rank) << 32) | left as u64));
        }
    };
    for i in 0..n - 1 {
        push(&mut heap, symbols, i, i + 1);
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
        symbols[left].id = m.merged;
        symbols[left].end = symbols[right].end;
        alive[right] = false;
        next[left] = next[right];
        if next[left] != NIL {
            prev[next[left] as usize] = left as u32;
            push(&mut heap, symbols, left, next[left] as usize);
        }
        if prev[left] != NIL {
            push(&mut heap, symbols, prev[left] as usize, left);
        }
    }
    let mut i = 0;
    symbols.retain(|_| {
        i += 1;
        alive[i - 1]
    });
}
