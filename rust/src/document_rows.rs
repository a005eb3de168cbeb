//! The per-document lines of dolma's metadata file beside an `npy` token file (`llamatok preprocess
//! --format npy`): `start,end,number,,` for each document that has ids, in decimal. Made here because
//! Python's formatting of three integers per document cost more than everything else the writer does on
//! a corpus of short documents.

/// Why [`append_rows`] wrote nothing: the token offsets or the document numbers pass `u64::MAX`.
#[derive(Debug, PartialEq, Eq)]
pub struct RowsOverflow;

/// Appends `start,end,number,,\n` for each document of `lengths` ids that has any (OLMo-core refuses a
/// document that starts at the end of the array). The documents' ids lie one after the other from
/// `first_token` on, and they are numbered from `first_number`, documents without ids included.
pub fn append_rows(
    lengths: &[u64],
    first_token: u64,
    first_number: u64,
    out: &mut Vec<u8>,
) -> Result<(), RowsOverflow> {
    lengths.iter().try_fold(first_token, |at, &n| at.checked_add(n)).ok_or(RowsOverflow)?;
    if let Some(last) = lengths.len().checked_sub(1) {
        first_number.checked_add(last as u64).ok_or(RowsOverflow)?;
    }
    // Rows are made in a small buffer and appended a few KiB at a time: each number is copied in as a
    // fixed 20 bytes (then the position moves by its length), where appending slices of a few bytes
    // called `memcpy` for each.
    let mut buf = [0u8; 4096];
    let mut at = 0;
    // The offset in decimal, counted up by each document's length (a few digits' additions where
    // writing it anew divided by ten for each of its digits); a row's start is the previous row's end.
    let mut offset = Decimal::of(first_token);
    let mut number = Decimal::of(first_number);
    for (i, &n) in lengths.iter().enumerate() {
        if i > 0 {
            number.increment();
        }
        if n == 0 {
            continue;
        }
        if at + ROW_MAX > buf.len() {
            out.extend_from_slice(&buf[..at]);
            at = 0;
        }
        at = offset.write(&mut buf, at);
        buf[at] = b',';
        offset.add(n);
        at = offset.write(&mut buf, at + 1);
        buf[at] = b',';
        at = number.write(&mut buf, at + 1);
        buf[at..at + 3].copy_from_slice(b",,\n");
        at += 3;
    }
    out.extend_from_slice(&buf[..at]);
    Ok(())
}

/// Room a row needs: three numbers of 20 digits, the commas and the newline (the copy of a number may
/// write past its digits, never past this).
const ROW_MAX: usize = 3 * DIGITS + 5;

/// Digits of a `u64`, at most.
const DIGITS: usize = 20;

/// A number in decimal: its digits are `digits[first..DIGITS]`; the 20 bytes after them are padding,
/// so that a copy of 20 bytes from `first` never leaves the array.
#[derive(Clone, Copy)]
struct Decimal {
    digits: [u8; 2 * DIGITS],
    first: usize,
}

impl Decimal {
    fn of(mut n: u64) -> Decimal {
        let mut d = Decimal { digits: [b'0'; 2 * DIGITS], first: DIGITS };
        loop {
            d.first -= 1;
            d.digits[d.first] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return d;
            }
        }
    }

    /// Adds `n` digit by digit from the last (the caller checked that the sum stays below 2^64, so below
    /// 10^20: the digits before `first` are zeros to carry into).
    fn add(&mut self, mut n: u64) {
        let (mut i, mut carry) = (DIGITS, 0);
        while n > 0 || carry > 0 {
            i -= 1;
            let d = self.digits[i] - b'0' + (n % 10) as u8 + carry;
            carry = u8::from(d >= 10);
            self.digits[i] = b'0' + d - 10 * carry;
            n /= 10;
        }
        self.first = self.first.min(i);
    }

    /// Adds one (the caller checked that the number stays below 2^64, so below 10^20): the document number's
    /// step, kept beside [`Decimal::add`] because `add(1)` there made the rows' formatting markedly dearer
    /// (benches/results/notes.md, session 31).
    fn increment(&mut self) {
        let mut i = DIGITS;
        loop {
            i -= 1;
            if self.digits[i] != b'9' {
                self.digits[i] += 1;
                break;
            }
            self.digits[i] = b'0';
        }
        self.first = self.first.min(i);
    }

    /// Writes the digits at `buf[at..]`, which has room for 20 bytes; the position after them.
    #[inline(always)]
    fn write(&self, buf: &mut [u8], at: usize) -> usize {
        // 20 bytes, the digits first: a copy of fixed size (no call to `memcpy`); what follows the digits
        // is overwritten by the rest of the row.
        buf[at..at + DIGITS].copy_from_slice(&self.digits[self.first..self.first + DIGITS]);
        at + DIGITS - self.first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_the_formatted_offsets_of_documents_with_ids() {
        let mut out = Vec::new();
        append_rows(&[3, 0, 1, 10], 7, 98, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "7,10,98,,\n10,11,100,,\n11,21,101,,\n");
        let mut big = Vec::new();
        append_rows(&[u64::MAX - 1, 0], 1, u64::MAX - 1, &mut big).unwrap();
        assert_eq!(String::from_utf8(big).unwrap(), format!("1,{},{},,\n", u64::MAX, u64::MAX - 1));
        let mut empty = Vec::new();
        append_rows(&[], 0, 0, &mut empty).unwrap();
        assert!(empty.is_empty());
        assert_eq!(append_rows(&[u64::MAX, 1], 0, 0, &mut empty), Err(RowsOverflow));
        assert_eq!(append_rows(&[1], u64::MAX, 0, &mut empty), Err(RowsOverflow));
        assert_eq!(append_rows(&[1, 1], 0, u64::MAX, &mut empty), Err(RowsOverflow));
        assert!(empty.is_empty(), "nothing written on an overflow");
    }

    /// The rows are those `format!` makes, across carries of the document number (9 → 10, 99 → 100...),
    /// documents without ids, and more rows than one append of the rows' buffer holds.
    #[test]
    fn rows_match_format_across_carries_and_buffer_refills() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let lengths: Vec<u64> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(5) {
                    0
                } else {
                    x % 3000
                }
            })
            .collect();
        for (first_token, first_number) in [(0, 0), (7, 9), (99_999_999_990, 999_999_999_999_999_990)] {
            let mut out = Vec::new();
            append_rows(&lengths, first_token, first_number, &mut out).unwrap();
            let mut expected = String::new();
            let mut start = first_token;
            for (i, &n) in lengths.iter().enumerate() {
                if n > 0 {
                    expected.push_str(&format!("{start},{},{},,\n", start + n, first_number + i as u64));
                }
                start += n;
            }
            assert!(String::from_utf8(out).unwrap() == expected, "rows from {first_token}, {first_number}");
        }
    }
}
