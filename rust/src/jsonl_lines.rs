//! Blocks of JSONL text cut into the lines that hold documents, for `llamatok preprocess`: the reader
//! hands the core whole-line blocks of a file instead of one Python object per line. A line ends after
//! each `\n` (as iterating a Python binary file cuts it); the last line of a block may lack one. A
//! line of nothing but ASCII whitespace is blank, as Python's `bytes.isspace` says: no document.

/// The documents' lines of some blocks, where each starts, and how many blank lines were left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JsonlLines<'a> {
    pub lines: Vec<&'a [u8]>,
    /// Per line, its first byte's offset in the blocks taken one after another.
    pub starts: Vec<u64>,
    pub blank: usize,
}

/// Whether `line` is blank: every byte is one of Python's `bytes.isspace` (which, unlike
/// [`u8::is_ascii_whitespace`], counts the vertical tab).
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

/// Where each line of `block` ends (the position after it): after each `\n`, and at the block's end for
/// a last line without one. One `memchr` searcher for the block: a call per line costs more to set up
/// than a short line takes.
fn line_ends(block: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let unended = block.last().is_some_and(|&b| b != b'\n').then_some(block.len());
    memchr::memchr_iter(b'\n', block).map(|i| i + 1).chain(unended)
}

/// The lines `block` holds, as [`split_blocks`] cuts them (blank ones included).
pub fn line_count(block: &[u8]) -> usize {
    line_ends(block).count()
}

/// The lines of `blocks`, in order, blank ones counted and left out.
pub fn split_blocks<'a>(blocks: &[&'a [u8]]) -> JsonlLines<'a> {
    let mut out = JsonlLines::default();
    let mut base = 0u64;
    for block in blocks {
        let mut at = 0;
        for end in line_ends(block) {
            let line = &block[at..end];
            if is_blank(line) {
                out.blank += 1;
            } else {
                out.lines.push(line);
                out.starts.push(base + at as u64);
            }
            at = end;
        }
        base += block.len() as u64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_split_blocks_cuts_them() {
        for block in [b"" as &[u8], b"\n", b"x", b"x\n", b"\n\n", b"a\nb", b"a\nb\n", b" \n\t\r\n{}"] {
            let split = split_blocks(&[block]);
            assert_eq!(line_count(block), split.lines.len() + split.blank, "{block:?}");
        }
    }

    #[test]
    fn lines_end_after_each_newline_and_blank_ones_are_counted() {
        let got = split_blocks(&[b"{\"a\":1}\n \t\r\n\x0b\x0c\n{\"b\"\r\n" as &[u8], b"\n{}", b"", b"x\ny\n"]);
        assert_eq!(got.lines, vec![b"{\"a\":1}\n" as &[u8], b"{\"b\"\r\n", b"{}", b"x\n", b"y\n"]);
        assert_eq!(got.starts, vec![0, 15, 22, 24, 26]);
        assert_eq!(got.blank, 3);
    }

    #[test]
    fn a_line_with_any_other_byte_is_a_document() {
        for byte in (0u8..=255).filter(|b| !b" \t\n\r\x0b\x0c".contains(b)) {
            let block = [b' ', byte, b'\n'];
            assert_eq!(split_blocks(&[&block]).lines, vec![&block as &[u8]], "byte {byte:#04x}");
        }
    }

    #[test]
    fn no_blocks_or_empty_ones_give_no_lines() {
        assert_eq!(split_blocks(&[]), JsonlLines::default());
        assert_eq!(split_blocks(&[b"", b""]), JsonlLines::default());
    }
}
