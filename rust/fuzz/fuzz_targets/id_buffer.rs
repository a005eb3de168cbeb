//! The bindings' buffer reader without Python (`llamatok::id_bytes`, what `python/int_buffer.rs` runs
//! on a numpy array's or memoryview's bytes): any format string, any bytes, any vocabulary size. An
//! integer format must give exactly the ids a byte-by-byte reading gives (`checks::expected_ids`), or
//! the error naming the first item out of range and its position; other formats are refused.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use llamatok::id_bytes::{ids_from_bytes, int_format};
use llamatok::Error;
use llamatok_fuzz::checks::expected_ids;

#[derive(Arbitrary, Debug)]
struct Input {
    /// A struct-module format: mostly an order character and a type code, sometimes anything.
    format: Format,
    vocab_size: u32,
    bytes: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Format {
    Code(u8),
    OrderAndCode(u8, u8),
    Any(Vec<u8>),
}

const ORDERS: &[u8] = b"@=<>!";
const CODES: &[u8] = b"bBhHiIlLqQnNefdc?xsp";

fuzz_target!(|input: Input| {
    let format = match input.format {
        Format::Code(c) => vec![CODES[c as usize % CODES.len()]],
        Format::OrderAndCode(o, c) => vec![ORDERS[o as usize % ORDERS.len()], CODES[c as usize % CODES.len()]],
        Format::Any(bytes) => bytes,
    };
    let Some(f) = int_format(&format) else {
        assert!(
            !matches!(
                format.as_slice(),
                [b'b' | b'B' | b'q' | b'Q']
                    | [
                        b'<' | b'>' | b'=' | b'!' | b'@',
                        b'b' | b'B' | b'h' | b'H' | b'i' | b'I' | b'l' | b'L' | b'q' | b'Q'
                    ]
            ),
            "{format:?} refused"
        );
        return;
    };
    assert!([1, 2, 4, 8].contains(&f.size), "{format:?}: {f:?}");
    let vocab_size = input.vocab_size as usize;
    let got = ids_from_bytes(&input.bytes, f, vocab_size).expect("every size int_format gives is read");
    match (got, expected_ids(&input.bytes, f, vocab_size)) {
        (Ok(ids), Ok(expected)) => assert_eq!(ids, expected, "{format:?}"),
        (Err(Error::TokenId { id, position, vocab_size: v }), Err((value, at))) => {
            assert_eq!((id, position, v), (value.to_string(), Some(at), vocab_size), "{format:?}");
        }
        (got, expected) => panic!("{format:?}: {got:?}, expected {expected:?}"),
    }
});
