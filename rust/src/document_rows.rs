//! The per-document lines of dolma's metadata file beside an `npy` token file (`llamatok preprocess
//! --format npy`): `start,end,number,,` for each document, in decimal. Made here because Python's
//! formatting of three integers per document cost more than everything else the writer does on a
//! corpus of short documents.

/// Appends `start,end,number,,\n` for each row of the three columns (equal lengths) to `out`.
pub fn append_rows(starts: &[u64], ends: &[u64], numbers: &[u64], out: &mut Vec<u8>) {
    debug_assert!(starts.len() == ends.len() && ends.len() == numbers.len());
    // At most 20 digits each, the commas and the newline.
    out.reserve(starts.len() * (3 * 20 + 5));
    for ((&start, &end), &number) in starts.iter().zip(ends).zip(numbers) {
        push_decimal(start, out);
        out.push(b',');
        push_decimal(end, out);
        out.push(b',');
        push_decimal(number, out);
        out.extend_from_slice(b",,\n");
    }
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
    fn rows_are_the_formatted_numbers() {
        let values = [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX - 1, u64::MAX];
        let mut out = Vec::new();
        append_rows(&values, &values[1..].iter().chain([&7]).copied().collect::<Vec<_>>(), &values, &mut out);
        let expected: String =
            values.iter().zip(values[1..].iter().chain([&7])).map(|(s, e)| format!("{s},{e},{s},,\n")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let mut empty = Vec::new();
        append_rows(&[], &[], &[], &mut empty);
        assert!(empty.is_empty());
    }
}
