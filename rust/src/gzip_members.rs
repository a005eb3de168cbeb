//! A gzip file written as a series of members, each the compression of a fixed-size block of the text
//! (`llamatok preprocess --format npy`'s `.csv.gz` of document boundaries). A gzip file may hold any
//! number of members, and every gzip reader joins them (RFC 1952, section 2.2). Each block is coded by
//! `huffman_only.rs` (its bytes as literals with a code built for the block), whole; the blocks are cut at
//! fixed offsets of the text, whatever the pieces it came in: the same text gives the same bytes in any
//! batching.

use crate::huffman_only::gzip_member;

/// The text of one member.
pub const BLOCK: usize = 1 << 20;

/// Text not yet compressed; each full block of it becomes a member.
pub struct GzipMembers {
    text: Vec<u8>,
    wrote_a_member: bool,
}

impl Default for GzipMembers {
    fn default() -> Self {
        Self::new()
    }
}

impl GzipMembers {
    pub fn new() -> Self {
        Self { text: Vec::new(), wrote_a_member: false }
    }

    /// The text not yet compressed, to append to (kept between calls, so that its memory is touched
    /// once); [`Self::take_full_blocks`] then compresses what fills whole blocks.
    pub fn text_mut(&mut self) -> &mut Vec<u8> {
        &mut self.text
    }

    /// Appends to `out` the members of the full blocks of the text, which keeps what is left.
    pub fn take_full_blocks(&mut self, out: &mut Vec<u8>) {
        let full = self.text.len() / BLOCK * BLOCK;
        for block in self.text[..full].chunks_exact(BLOCK) {
            gzip_member(block, out);
            self.wrote_a_member = true;
        }
        self.text.drain(..full);
    }

    /// Appends to `out` the members of the text left, and one empty member if the file has none yet (an
    /// empty file is not gzip), and starts over.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.take_full_blocks(out);
        if !self.text.is_empty() || !self.wrote_a_member {
            gzip_member(&self.text, out);
        }
        self.text.clear();
        self.wrote_a_member = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libdeflater::Decompressor;

    /// The file of `blocks`, each compressed alone, and each member checked to give its block back.
    fn members_of(blocks: &[&[u8]]) -> Vec<u8> {
        let mut file = Vec::new();
        for block in blocks {
            let mut member = Vec::new();
            gzip_member(block, &mut member);
            let mut back = vec![0; block.len()];
            assert_eq!(Decompressor::new().gzip_decompress(&member, &mut back).unwrap(), block.len());
            assert_eq!(&back, block);
            file.extend_from_slice(&member);
        }
        file
    }

    fn text(len: usize) -> Vec<u8> {
        (0..len).map(|i| b"0123456789,\n"[(i * 7 + i / 13) % 12]).collect()
    }

    #[test]
    fn blocks_are_cut_at_fixed_offsets_whatever_the_pieces() {
        let text = text(2 * BLOCK + 12_345);
        let expected = members_of(&[&text[..BLOCK], &text[BLOCK..2 * BLOCK], &text[2 * BLOCK..]]);
        let mut whole = Vec::new();
        let mut gz = GzipMembers::new();
        gz.text_mut().extend_from_slice(&text);
        gz.finish(&mut whole);
        assert_eq!(whole, expected);
        let mut pieces = Vec::new();
        for piece in text.chunks(BLOCK / 3 + 7) {
            gz.text_mut().extend_from_slice(piece);
            gz.take_full_blocks(&mut pieces);
        }
        gz.finish(&mut pieces);
        assert_eq!(pieces, expected);
    }

    #[test]
    fn an_exact_number_of_blocks_has_no_empty_member_and_no_text_one_empty_member() {
        let text = text(BLOCK);
        let mut file = Vec::new();
        let mut gz = GzipMembers::new();
        gz.text_mut().extend_from_slice(&text);
        gz.take_full_blocks(&mut file);
        assert_eq!(file, members_of(&[&text]), "a full block is compressed at once");
        gz.finish(&mut file);
        assert_eq!(file, members_of(&[&text]), "and nothing is added at the end");
        let mut empty = Vec::new();
        gz.finish(&mut empty);
        assert_eq!(empty, members_of(&[b""]));
    }

    #[test]
    fn the_lines_are_compressed_not_only_framed() {
        // Lines as the npy metadata has them: a document of 5 to 20 ids each.
        let mut text = Vec::new();
        let (mut start, mut n) = (0u64, 0u64);
        while text.len() < BLOCK + 1000 {
            let end = start + 5 + n * 7 % 16;
            text.extend_from_slice(format!("{start},{end},{n},,\n").as_bytes());
            (start, n) = (end, n + 1);
        }
        let mut file = Vec::new();
        let mut gz = GzipMembers::new();
        gz.text_mut().extend_from_slice(&text);
        gz.finish(&mut file);
        assert!(file.len() * 2 < text.len(), "{} bytes of gzip for {} of text", file.len(), text.len());
    }
}
