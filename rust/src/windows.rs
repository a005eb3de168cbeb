//! Long chunks (text the chunker cannot cut: `"a" * 10**8`, letters without spaces, base64) merged in
//! windows of a few dozen bytes, each cut between two windows checked to be one the merge loop on the
//! whole chunk would never cross. Time is linear and the extra memory is two windows' worth, whatever
//! the chunk's length. The argument (docs/encoding.md, "Long chunks"):
//!
//! 1. If the merge loop on `L ++ R` never merges a pair across the cut, its merges are those of the loop
//!    on `L` alone and of the loop on `R` alone, interleaved (the chunker's argument), so
//!    `merge(L ++ R) = merge(L) ++ merge(R)`.
//! 2. Until the first merge across the cut, that interleaving holds, and the loop on `L ++ R` picks,
//!    among the next merge of `L`, the pair across the cut and the next merge of `R`, the lowest rank,
//!    ties going left to right. Replaying the two windows' logs of merges ([`Step`]) in that order
//!    therefore tells whether the pair across the cut (`L`'s last symbol, `R`'s first, as they grow) is
//!    ever picked: [`cut_holds`].
//! 3. Merges further right than `R` change neither side of the cut, so `R`'s log may stand for the
//!    whole rest of the chunk provided the later cuts hold too. By induction from the last window,
//!    when every cut holds the windows' results joined are the loop's result on the whole chunk.
//! 4. A cut that holds still holds when `R` is cut back to `R'` at one of its final boundaries
//!    ([`cut_back`]): the loop on `L ++ R` is then the loop on `L ++ R'` with the merges of the rest of
//!    `R` interleaved, which never touch `L ++ R'` nor rank before a pair to their left of equal rank;
//!    so if the loop on `L ++ R'` ever picked the pair across the cut, the loop on `L ++ R` would too.
//!
//! A cut that does not hold is moved (to where the window's own last symbol starts, or on); if no place
//! is found within a few tries, the caller runs the plain loop on the whole chunk (exact, slower), so
//! the result never depends on the windows.

use crate::bpe::{
    merge_by_heap_logged, merge_by_scan_logged, HeapScratch, Step, Symbol, FIRST, LAST, NO_RANK, SCAN_LIMIT,
};
use crate::cut_check;
use crate::interrupt;
use crate::merges::MergeTable;
#[cfg(target_arch = "x86_64")]
use crate::scan_narrow;

/// Bytes per window (moved to the next character boundary, and further when a cut does not hold).
const WINDOW: usize = 32;
/// Chunks longer than this (bytes) are merged in windows; shorter ones by the plain loop, whose
/// buffers then stay small and in cache anyway.
pub(crate) const LONG_CHUNK: usize = 1024;
/// Places tried for each cut before giving up on windows for the chunk.
const TRIES: usize = 64;

/// One window merged on its own: its final symbols (spans in the chunk), its merges in order, and the
/// symbols of its first and last characters before any merge.
#[derive(Default)]
struct Run {
    /// The window's byte range in the chunk.
    start: usize,
    end: usize,
    symbols: Vec<Symbol>,
    log: Vec<Step>,
    first: u32,
    last: u32,
}

/// The buffers of [`merge_windows`], reused across windows and chunks.
#[derive(Default)]
pub(crate) struct WindowScratch {
    prev: Run,
    cur: Run,
    next: Run,
    heap: HeapScratch,
    /// Bytes of windows merged so far (the tests hold the windows to a bound on the work they redo).
    #[cfg(test)]
    merged_bytes: usize,
    /// Tests only: the scalar scan even where the SSE4.1 one is usable, so that both are held to the
    /// plain loop on the CPUs that have it.
    #[cfg(test)]
    pub(crate) scalar_only: bool,
}

impl WindowScratch {
    /// The heap loop's buffers, also lent to the plain loop of long chunks outside windows.
    pub(crate) fn heap(&mut self) -> &mut HeapScratch {
        &mut self.heap
    }
}

/// Whether this table and CPU allow the scan with 16-bit ranks (`scan_narrow.rs`).
fn narrow_scan(table: &MergeTable) -> bool {
    #[cfg(target_arch = "x86_64")]
    return scan_narrow::usable(table);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = table;
        false
    }
}

/// The scan merge of one window: with 16-bit ranks when `narrow` ([`narrow_scan`]); `ascii` when every
/// symbol is one ASCII character.
#[inline]
fn scan(table: &MergeTable, chunk: &str, symbols: &mut Vec<Symbol>, log: &mut Vec<Step>, narrow: bool, ascii: bool) {
    #[cfg(target_arch = "x86_64")]
    if narrow {
        // SAFETY: `narrow` comes from `scan_narrow::usable`, which checked that this CPU has SSE4.1.
        unsafe {
            if ascii {
                scan_narrow::merge_ascii(table, symbols, chunk.as_bytes(), log);
            } else {
                scan_narrow::merge_chars(table, symbols, chunk.as_bytes(), log);
            }
        }
        return;
    }
    let _ = (chunk, narrow, ascii); // used by the SSE4.1 scan only
    merge_by_scan_logged(table, symbols, log);
}

/// Merges `chunk[start..end]` (normalized text, a space standing for `▁`) on its own into `run`
/// (`narrow`: see [`scan`]).
fn run_window(
    table: &MergeTable,
    chunk: &str,
    (start, end): (usize, usize),
    run: &mut Run,
    heap: &mut HeapScratch,
    narrow: bool,
) {
    (run.start, run.end) = (start, end);
    run.symbols.clear();
    run.log.clear();
    let text = &chunk[start..end];
    let ascii = text.is_ascii();
    if ascii {
        // Letters without spaces, base64, runs of one character: a table load per byte.
        run.symbols.extend(text.bytes().zip(start as u32..).map(|(b, at)| Symbol {
            id: table.ascii_symbol(b),
            start: at,
            end: at + 1,
        }));
    } else {
        for (i, c) in text.char_indices() {
            let at = (start + i) as u32;
            run.symbols.push(Symbol { id: table.symbol(c), start: at, end: at + c.len_utf8() as u32 });
        }
    }
    run.first = run.symbols[0].id;
    run.last = run.symbols[run.symbols.len() - 1].id;
    // Windows are merged as chunks of their length would be: by the scan up to its limit.
    if run.symbols.len() <= SCAN_LIMIT {
        scan(table, chunk, &mut run.symbols, &mut run.log, narrow, ascii);
    } else {
        merge_by_heap_logged(table, &mut run.symbols, heap, &mut run.log);
    }
}

/// Makes `run` the window `chunk[run.start..at]` merged on its own, where `at` is the start of the run's
/// last symbol, without merging again: no merge of the run ever crossed `at` (a boundary between final
/// symbols was one all along), so by point 1 of the module's argument the loop on the shorter window
/// makes exactly the run's merges left of `at`, in the same order.
fn cut_back(table: &MergeTable, chunk: &str, run: &mut Run, at: usize) {
    debug_assert_eq!(run.symbols.last().map(|s| s.start as usize), Some(at));
    debug_assert!(at > run.start);
    run.symbols.pop();
    run.log.retain(|s| s.end as usize <= at);
    for s in &mut run.log {
        s.edge = (s.edge & FIRST) | if s.end as usize == at { LAST } else { 0 };
    }
    run.end = at;
    run.last = table.symbol(chunk[..at].chars().next_back().expect("the window is not empty"));
}

/// Whether the merge loop on `left ++ right` never merges across the cut between them (point 2 of the
/// module's argument), from the two runs' logs (cut_check.rs).
fn cut_holds(table: &MergeTable, left: &Run, right: &Run) -> bool {
    cut_check::cut_holds(&left.log, left.last, &right.log, right.first, |last, first| {
        table.get(last, first).map_or(NO_RANK, |m| m.rank)
    })
}

/// Where to try the cut after `cur` (= `chunk[start..end]`, merged) next: the start of its last symbol, a
/// place its own merges chose, which is likely where the loop on the whole chunk also leaves a boundary
/// (only the last symbols of a window miss their right context); else a character further on.
fn next_candidate(cur: &Run, start: usize, end: usize) -> usize {
    let half = start + WINDOW / 2;
    match cur.symbols.last() {
        Some(last) if last.start as usize > half && (last.start as usize) < end => last.start as usize,
        _ => end + cur.symbols.last().map_or(1, |s| (s.end - s.start) as usize),
    }
}

/// The next character boundary of `text` at or after `at`, or the text's end if `at` is past it.
fn boundary(text: &str, mut at: usize) -> usize {
    // is_char_boundary is false past the end: without this clamp a candidate beyond it would loop forever.
    if at >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// Merges a long normalized chunk window by window, handing each window's final symbols to `sink` in
/// order (spans are byte ranges of `chunk`). False when some cut could not be placed: the symbols handed
/// over so far are then not the chunk's, and the caller discards them and runs the plain loop (unless
/// the call was interrupted, `interrupt::stopped()`).
///
/// Each window's end is chosen so that the cut before it (to the window already handed over, whose
/// content is fixed) and the cut after it (to a provisional next window, which the next step takes
/// as its first candidate) both hold. Every cut is checked with the final content of both its windows.
pub(crate) fn merge_windows(
    table: &MergeTable,
    chunk: &str,
    scratch: &mut WindowScratch,
    sink: &mut impl FnMut(&[Symbol]),
) -> bool {
    let n = chunk.len();
    #[cfg(test)]
    let merged_bytes = &mut scratch.merged_bytes;
    #[cfg(test)]
    let mut count = |start: usize, end: usize| *merged_bytes += end - start;
    #[cfg(not(test))]
    let count = |_: usize, _: usize| {};
    let WindowScratch { prev, cur, next, heap, .. } = scratch;
    // A window ends WINDOW bytes on, unless that would leave a last window of less than WINDOW.
    let end_after = |start: usize| if n - start > 2 * WINDOW { boundary(chunk, start + WINDOW) } else { n };
    #[cfg(test)]
    let narrow = narrow_scan(table) && !scratch.scalar_only;
    #[cfg(not(test))]
    let narrow = narrow_scan(table);
    let mut start = 0;
    let mut has_prev = false;
    // Whether the cut between `prev` and `cur` as they now are is known to hold (point 4 of the
    // module's argument: it still holds after `cut_back`), so that it is not checked again.
    let mut left_holds = false;
    // Runs left by an earlier chunk (the scratch outlives it) are never taken for this one's.
    (cur.end, next.end) = (0, 0);
    // The caller's interrupt check (interrupt.rs), polled once per `interrupt::EVERY` bytes.
    let mut due = interrupt::budget();
    while start < n {
        if start > due {
            if interrupt::poll() {
                return false;
            }
            due = start + interrupt::EVERY;
        }
        let mut end = end_after(start);
        let mut placed = false;
        for attempt in 0..TRIES {
            if next.start == start && next.end == end && end != 0 {
                // `next` was placed against what is now `prev`: the cut between them held.
                std::mem::swap(cur, next);
                left_holds = true;
            } else if cur.start == start && cur.end > end && cur.symbols.last().map(|s| s.start as usize) == Some(end) {
                cut_back(table, chunk, cur, end);
            } else {
                count(start, end);
                run_window(table, chunk, (start, end), cur, heap, narrow);
                left_holds = false;
            }
            if attempt == 0 && end != n {
                // First try: a cut at a byte count falls inside a final symbol more often than not, and
                // each failed try merges a next window for nothing; where the window's own last symbol
                // starts is far likelier to hold, and taking it first costs no merge (`cut_back`).
                let at = next_candidate(cur, start, end);
                if at < end {
                    cut_back(table, chunk, cur, at);
                    end = at;
                }
            }
            debug_assert!(!(has_prev && left_holds) || cut_holds(table, prev, cur), "a held cut stopped holding");
            if !has_prev || left_holds || cut_holds(table, prev, cur) {
                left_holds = true;
                if end == n {
                    sink(&cur.symbols);
                    return true;
                }
                count(end, end_after(end));
                run_window(table, chunk, (end, end_after(end)), next, heap, narrow);
                if cut_holds(table, cur, next) {
                    placed = true;
                    break;
                }
            }
            end = if end == n {
                // The last window's cut does not hold: split the rest in two near its middle instead.
                boundary(chunk, start + (n - start) / 2)
            } else {
                // A candidate at or past the end makes this window the last one, tried next.
                boundary(chunk, next_candidate(cur, start, end))
            };
            if end <= start {
                break;
            }
        }
        if !placed {
            return false;
        }
        sink(&cur.symbols);
        std::mem::swap(prev, cur);
        has_prev = true;
        left_holds = false;
        start = end;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptests::vocabs;

    /// Text every pair of whose letters merges has no cut point, so it is all windows; a window is
    /// merged again only when a cut fails. Placing the first cut where the window's own last symbol
    /// starts keeps that rare; the first cut at the byte count fails these bounds (figures in
    /// benches/results/notes.md, session 14).
    #[test]
    fn windows_are_seldom_merged_twice() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let letters: String = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"aeinrst"[(x % 7) as usize] as char
            })
            .collect();
        // Each text, and the most of its bytes the windows may merge (per byte of the text).
        let texts = [(letters, 1.3), ("a".repeat(20_000), 1.6), (" ".repeat(20_000), 1.6)];
        let mut cases = 0;
        for named in vocabs::all().iter().filter(|n| !n.name.starts_with("demo")) {
            for (text, bound) in &texts {
                let mut scratch = WindowScratch::default();
                assert!(merge_windows(&named.encoder.table, text, &mut scratch, &mut |_| ()));
                let ratio = scratch.merged_bytes as f64 / text.len() as f64;
                assert!(ratio < *bound, "{}: {ratio:.2} times the text's bytes merged", named.name);
                cases += 1;
            }
        }
        assert!(cases > 0, "no real vocabulary: the test checks nothing");
    }

    /// The scratch outlives a chunk (and, in the encoder, a call): what a chunk left in it, even a
    /// first window that could not be placed, must not be taken for the next chunk's.
    #[test]
    fn a_chunk_ignores_what_the_last_one_left_in_the_scratch() {
        let old: String = "ab".repeat(800);
        let new: String = "ba".repeat(800);
        let mut cases = 0;
        for named in vocabs::all() {
            let table = &named.encoder.table;
            let mut expected = Vec::new();
            assert!(merge_windows(table, &new, &mut WindowScratch::default(), &mut |p| expected.extend_from_slice(p)));
            // Left behind: a first window of the old chunk whose last symbol starts where the new chunk's
            // first window ends, as a chunk whose first window failed leaves it.
            let mut scratch = WindowScratch::default();
            let first_end = boundary(&new, WINDOW);
            let found = (first_end + 1..first_end + 40).any(|end| {
                run_window(table, &old, (0, end), &mut scratch.cur, &mut scratch.heap, narrow_scan(table));
                scratch.cur.symbols.last().map(|s| s.start as usize) == Some(first_end)
            });
            if !found {
                continue; // this vocabulary merges the old chunk otherwise; another one has the case
            }
            cases += 1;
            let mut got = Vec::new();
            assert!(merge_windows(table, &new, &mut scratch, &mut |p| got.extend_from_slice(p)));
            assert!(got == expected, "{}: the windows took the old chunk's window for the new one's", named.name);
        }
        assert!(cases > 0, "no vocabulary made the case: the test checks nothing");
    }
}
