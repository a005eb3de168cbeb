//! Cuts normalized text into chunks that BPE can encode independently.
//!
//! A cut between characters `a` and `b` is exact whenever no piece that a merge can produce holds
//! `a` immediately followed by `b`: no symbol can then ever span the cut, and the merges on either
//! side happen in the same relative order as they would in the whole text. The table of such
//! pairs comes from the vocabulary itself ([`MergeTable::joins`]), so the rule holds for any model.

use crate::merges::MergeTable;

/// A chunk is `text[start..end]`, preceded by the dummy `▁` when `prefixed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub prefixed: bool,
}

pub struct Chunks<'a> {
    table: &'a MergeTable,
    text: &'a [u8],
    pos: usize,
    /// The character before `pos` (the dummy `▁` before the first chunk when prefixed).
    prev: Option<char>,
    prefix_pending: bool,
}

impl<'a> Chunks<'a> {
    pub fn new(table: &'a MergeTable, text: &'a str, dummy_prefix: bool) -> Self {
        Chunks {
            table,
            text: text.as_bytes(),
            pos: 0,
            prev: dummy_prefix.then_some('\u{2581}'),
            prefix_pending: dummy_prefix,
        }
    }

    #[inline]
    fn char_at(&self, i: usize) -> (char, usize) {
        let b = self.text[i];
        if b < 0x80 {
            return (b as char, 1);
        }
        // SAFETY-free decode: the text is a &str, so `i` starts a valid UTF-8 sequence.
        let len = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        let s = std::str::from_utf8(&self.text[i..i + len]).expect("chunk boundaries fall on characters");
        (s.chars().next().expect("non-empty"), len)
    }
}

impl Iterator for Chunks<'_> {
    type Item = Chunk;

    #[inline]
    fn next(&mut self) -> Option<Chunk> {
        let start = self.pos;
        let prefixed = std::mem::take(&mut self.prefix_pending);
        if start >= self.text.len() {
            // Only the dummy prefix of an empty text could remain; empty text gives no ids.
            return None;
        }
        let text = self.text;
        let mut i = start;
        let mut prev = self.prev;
        // The first character of a chunk never needs a check unless it follows the dummy prefix.
        if !prefixed {
            let (c, len) = self.char_at(i);
            prev = Some(c);
            i += len;
        }
        while i < text.len() {
            let b = text[i];
            let p = prev.expect("set above");
            if b < 0x80 && (p as u32) < 0x80 {
                if !self.table.joins_ascii(p as u8, b) {
                    break;
                }
                prev = Some(b as char);
                i += 1;
            } else {
                let (c, len) = self.char_at(i);
                if !self.table.joins(p, c) {
                    break;
                }
                prev = Some(c);
                i += len;
            }
        }
        self.pos = i;
        self.prev = prev;
        Some(Chunk { start, end: i, prefixed })
    }
}
