//! The bindings of the core's helpers for `llamatok preprocess`'s writers (`document_rows.rs`,
//! `mds_samples.rs`, `parquet_levels.rs`): columns come in as the bytes of little-endian integer arrays,
//! or as buffers, and malformed ones raise `ValueError`.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// dolma's metadata lines `start,end,number,,` for the documents whose columns are given as the bytes of
/// little-endian `uint64` arrays of one length (`llamatok.preprocess.writers.npy`).
#[pyfunction]
pub(super) fn npy_metadata_rows<'py>(
    py: Python<'py>,
    starts: &[u8],
    ends: &[u8],
    numbers: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    if !starts.len().is_multiple_of(8) || starts.len() != ends.len() || starts.len() != numbers.len() {
        return Err(PyValueError::new_err(format!(
            "npy_metadata_rows takes three uint64 columns of one length, not {}, {} and {} bytes",
            starts.len(),
            ends.len(),
            numbers.len()
        )));
    }
    let column = |bytes: &[u8]| -> Vec<u64> {
        bytes.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("chunks of 8"))).collect()
    };
    let (starts, ends, numbers) = (column(starts), column(ends), column(numbers));
    let mut out = Vec::new();
    py.detach(|| crate::document_rows::append_rows(&starts, &ends, &numbers, &mut out));
    Ok(PyBytes::new(py, &out))
}

/// MosaicML Streaming's samples: each document's byte size (the bytes of little-endian `uint32` `sizes`)
/// and then its bytes, taken in order from `data`, written at the start of `out` (a writable `uint8`
/// buffer the writer keeps, so that no fresh memory is touched for every piece); returns the bytes
/// written (`llamatok.preprocess.writers.mds`).
#[pyfunction]
pub(super) fn mds_samples_into(data: PyBuffer<u8>, sizes: &[u8], out: PyBuffer<u8>) -> PyResult<usize> {
    let refused = |what: String| PyValueError::new_err(format!("mds_samples_into: {what}"));
    if !data.is_c_contiguous() || !out.is_c_contiguous() || out.readonly() {
        return Err(refused("data and out must be contiguous buffers of bytes, out writable".into()));
    }
    if !sizes.len().is_multiple_of(4) {
        return Err(refused(format!("{} bytes of sizes are not whole uint32s", sizes.len())));
    }
    let needed = data.len_bytes() + sizes.len();
    if out.len_bytes() < needed {
        return Err(refused(format!("out holds {} bytes, the samples take {needed}", out.len_bytes())));
    }
    let (src, dst) = (data.buf_ptr() as usize, out.buf_ptr() as usize);
    if src < dst + out.len_bytes() && dst < src + data.len_bytes() {
        return Err(refused("data and out overlap".into()));
    }
    let sizes: Vec<u32> =
        sizes.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("chunks of 4"))).collect();
    // Empty views are taken as empty slices: their pointer may be null, which a slice's may not.
    let data: &[u8] = if data.len_bytes() == 0 {
        &[]
    } else {
        // SAFETY: `data` is a C-contiguous view of `len_bytes()` bytes that stays exported (so neither freed
        // nor resized) while the `PyBuffer` lives, which is past this slice's use (the binding is only
        // shadowed); the GIL is held throughout, so no Python code changes it meanwhile.
        unsafe { std::slice::from_raw_parts(data.buf_ptr().cast::<u8>(), data.len_bytes()) }
    };
    let out: &mut [u8] = if out.len_bytes() == 0 {
        &mut []
    } else {
        // SAFETY: as for `data`, and `out` is writable and does not overlap `data` (both checked above), so
        // this is the only reference to its bytes.
        unsafe { std::slice::from_raw_parts_mut(out.buf_ptr().cast::<u8>(), out.len_bytes()) }
    };
    crate::mds_samples::write_samples(data, &sizes, out)
        .ok_or_else(|| refused(format!("the sizes do not add up to the data's {} bytes", data.len())))
}

/// A Parquet data page's repetition and definition levels (each with its u32 length first) for documents
/// of the given numbers of values (the bytes of little-endian `uint64` lengths)
/// (`llamatok.preprocess.parquet_format`).
#[pyfunction]
pub(super) fn parquet_list_levels<'py>(
    py: Python<'py>,
    lengths: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    if !lengths.len().is_multiple_of(8) {
        return Err(PyValueError::new_err(format!(
            "parquet_list_levels takes uint64 lengths, not {} bytes",
            lengths.len()
        )));
    }
    let lengths: Vec<u64> =
        lengths.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("chunks of 8"))).collect();
    let (repetition, definition) = py.detach(|| crate::parquet_levels::list_levels(&lengths));
    Ok((PyBytes::new(py, &repetition), PyBytes::new(py, &definition)))
}
