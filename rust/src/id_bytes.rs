//! Token ids stored as raw integers of any width, signed or not, in either byte order, described by a
//! struct-module format such as `"<H"`, `">q"` or `"l"`: the pure part of the bindings' buffer reader
//! (`python/int_buffer.rs` gets the bytes and format from Python's buffer protocol), apart so that
//! `cargo test` and the `id_buffer` fuzz target reach it without Python.

use std::ffi::{c_int, c_long, c_short};
use std::mem::size_of;

use crate::error::{Error, Result};

/// How one item is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntFormat {
    /// Bytes per item: 1, 2, 4 or 8.
    pub size: usize,
    pub signed: bool,
    pub big_endian: bool,
}

/// The integer format a struct-module format string describes; `None` for anything else (floats,
/// booleans, repeat counts, several items).
pub fn int_format(format: &[u8]) -> Option<IntFormat> {
    let (order, code) = match format {
        [code] => (b'@', *code),
        [order @ (b'@' | b'=' | b'<' | b'>' | b'!'), code] => (*order, *code),
        _ => return None,
    };
    // Native order ('@') uses the C types' sizes; the others the standard sizes.
    let native = order == b'@';
    let size = match code {
        b'b' | b'B' => 1,
        b'h' | b'H' if native => size_of::<c_short>(),
        b'h' | b'H' => 2,
        b'i' | b'I' if native => size_of::<c_int>(),
        b'i' | b'I' => 4,
        b'l' | b'L' if native => size_of::<c_long>(),
        b'l' | b'L' => 4,
        b'q' | b'Q' => 8,
        b'n' | b'N' if native => size_of::<isize>(),
        _ => return None,
    };
    let big_endian = match order {
        b'>' | b'!' => true,
        b'<' => false,
        _ => cfg!(target_endian = "big"),
    };
    Some(IntFormat { size, signed: code.is_ascii_lowercase(), big_endian })
}

/// An integer type the items can be read as.
trait Item: Into<i128> {
    const SIZE: usize;
    fn read(bytes: &[u8], big_endian: bool) -> Self;
}

macro_rules! item {
    ($($t:ty),*) => {$(
        impl Item for $t {
            const SIZE: usize = size_of::<$t>();
            fn read(bytes: &[u8], big_endian: bool) -> Self {
                let mut raw = [0u8; size_of::<$t>()];
                raw.copy_from_slice(bytes);
                if big_endian { <$t>::from_be_bytes(raw) } else { <$t>::from_le_bytes(raw) }
            }
        }
    )*};
}

item!(u8, i8, u16, i16, u32, i32, u64, i64);

fn collect<T: Item>(bytes: &[u8], big_endian: bool, vocab_size: usize) -> Result<Vec<u32>> {
    bytes
        .chunks_exact(T::SIZE)
        .enumerate()
        .map(|(i, chunk)| {
            let value: i128 = T::read(chunk, big_endian).into();
            match u32::try_from(value) {
                Ok(id) if (id as usize) < vocab_size => Ok(id),
                _ => Err(Error::token_id(value, Some(i), vocab_size)),
            }
        })
        .collect()
}

/// The ids stored in `bytes` (contiguous items of format `f`; a trailing partial item is ignored), each
/// checked to be below `vocab_size` (else [`Error::TokenId`] naming the first bad one and its
/// position); `None` when items of `f.size` bytes are not supported.
pub fn ids_from_bytes(bytes: &[u8], f: IntFormat, vocab_size: usize) -> Option<Result<Vec<u32>>> {
    Some(match (f.size, f.signed) {
        (1, false) => collect::<u8>(bytes, f.big_endian, vocab_size),
        (1, true) => collect::<i8>(bytes, f.big_endian, vocab_size),
        (2, false) => collect::<u16>(bytes, f.big_endian, vocab_size),
        (2, true) => collect::<i16>(bytes, f.big_endian, vocab_size),
        (4, false) => collect::<u32>(bytes, f.big_endian, vocab_size),
        (4, true) => collect::<i32>(bytes, f.big_endian, vocab_size),
        (8, false) => collect::<u64>(bytes, f.big_endian, vocab_size),
        (8, true) => collect::<i64>(bytes, f.big_endian, vocab_size),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let le = !cfg!(target_endian = "big");
        assert_eq!(int_format(b">H"), Some(IntFormat { size: 2, signed: false, big_endian: true }));
        assert_eq!(int_format(b"<q"), Some(IntFormat { size: 8, signed: true, big_endian: false }));
        assert_eq!(int_format(b"H"), Some(IntFormat { size: 2, signed: false, big_endian: !le }));
        assert_eq!(int_format(b"=l").map(|f| f.size), Some(4));
        assert_eq!(int_format(b"l").map(|f| f.size), Some(size_of::<c_long>()));
        assert_eq!(int_format(b"d"), None);
        assert_eq!(int_format(b"?"), None);
        assert_eq!(int_format(b"<n"), None);
        assert_eq!(int_format(b"2H"), None);
    }

    #[test]
    fn byte_orders() {
        assert_eq!(u16::read(&[0x03, 0x36], true), 822);
        assert_eq!(u16::read(&[0x36, 0x03], false), 822);
        assert_eq!(i16::read(&[0xFF, 0xFF], true), -1);
    }

    #[test]
    fn ids_and_their_errors() {
        let be16 = IntFormat { size: 2, signed: false, big_endian: true };
        assert_eq!(ids_from_bytes(&[0x03, 0x36, 0, 1, 9], be16, 1000).unwrap().unwrap(), vec![822, 1]);
        let err = ids_from_bytes(&[0, 1, 0xFF, 0xFF], IntFormat { signed: true, ..be16 }, 1000).unwrap().unwrap_err();
        assert!(matches!(&err, Error::TokenId { id, position: Some(1), .. } if id == "-1"), "{err:?}");
        let big = ids_from_bytes(&[0, 0, 0, 1, 0, 0, 0, 2], IntFormat { size: 8, signed: false, big_endian: true }, 10);
        assert!(matches!(big.unwrap().unwrap_err(), Error::TokenId { position: Some(0), .. }));
        assert!(ids_from_bytes(&[0; 3], IntFormat { size: 3, signed: false, big_endian: false }, 10).is_none());
    }
}
