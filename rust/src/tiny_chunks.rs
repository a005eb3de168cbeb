//! Chunks answered from tables alone, without the merge loop or the memo: one character, two ASCII
//! characters, and runs of chunks of one byte (digits, punctuation, line ends) or of one character that is
//! not ASCII (CJK text, emoji), taken in one loop; most chunks of code and of CJK text are these
//! (docs/encoding.md, "Chunking").

use crate::chunker::{Chunk, Chunks};
use crate::encoder::Encoder;
use crate::merges::{MergeTable, PAIR_STAYS, PAIR_UNKNOWN};
use crate::vocab::Vocab;

/// In [`single_byte_ids`]: this byte alone is left to the memo and the merge loop.
const NOT_SINGLE: u32 = u32::MAX;

/// The id of each ASCII byte as a chunk of its own: its piece, or (line ends and tabs in Llama's
/// vocabularies) its byte fallback, or `<unk>` without one (runs of which are fused later, as the
/// merge loop's are). A space that is not a piece (its fallback is `▁`'s bytes) and a byte with neither
/// fallback nor `<unk>` are [`NOT_SINGLE`].
pub(crate) fn single_byte_ids(table: &MergeTable, vocab: &Vocab) -> [u32; 128] {
    std::array::from_fn(|b| {
        let b = b as u8;
        let symbol = table.ascii_symbol(b);
        if table.is_piece(symbol) {
            symbol
        } else if b == b' ' {
            NOT_SINGLE
        } else {
            match vocab.byte_table() {
                Some(bytes) => bytes[usize::from(b)],
                None => vocab.unk_id.unwrap_or(NOT_SINGLE),
            }
        }
    })
}

impl Encoder {
    /// The chunks of one ASCII byte each that come next, from the table.
    #[inline(never)]
    pub(crate) fn single_bytes(&self, chunks: &mut Chunks, out: &mut Vec<u32>) {
        chunks.take_single_bytes(|b| self.single_byte(b, out));
    }

    /// The chunks of one character each, not ASCII, that come next: as [`Encoder::encode_tiny`] answers one.
    #[inline(never)]
    pub(crate) fn single_chars(&self, chunks: &mut Chunks, out: &mut Vec<u32>) {
        chunks.take_single_chars(|c, utf8| {
            self.single_char(c, utf8, out);
            true
        });
    }

    /// A chunk of one character that is not ASCII (so not a space), given with its UTF-8: its piece,
    /// else its bytes.
    #[inline(always)]
    fn single_char(&self, c: char, utf8: &[u8], out: &mut Vec<u32>) {
        let symbol = self.table.symbol(c);
        if self.table.is_piece(symbol) {
            out.push(symbol);
        } else {
            self.push_byte_fallback(utf8, out);
        }
    }

    /// A chunk of one byte, which is one ASCII character: its id from [`single_byte_ids`]. False when
    /// that table leaves it to the memo and the merge loop.
    #[inline(always)]
    fn single_byte(&self, b: u8, out: &mut Vec<u32>) -> bool {
        let id = self.single_ids[usize::from(b & 0x7F)];
        if id == NOT_SINGLE {
            return false;
        }
        out.push(id);
        true
    }

    /// Chunks of one character, or of two ASCII characters (most chunks of code and of CJK text),
    /// answered from tables without the merge loop or the memo. False when the chunk is anything else.
    #[inline(always)]
    pub(crate) fn encode_tiny(&self, text: &[u8], chunk: Chunk, out: &mut Vec<u32>) -> bool {
        let len = chunk.end - chunk.start;
        let (a, b) = match (chunk.prefixed, len) {
            (false, 1) => return self.single_byte(text[chunk.start], out),
            // Two bytes starting with an ASCII one are two ASCII characters.
            (false, 2) if text[chunk.start].is_ascii() => (text[chunk.start], text[chunk.start + 1]),
            // The dummy prefix (a space here) and one byte, which is an ASCII character.
            (true, 1) => (b' ', text[chunk.start]),
            // One character: nothing to merge, nothing to remember.
            (false, _) if !chunk.last.is_ascii() && len == chunk.last.len_utf8() => {
                self.single_char(chunk.last, &text[chunk.start..chunk.end], out);
                return true;
            }
            _ => return false,
        };
        match self.table.ascii_pair(a, b) {
            PAIR_UNKNOWN => false,
            PAIR_STAYS => {
                out.push(self.table.ascii_symbol(a));
                out.push(self.table.ascii_symbol(b));
                true
            }
            merged => {
                out.push(merged);
                true
            }
        }
    }
}
