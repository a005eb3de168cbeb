//! With the Python bindings on, tells the compiler which Python it builds for (`Py_3_14`, `PyPy`,
//! ...): `python/text.rs` reads a `str`'s storage directly only where the C API exposes it.

fn main() {
    #[cfg(feature = "python")]
    pyo3_build_config::use_pyo3_cfgs();
}
