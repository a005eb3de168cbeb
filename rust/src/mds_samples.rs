//! The samples of a MosaicML Streaming (MDS) shard for `llamatok preprocess --format mds`: each
//! document's byte size as a little-endian u32, then its bytes. Made here for short documents, where
//! numpy's scatter of every byte past the size fields cost more than the rest of the writer.

/// Writes at the start of `out` each document of `sizes` (its bytes, in order, taken from `data`) framed
/// by its size; returns the bytes written. `None` (nothing written) when the sizes do not add up to
/// `data`'s length or `out` is too small.
pub fn write_samples(data: &[u8], sizes: &[u32], out: &mut [u8]) -> Option<usize> {
    let total: u64 = sizes.iter().map(|&n| u64::from(n)).sum();
    let framed = data.len() + 4 * sizes.len();
    if total != data.len() as u64 || out.len() < framed {
        return None;
    }
    let (mut from, mut to) = (0, 0);
    for &n in sizes {
        let n = n as usize;
        out[to..to + 4].copy_from_slice(&(n as u32).to_le_bytes());
        out[to + 4..to + 4 + n].copy_from_slice(&data[from..from + n]);
        (from, to) = (from + n, to + 4 + n);
    }
    Some(framed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_document_follows_its_size() {
        let mut out = [0xAAu8; 24];
        assert_eq!(write_samples(b"abcdef", &[2, 0, 4], &mut out), Some(18));
        assert_eq!(&out[..18], b"\x02\0\0\0ab\0\0\0\0\x04\0\0\0cdef");
        assert!(out[18..].iter().all(|&b| b == 0xAA), "nothing past the samples is written");
        assert_eq!(write_samples(b"abc", &[2], &mut out), None);
        assert_eq!(write_samples(b"abc", &[2, 2], &mut out), None);
        assert_eq!(write_samples(b"abcdef", &[6], &mut [0; 9]), None);
    }
}
