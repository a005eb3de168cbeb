//! The scan merge loop of `bpe.rs` for the windows of long chunks (`windows.rs`), with 16-bit ranks on
//! x86-64 CPUs with SSE4.1: the lowest rank of 8 pairs, and where it is first, comes from one
//! instruction (`PHMINPOSUW`), where the plain scan compares pair by pair. Used only when every rank of
//! the table fits below [`NONE`] (Code Llama's and Llama 2's do) and the CPU has the instruction. It makes
//! the same merges in the same order as `bpe::merge_by_scan_logged` (the property tests compare both the
//! symbols and the logs, and hold the windows to the plain loop with either scan).

use std::arch::x86_64::{
    __m128i, _mm_blendv_epi8, _mm_cmpeq_epi16, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_minpos_epu16, _mm_set1_epi16,
    _mm_setr_epi16, _mm_storeu_si128,
};

use crate::bpe::{edge, first_rank, rank_between, Step, StepLog, Symbol, SCAN_LIMIT};
use crate::merges::MergeTable;

/// No pair: above every rank used here.
const NONE: u16 = u16::MAX;
/// Pairs compared by one instruction.
const LANES: usize = 8;
const _: () = assert!(SCAN_LIMIT.is_multiple_of(LANES), "the ranks are read in whole groups of lanes");

/// Whether [`merge_by_scan_logged`] may run for `table` on this CPU.
pub(crate) fn usable(table: &MergeTable) -> bool {
    table.max_rank() < u32::from(NONE) && std::arch::is_x86_feature_detected!("sse4.1")
}

/// The lowest rank among the first `groups` groups of lanes of `ranks` and the first pair holding it;
/// `NONE` when no pair merges.
#[inline]
#[target_feature(enable = "sse4.1")]
fn lowest(ranks: &[u16; SCAN_LIMIT], groups: usize) -> (u32, usize) {
    let (mut low, mut best) = (u32::from(NONE), 0);
    for g in 0..groups.min(SCAN_LIMIT / LANES) {
        // SAFETY: group `g` is ranks[8g..8g + 8], inside the array (g < SCAN_LIMIT / LANES); an
        // unaligned load reads any 16 bytes.
        let group = unsafe { _mm_loadu_si128(ranks.as_ptr().add(LANES * g).cast::<__m128i>()) };
        // Bits 0-15: the group's lowest rank; bits 16-18: its first lane holding it.
        let found = _mm_cvtsi128_si32(_mm_minpos_epu16(group)) as u32;
        // Strictly lower: on equal ranks the earlier group's pair, the leftmost, is kept.
        if found & 0xffff < low {
            low = found & 0xffff;
            best = LANES * g + (found >> 16) as usize;
        }
    }
    (low, best)
}

/// Sets `ranks[i]` by rewriting its whole group of lanes: the next search loads that group at once, and a
/// CPU forwards a 16-byte load from a 16-byte store still in its store buffer but not from a 2-byte one
/// (it would wait for the store to be written).
#[inline]
#[target_feature(enable = "sse4.1")]
fn set_rank(ranks: &mut [u16; SCAN_LIMIT], i: usize, rank: u16) {
    assert!(i < SCAN_LIMIT);
    // SAFETY: the group of `i` is ranks[8g..8g + 8] with g = i / 8, inside the array (i < SCAN_LIMIT, a
    // multiple of 8); unaligned loads and stores take any address.
    unsafe {
        let group = ranks.as_mut_ptr().add(i / LANES * LANES).cast::<__m128i>();
        let lane = _mm_cmpeq_epi16(_mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7), _mm_set1_epi16((i % LANES) as i16));
        let updated = _mm_blendv_epi8(_mm_loadu_si128(group), _mm_set1_epi16(rank as i16), lane);
        _mm_storeu_si128(group, updated);
    }
}

/// `bpe::merge_by_scan_logged` with 16-bit ranks searched 8 at a time. Only for tables that
/// [`usable`] accepts, on a CPU with SSE4.1. Nothing is shifted: a symbol merged into its left
/// neighbour leaves its slot (its pair's rank `NONE`), the live ones are linked, and the symbols are
/// compacted once at the end. (The encoder runs it through [`merge_chars`]; this is the form the tests
/// hold to the plain scan on any symbols.)
#[cfg(test)]
#[target_feature(enable = "sse4.1")]
pub(crate) fn merge_by_scan_logged(table: &MergeTable, symbols: &mut Vec<Symbol>, log: &mut impl StepLog) {
    merge_from(table, symbols, log, |l, r| rank_between(table, l, r));
}

/// [`merge_by_scan_logged`] on the symbols of the single characters of `text`, as `bpe::merge_chars`
/// takes them (the first ranks of pairs of ASCII characters from the table's ASCII ranks).
#[target_feature(enable = "sse4.1")]
pub(crate) fn merge_chars(table: &MergeTable, symbols: &mut Vec<Symbol>, text: &[u8], log: &mut impl StepLog) {
    merge_from(table, symbols, log, |a, b| first_rank(table, text, a, b));
}

/// [`merge_chars`] where every symbol is one ASCII character of `text`: the first ranks straight from
/// the table's ASCII ranks, without telling one-byte characters from others.
#[target_feature(enable = "sse4.1")]
pub(crate) fn merge_ascii(table: &MergeTable, symbols: &mut Vec<Symbol>, text: &[u8], log: &mut impl StepLog) {
    debug_assert!(symbols.iter().all(|s| s.end == s.start + 1 && text[s.start as usize].is_ascii()));
    merge_from(table, symbols, log, |a, b| table.ascii_rank(text[a.start as usize], text[b.start as usize]));
}

/// The loop of [`merge_by_scan_logged`], `initial` giving the `(rank, merged)` of the pairs before any merge.
#[inline]
#[target_feature(enable = "sse4.1")]
fn merge_from(
    table: &MergeTable,
    symbols: &mut Vec<Symbol>,
    log: &mut impl StepLog,
    initial: impl Fn(&Symbol, &Symbol) -> (u32, u32),
) {
    let len = symbols.len();
    if len < 2 {
        return;
    }
    debug_assert!(len <= SCAN_LIMIT && table.max_rank() < u32::from(NONE));
    // ranks[i], merged[i]: the pair of live symbol i and the live symbol after it; NONE for a
    // symbol merged away, the last live one and the slots past the symbols.
    let mut ranks = [NONE; SCAN_LIMIT];
    let mut merged = [0u32; SCAN_LIMIT];
    // The live neighbours of each live symbol (`len` past the last one; the first's `prev` unused).
    let mut next = [0u8; SCAN_LIMIT];
    let mut prev = [0u8; SCAN_LIMIT];
    // Every rank fits below NONE (`usable`); NO_RANK, no pair, becomes NONE.
    let narrow = |(rank, piece): (u32, u32)| (u16::try_from(rank).unwrap_or(NONE), piece);
    let pair = |l: &Symbol, r: &Symbol| narrow(rank_between(table, l, r));
    for i in 0..len - 1 {
        (ranks[i], merged[i]) = narrow(initial(&symbols[i], &symbols[i + 1]));
    }
    for i in 0..len {
        next[i] = (i + 1) as u8;
        prev[i] = i.wrapping_sub(1) as u8;
    }
    // Symbol 0 stays first: a merge keeps its left symbol.
    let mut live = len;
    let groups = (len - 1).div_ceil(LANES);
    loop {
        let (rank, best) = lowest(&ranks, groups);
        if rank == u32::from(NONE) {
            break;
        }
        let right = usize::from(next[best]);
        let after = usize::from(next[right]);
        let piece = merged[best];
        let end = symbols[right].end;
        log.step(Step { rank, merged: piece, end, edge: edge(best == 0, after == len) });
        symbols[best].id = piece;
        symbols[best].end = end;
        set_rank(&mut ranks, right, NONE);
        next[best] = after as u8;
        live -= 1;
        let (rank, piece) = if after < len {
            prev[after] = best as u8;
            pair(&symbols[best], &symbols[after])
        } else {
            (NONE, 0)
        };
        set_rank(&mut ranks, best, rank);
        merged[best] = piece;
        if best != 0 {
            let before = usize::from(prev[best]);
            let (rank, piece) = pair(&symbols[before], &symbols[best]);
            set_rank(&mut ranks, before, rank);
            merged[before] = piece;
        }
        if live < 2 {
            break;
        }
    }
    // Compact: keep the live symbols, in order.
    let (mut at, mut kept) = (0, 0);
    while at < len {
        symbols[kept] = symbols[at];
        kept += 1;
        at = usize::from(next[at]);
    }
    symbols.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptests::vocabs;

    /// The property tests compare this loop with the scan only where it is usable: it must be on the
    /// real vocabularies, or they check nothing (every x86-64 CPU of the last fifteen years has SSE4.1).
    #[test]
    fn the_real_vocabularies_use_it() {
        assert!(std::arch::is_x86_feature_detected!("sse4.1"), "this CPU has no SSE4.1: the narrow scan is never run");
        let real: Vec<_> = vocabs::all().iter().filter(|n| !n.name.starts_with("demo")).collect();
        assert!(!real.is_empty(), "no real vocabulary: the test checks nothing");
        for named in real {
            assert!(usable(&named.encoder.table), "{}: ranks up to {}", named.name, named.encoder.table.max_rank());
        }
    }
}
