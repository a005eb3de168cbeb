//! Ctrl-C during a long call. Python runs signal handlers only when the main thread asks for them, and
//! these calls run without the GIL: they ask now and then (`Signals::raised`, which takes the GIL for a
//! moment), stop when a handler raised, and return its exception (`KeyboardInterrupt`).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

/// What a signal handler raised during one call, if anything. Shared (`Arc`, `Mutex`) because the call
/// hands it to code that runs without the GIL, which pyo3 requires to be `Send`.
#[derive(Default, Clone)]
pub struct Signals {
    raised: Arc<Mutex<Option<PyErr>>>,
}

impl Signals {
    /// Runs Python's pending signal handlers (call without the GIL); true when one raised.
    pub fn raised(&self) -> bool {
        match Python::attach(|py| py.check_signals()) {
            Ok(()) => false,
            Err(e) => {
                *self.raised.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(e);
                true
            }
        }
    }

    /// The exception a handler raised, as the call's result.
    pub fn result(&self) -> PyResult<()> {
        self.raised.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take().map_or(Ok(()), Err)
    }
}

/// `f` run without the GIL and stopped early when a signal handler raises (Ctrl-C): its exception is
/// the call's result. For short work (`long` false) neither is worth its cost, and `f` just runs.
pub fn stoppable<R: Send>(py: Python<'_>, long: bool, f: impl FnOnce() -> R + Send) -> PyResult<R> {
    if !long {
        return Ok(f());
    }
    py.detach(|| {
        let signals = Signals::default();
        let asker = signals.clone();
        let (result, _) = crate::interrupt::with_check(move || asker.raised(), f);
        signals.result().map(|()| result)
    })
}
