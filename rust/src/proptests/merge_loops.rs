//! The two merge loops of bpe.rs, the scan (chunks of up to 48 symbols) and the heap (longer ones), give
//! the same symbols on any input either can get, and so does the scan started from the table's ASCII
//! ranks on single characters (`merge_chars`); the windows' scan with 16-bit ranks (scan_narrow.rs, where
//! the vocabulary and the CPU allow it) gives the scan's symbols and the same merges in the same order.

use proptest::prelude::*;
use proptest::sample::Index;

use super::texts::{bits, render};
use super::vocabs;
use crate::bpe::{merge_by_heap, merge_by_scan, merge_chars, Symbol, NO_RANK, SCAN_LIMIT};
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
                let (mut scan, mut chars) = (window.to_vec(), window.to_vec());
                merge_by_scan(table, &mut scan);
                merge_chars(table, &mut chars, text.as_bytes(), &mut Default::default());
                prop_assert_eq!(chars, scan);
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
