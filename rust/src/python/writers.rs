//! The bindings of the core's helpers for `llamatok preprocess`'s writers (`document_rows.rs` with
//! `gzip_members.rs`, `mds_samples.rs`, `parquet_levels.rs`): columns come in as the bytes of
//! little-endian integer arrays, or as buffers, and malformed ones raise `ValueError`.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::document_rows::RowsOverflow;
use crate::gzip_members::GzipMembers;

/// The little-endian integers of `N` bytes each in `bytes` (a numpy array's `tobytes()`), widened to u64;
/// `None` when `bytes` is not a whole number of them.
fn le_ints<const N: usize>(bytes: &[u8]) -> Option<Vec<u64>> {
    if !bytes.len().is_multiple_of(N) {
        return None;
    }
    let int = |b: &[u8]| {
        let mut word = [0u8; 8];
        word[..N].copy_from_slice(b);
        u64::from_le_bytes(word)
    };
    Some(bytes.chunks_exact(N).map(int).collect())
}

/// dolma's metadata file beside an `npy` token file, gzipped (`llamatok.preprocess.writers.npy`): `add`
/// takes a batch's document lengths (the bytes of a little-endian `uint64` array) and returns the gzip
/// bytes that are ready (members of full blocks), `finish` the rest.
#[pyclass(module = "llamatok._native")]
pub(super) struct NpyMetadata {
    gzip: GzipMembers,
}

#[pymethods]
impl NpyMetadata {
    #[new]
    fn new() -> Self {
        Self { gzip: GzipMembers::new() }
    }

    /// Adds the line `start,end,number,,` of each document of `lengths` ids that has any; the batch's ids
    /// start at `first_token` of the `npy` file and its documents are numbered from `first_number`.
    fn add<'py>(
        &mut self,
        py: Python<'py>,
        lengths: &[u8],
        first_token: u64,
        first_number: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let Some(lengths) = le_ints::<8>(lengths) else {
            return Err(PyValueError::new_err(format!(
                "NpyMetadata.add takes the lengths as uint64s, not {} bytes",
                lengths.len()
            )));
        };
        let gzip = &mut self.gzip;
        let out = py.detach(|| {
            crate::document_rows::append_rows(&lengths, first_token, first_number, gzip.text_mut())?;
            let mut out = Vec::new();
            gzip.take_full_blocks(&mut out);
            Ok(out)
        });
        let out = out.map_err(|RowsOverflow| {
            PyValueError::new_err(format!(
                "NpyMetadata.add: the token offsets from {first_token} or the document numbers from {first_number} \
                 pass 2**64 - 1"
            ))
        })?;
        Ok(PyBytes::new(py, &out))
    }

    /// The gzip bytes of the lines not yet returned; the file is complete after them.
    fn finish<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let mut out = Vec::new();
        self.gzip.finish(&mut out);
        PyBytes::new(py, &out)
    }
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
    let Some(sizes) = le_ints::<4>(sizes) else {
        return Err(refused(format!("{} bytes of sizes are not whole uint32s", sizes.len())));
    };
    // Each came from four bytes.
    let sizes: Vec<u32> = sizes.into_iter().map(|n| n as u32).collect();
    let (src, dst) = (data.buf_ptr() as usize, out.buf_ptr() as usize);
    if src < dst + out.len_bytes() && dst < src + data.len_bytes() {
        return Err(refused("data and out overlap".into()));
    }
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
    crate::mds_samples::write_samples(data, &sizes, out).map_err(|e| refused(e.to_string()))
}

/// A Parquet data page's repetition and definition levels (each with its u32 length first) for documents
/// of the given numbers of values (the bytes of little-endian `uint64` lengths)
/// (`llamatok.preprocess.parquet_format`).
#[pyfunction]
pub(super) fn parquet_list_levels<'py>(
    py: Python<'py>,
    lengths: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let Some(lengths) = le_ints::<8>(lengths) else {
        return Err(PyValueError::new_err(format!(
            "parquet_list_levels takes uint64 lengths, not {} bytes",
            lengths.len()
        )));
    };
    let (repetition, definition) = py.detach(|| crate::parquet_levels::list_levels(&lengths));
    Ok((PyBytes::new(py, &repetition), PyBytes::new(py, &definition)))
}
