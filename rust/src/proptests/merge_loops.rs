//! The two merge loops of bpe.rs, the scan (chunks of up to 48 symbols) and the heap (longer ones), give
//! the same symbols on any input either can get, and so does the scan started from the table's ASCII
//! ranks on single characters (`merge_chars`, with either scan); the scan with 16-bit ranks (scan_narrow.rs,
//! where the vocabulary and the CPU allow it) gives the scan's symbols and the same merges in the same order.

use proptest::prelude::*;
use proptest::sample::Index;

use super::texts::{bits, render};
use super::vocabs;
use crate::bpe::{merge_by_heap, merge_by_scan, merge_chars, merge_chars_scalar, Symbol, NO_RANK, SCAN_LIMIT};
#[cfg(target_arch = "x86_64")]
use crate::bpe::{merge_by_scan_logged, Step};
use crate::merges::MergeTable;

/// Runs the loops on `symbols` and checks they agree.
fn check(table: &MergeTable, symbols: Vec<Symbol>) -> Result<(), TestCaseError> {
    let (mut scan, mut heap) = (symbols.clone(), symbols.clone());
    merge_by_scan(table, &mut scan);
    merge_by_heap(table, &mut heap);
    prop_assert_eq!(&scan, &heap);
    #[cfg(target_arch = "x86_64")]
    if crate::scan_narrow::usable(table) {
        let (mut logged, mut narrow) = (symbols.clone(), symbols);
        let (mut log, mut narrow_log) = (Vec::<Step>::new(), Vec::<Step>::new());
        merge_by_scan_logged(table, &mut logged, &mut log);
        // SAFETY: `usable` checked that this CPU has SSE4.1.
        unsafe { crate::scan_narrow::merge_by_scan_logged(table, &mut narrow, &mut narrow_log) };
        prop_assert_eq!(&narrow, &scan);
        prop_assert_eq!(narrow_log, log);
    }
    Ok(())
}

/// Runs the loops that start from the ASCII ranks on `symbols` (of single characters of `text`) and
/// checks they agree with the scan: `merge_chars` (which picks a scan by length), the plain scan, and
/// the 16-bit one with the same log of merges (where usable).
fn check_chars(table: &MergeTable, text: &str, symbols: &[Symbol]) -> Result<(), TestCaseError> {
    let mut scan = symbols.to_vec();
    merge_by_scan(table, &mut scan);
    let mut chars = symbols.to_vec();
    merge_chars(table, &mut chars, text.as_bytes(), &mut Default::default());
    prop_assert_eq!(&chars, &scan);
    let mut scalar = symbols.to_vec();
    merge_chars_scalar(table, &mut scalar, text.as_bytes());
    prop_assert_eq!(&scalar, &scan);
    #[cfg(target_arch = "x86_64")]
    if crate::scan_narrow::usable(table) {
        let (mut logged, mut log) = (symbols.to_vec(), Vec::<Step>::new());
        merge_by_scan_logged(table, &mut logged, &mut log);
        let (mut narrow, mut narrow_log) = (symbols.to_vec(), Vec::<Step>::new());
        // SAFETY: `usable` checked that this CPU has SSE4.1.
        unsafe { crate::scan_narrow::merge_chars(table, &mut narrow, text.as_bytes(), &mut narrow_log) };
        prop_assert_eq!(&narrow, &scan);
        prop_assert_eq!(narrow_log, log);
    }
    Ok(())
}

proptest! {
    /// Windows of a text's characters, as the chunker would hand them over if it never cut.
    #[test]
    fn scan_and_heap_agree_on_characters(bits in bits(), prefix in any::<bool>()) {
        for named in vocabs::all() {
            let text = format!("{}{}", if prefix { " " } else { "" }, render(&bits, &named.tok));
            let table = &named.encoder.table;
            let symbols: Vec<Symbol> = text
                .char_indices()
                .map(|(i, c)| Symbol { id: table.symbol(c), start: i as u32, end: (i + c.len_utf8()) as u32 })
                .collect();
            for window in symbols.chunks(SCAN_LIMIT) {
                check(table, window.to_vec())?;
                check_chars(table, &text, window)?;
                // Every length from 2, so that both sides of `merge_chars`' choice of scan are run.
                for end in 2..window.len() {
                    check_chars(table, &text, &window[..end])?;
                }
            }
        }
    }

    /// Sequences of whole pieces (`▁d` `ef` ...): symbols merges produce, in orders text rarely gives.
    #[test]
    fn scan_and_heap_agree_on_pieces(picks in proptest::collection::vec(any::<Index>(), 0..SCAN_LIMIT)) {
        for named in vocabs::all() {
            let vocab = named.tok.vocab();
            let mut end = 0;
            let symbols = picks
                .iter()
                .map(|pick| {
                    let id = pick.index(vocab.len()) as u32;
                    let start = end;
                    end += vocab.pieces()[id as usize].text.len() as u32;
                    Symbol { id, start, end }
                })
                .collect();
            check(&named.encoder.table, symbols)?;
        }
    }
}

#[test]
fn ascii_ranks_are_the_pair_table_s() {
    for named in vocabs::all() {
        let table = &named.encoder.table;
        for a in 0..128u8 {
            for b in 0..128u8 {
                let expected = table
                    .get(table.ascii_symbol(a), table.ascii_symbol(b))
                    .map_or((NO_RANK, 0), |m| (m.rank, m.merged));
                assert_eq!(table.ascii_rank(a, b), expected, "{}: {a} {b}", named.name);
            }
        }
    }
}
