//! Cuts normalized text into chunks that BPE can encode independently.
//!
//! A cut between characters `a` and `b` is exact whenever no piece that a merge can produce holds
//! `a` immediately followed by `b`: no symbol can then ever span the cut, and the merges on either
//! side happen in the same relative order as they would in the whole text. The table of such
//! pairs comes from the vocabulary itself ([`MergeTable::joins`]), so the rule holds for any model.
//! On Llama's vocabulary this cuts code into chunks of a few bytes. See docs/encoding.md, "Chunking".

use crate::ascii_stops::AsciiStops;
use crate::merges::MergeTable;

/// A chunk is `text[start..end]`, preceded by the dummy `▁` when `prefixed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub prefixed: bool,
    /// The chunk's last character (already decoded while cutting; a one-character chunk is
    /// then handled without decoding it again).
    pub last: char,
}

/// Bytes taken by one call of [`Chunks::take_single_chars`] at most.
const RUN_LIMIT: usize = 4096;

pub struct Chunks<'a> {
    table: &'a MergeTable,
    text: &'a [u8],
    pos: usize,
    prefix_pending: bool,
    /// Where runs of ASCII stop, a block at a time.
    stops: AsciiStops,
}

/// The character starting at byte `i` of valid UTF-8, and its length (decoded by hand: the text
/// is a `str`, so validating it again would only cost time).
#[inline(always)]
pub(crate) fn char_at(text: &[u8], i: usize) -> (char, usize) {
    let b0 = u32::from(text[i]);
    if b0 < 0x80 {
        return (b0 as u8 as char, 1);
    }
    let len = match b0 {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    };
    // Valid UTF-8 holds all `len` bytes of the character: one bounds check covers them.
    let bytes = &text[i..i + len];
    let cont = |k: usize| u32::from(bytes[k]) & 0x3F;
    let code = match len {
        2 => (b0 & 0x1F) << 6 | cont(1),
        3 => (b0 & 0x0F) << 12 | cont(1) << 6 | cont(2),
        _ => (b0 & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
    };
    (char::from_u32(code).expect("the text is valid UTF-8"), len)
}

impl<'a> Chunks<'a> {
    pub fn new(table: &'a MergeTable, text: &'a str, dummy_prefix: bool) -> Self {
        Chunks { table, text: text.as_bytes(), pos: 0, prefix_pending: dummy_prefix, stops: AsciiStops::default() }
    }
}

impl Chunks<'_> {
    /// Whether the next two chunks are likely of one byte each (a stop after each of the next two bytes),
    /// which makes [`Chunks::take_single_bytes`] worth its call.
    #[inline(always)]
    pub fn single_byte_next(&self) -> bool {
        self.stops.run_from(self.pos + 1) >= 2
    }

    /// Whether the next chunk starts with a character that is not ASCII (then
    /// [`Chunks::take_single_chars`] is worth its call).
    #[inline(always)]
    pub fn non_ascii_next(&self) -> bool {
        self.text.get(self.pos).is_some_and(|&b| b >= 0x80)
    }

    /// Takes the chunks of one character each that come next while those characters are not ASCII (CJK
    /// text, emoji: most such characters join nothing), passing each character and its UTF-8 to `take`
    /// until it returns false. A character is a chunk of its own when it does not join the next one.
    #[inline(always)]
    pub fn take_single_chars(&mut self, mut take: impl FnMut(char, &[u8]) -> bool) {
        let text = self.text;
        let mut i = self.pos;
        if self.prefix_pending || i >= text.len() || text[i] < 0x80 {
            return;
        }
        // Back to the chunk loop now and then, which polls the caller's interrupt check.
        let limit = i.saturating_add(RUN_LIMIT);
        let (mut c, mut len) = char_at(text, i);
        while i < limit {
            let end = i + len;
            let next = if end < text.len() { Some(char_at(text, end)) } else { None };
            if next.is_some_and(|(d, _)| self.table.joins(c, d)) || !take(c, &text[i..end]) {
                break;
            }
            i = end;
            match next {
                Some((d, d_len)) if d_len > 1 => (c, len) = (d, d_len),
                // An ASCII character next goes by the ASCII path of `next`; or the text ended.
                _ => break,
            }
        }
        self.pos = i;
    }

    /// Takes the chunks of one ASCII byte each that come next (digits, punctuation, line ends: a third
    /// of the chunks of code), passing each byte to `take` until it returns false.
    #[inline(always)]
    pub fn take_single_bytes(&mut self, mut take: impl FnMut(u8) -> bool) {
        let text = self.text;
        let start = self.pos;
        if self.prefix_pending || start >= text.len() {
            return;
        }
        // Byte `start + k` is a chunk of its own when it and the byte after it are ASCII and a stop
        // follows it; the stop bits of the block hold for bytes after an ASCII byte.
        let end = start + self.stops.run_from(start + 1).min(text.len() - start);
        let mut i = start;
        let mut b = text[start];
        while i < end {
            // The byte after it, or 0 (ASCII) at the text's end.
            let next = if i + 1 < text.len() { text[i + 1] } else { 0 };
            if (b | next) >= 0x80 || !take(b) {
                break;
            }
            b = next;
            i += 1;
        }
        self.pos = i;
    }
}

impl Iterator for Chunks<'_> {
    type Item = Chunk;

    #[inline(always)]
    fn next(&mut self) -> Option<Chunk> {
        let text = self.text;
        let start = self.pos;
        if start >= text.len() {
            // Only the dummy prefix of an empty text could remain; empty text gives no ids.
            return None;
        }
        let prefixed = self.prefix_pending;
        if !prefixed && text[start] < 0x80 {
            // The common case (code is nearly all ASCII): an ASCII character starts the chunk, and the
            // chunk ends at the next stop unless that is a character that is not ASCII (the loop below).
            let end = if start + 1 < text.len() { self.stops.next(self.table, text, start + 1) } else { text.len() };
            if end == text.len() || text[end] < 0x80 {
                self.pos = end;
                return Some(Chunk { start, end, prefixed: false, last: text[end - 1] as char });
            }
        }
        // Only the first chunk takes the dummy prefix (cleared here, off the common path above).
        self.prefix_pending = false;
        let (mut prev, mut i) = if prefixed {
            ('\u{2581}', start)
        } else {
            let (c, len) = char_at(text, start);
            (c, start + len)
        };
        while i < text.len() {
            let b = text[i];
            if b < 0x80 && prev.is_ascii() {
                // A run of ASCII after other characters goes on to the next stop too.
                let stop = self.stops.next(self.table, text, i);
                if stop > i {
                    prev = text[stop - 1] as char;
                    i = stop;
                }
                if i == text.len() || text[i] < 0x80 {
                    // A cut between two ASCII characters, or the end.
                    break;
                }
            } else {
                let (c, len) = char_at(text, i);
                if !self.table.joins(prev, c) {
                    break;
                }
                prev = c;
                i += len;
            }
        }
        self.pos = i;
        Some(Chunk { start, end: i, prefixed, last: prev })
    }
}

#[cfg(test)]
mod tests {
    use super::{Chunks, RUN_LIMIT};
    use crate::proptests::vocabs;

    /// A run of characters that join nothing is taken at most `RUN_LIMIT` bytes at a time, so that the
    /// chunk loop between two runs polls the caller's interrupt check (a long CJK text stays interruptible).
    #[test]
    fn a_run_of_single_characters_is_taken_a_bounded_stretch_at_a_time() {
        let text = "\u{1F600}".repeat(16 * 1024);
        for named in vocabs::all() {
            let mut chunks = Chunks::new(&named.encoder.table, &text, false);
            let first = chunks.next().expect("a chunk");
            assert_eq!(first.end, 4, "{}: an emoji joins nothing", named.name);
            chunks.take_single_chars(|_, _| true);
            let pos = chunks.pos;
            assert!(pos > first.end && pos < text.len() && pos - first.end <= RUN_LIMIT, "{}: {pos}", named.name);
        }
    }
}
