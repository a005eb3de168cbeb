//! The samples of a MosaicML Streaming (MDS) shard for `llamatok preprocess --format mds`: each
//! document's byte size as a little-endian u32, then its bytes. Made here for short documents, where
//! numpy's scatter of every byte past the size fields cost more than the rest of the writer.

/// Why [`write_samples`] wrote nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum SamplesError {
    /// The sizes add up to `sizes` bytes, not to the data's `data`.
    SizesDoNotAddUp { sizes: u64, data: usize },
    /// The samples take `needed` bytes; `out` holds `out`.
    OutTooSmall { needed: usize, out: usize },
}

impl std::fmt::Display for SamplesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SamplesError::SizesDoNotAddUp { sizes, data } => {
                write!(f, "the sizes add up to {sizes} bytes, the data holds {data}")
            }
            SamplesError::OutTooSmall { needed, out } => write!(f, "out holds {out} bytes, the samples take {needed}"),
        }
    }
}

/// Writes at the start of `out` each document of `sizes` (its bytes, in order, taken from `data`) framed
/// by its size; returns the bytes written, or (having written nothing) why it could not.
pub fn write_samples(data: &[u8], sizes: &[u32], out: &mut [u8]) -> Result<usize, SamplesError> {
    let total: u64 = sizes.iter().map(|&n| u64::from(n)).sum();
    if total != data.len() as u64 {
        return Err(SamplesError::SizesDoNotAddUp { sizes: total, data: data.len() });
    }
    let framed = data.len() + 4 * sizes.len();
    if out.len() < framed {
        return Err(SamplesError::OutTooSmall { needed: framed, out: out.len() });
    }
    let (mut from, mut to) = (0, 0);
    for &n in sizes {
        let n = n as usize;
        out[to..to + 4].copy_from_slice(&(n as u32).to_le_bytes());
        out[to + 4..to + 4 + n].copy_from_slice(&data[from..from + n]);
        (from, to) = (from + n, to + 4 + n);
    }
    Ok(framed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_document_follows_its_size() {
        let mut out = [0xAAu8; 24];
        assert_eq!(write_samples(b"abcdef", &[2, 0, 4], &mut out), Ok(18));
        assert_eq!(&out[..18], b"\x02\0\0\0ab\0\0\0\0\x04\0\0\0cdef");
        assert!(out[18..].iter().all(|&b| b == 0xAA), "nothing past the samples is written");
        assert_eq!(write_samples(b"abc", &[2], &mut out), Err(SamplesError::SizesDoNotAddUp { sizes: 2, data: 3 }));
        assert_eq!(write_samples(b"abc", &[2, 2], &mut out), Err(SamplesError::SizesDoNotAddUp { sizes: 4, data: 3 }));
        assert_eq!(write_samples(b"abcdef", &[6], &mut [0; 9]), Err(SamplesError::OutTooSmall { needed: 10, out: 9 }));
    }
}
