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
    // At most 20 digits each, the commas and the newline.
    out.reserve(lengths.len() * (3 * 20 + 5));
    let mut start = first_token;
    for (i, &n) in lengths.iter().enumerate() {
        if n > 0 {
            push_decimal(start, out);
            out.push(b',');
            push_decimal(start + n, out);
            out.push(b',');
            push_decimal(first_number + i as u64, out);
            out.extend_from_slice(b",,\n");
        }
        start += n;
    }
    Ok(())
}

/// `n` in decimal, without leading zeros.
#[inline]
fn push_decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
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
}
