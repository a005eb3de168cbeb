//! The repetition and definition levels of a Parquet data page of `list` columns, for `llamatok
//! preprocess --format parquet` (`parquet_format.py` writes everything else): per document, repetition
//! 0 once and then 1 for each further value, definition 3 for each value or 1 once for an empty list;
//! both in the RLE/bit-packed hybrid as a data page v1 holds them (a u32 length first), as run-length
//! runs only, adjacent runs of one value joined. Made here because building them from numpy arrays was
//! most of the Parquet writer's own work on short documents.

/// Definition levels of a nullable list of nullable elements (Arrow's `list<element: T>`).
const VALUE_DEFINED: u8 = 3;
const EMPTY_LIST: u8 = 1;

/// RLE runs being written: the last one is held until a run of another value comes.
struct Runs {
    out: Vec<u8>,
    value: u8,
    count: u64,
}

impl Runs {
    fn new() -> Runs {
        // The u32 length goes first; it is filled in by `finish`.
        Runs { out: vec![0; 4], value: 0, count: 0 }
    }

    fn push(&mut self, value: u8, count: u64) {
        if count == 0 {
            return;
        }
        if self.count > 0 && value == self.value {
            self.count += count;
            return;
        }
        self.flush();
        (self.value, self.count) = (value, count);
    }

    /// The held run: its count shifted left by one as a ULEB128 varint, then the value's byte.
    fn flush(&mut self) {
        if self.count == 0 {
            return;
        }
        let mut header = self.count << 1;
        while header >= 0x80 {
            self.out.push((header & 0x7F) as u8 | 0x80);
            header >>= 7;
        }
        self.out.push(header as u8);
        self.out.push(self.value);
        self.count = 0;
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        let len = u32::try_from(self.out.len() - 4).expect("a page's levels fit in 4 GiB");
        self.out[..4].copy_from_slice(&len.to_le_bytes());
        self.out
    }
}

/// The repetition levels, then the definition levels, of documents of `lengths` values each.
pub fn list_levels(lengths: &[u64]) -> (Vec<u8>, Vec<u8>) {
    let (mut repetition, mut definition) = (Runs::new(), Runs::new());
    for &n in lengths {
        repetition.push(0, 1);
        repetition.push(1, n.saturating_sub(1));
        if n == 0 {
            definition.push(EMPTY_LIST, 1);
        } else {
            definition.push(VALUE_DEFINED, n);
        }
    }
    (repetition.finish(), definition.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_joined_and_counts_are_varints() {
        // Documents of 2, 0, 1 and 200 values.
        let (rep, def) = list_levels(&[2, 0, 1, 200]);
        // Repetition: 0, 1, then three 0s (the empty document, the one of one value, the last one's first:
        // joined), then 199 ones.
        let rep_runs = [2, 0, 2, 1, 6, 0, 0x8E, 0x03, 1];
        assert_eq!(rep[..4], (rep_runs.len() as u32).to_le_bytes());
        assert_eq!(rep[4..], rep_runs);
        // Definition: 3 twice, 1 once, 3 201 times (joined).
        let def_runs = [4, 3, 2, 1, 0x92, 0x03, 3];
        assert_eq!(def[4..], def_runs);
        assert_eq!(list_levels(&[]), (vec![0; 4], vec![0; 4]));
    }
}
