//! Stopping a long call early. A caller (the Python bindings: Ctrl-C) installs a check for the
//! duration of a call with [`with_check`]; the encoder calls it once per [`EVERY`] bytes of text it
//! encodes on that thread, and gives up when it says so. The ids of an abandoned call are partial:
//! the caller discards them. Without a check installed, the encoder never calls anything.

use std::cell::{Cell, RefCell};

/// Bytes of text encoded between two checks (about a millisecond of work).
pub const EVERY: usize = 1 << 20;

type Check = Box<dyn FnMut() -> bool>;

thread_local! {
    static CHECK: RefCell<Option<Check>> = const { RefCell::new(None) };
    /// Bytes still to encode before the next check; `usize::MAX` when no check is installed.
    static BUDGET: Cell<usize> = const { Cell::new(usize::MAX) };
    static STOPPED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with `check` called now and then on this thread while it encodes (true = stop). Returns
/// `f`'s result and whether it was stopped (its result is then partial). Not reentrant: a nested call
/// runs with the outer check.
pub fn with_check<R>(check: impl FnMut() -> bool + 'static, f: impl FnOnce() -> R) -> (R, bool) {
    let installed = CHECK.with(|c| match c.try_borrow_mut() {
        Ok(mut slot) if slot.is_none() => {
            *slot = Some(Box::new(check));
            true
        }
        _ => false,
    });
    if !installed {
        return (f(), stopped());
    }
    BUDGET.set(EVERY);
    STOPPED.set(false);
    // Removed even if `f` panics, so a later call never runs a stale check.
    struct Uninstall;
    impl Drop for Uninstall {
        fn drop(&mut self) {
            CHECK.with(|c| c.borrow_mut().take());
            BUDGET.set(usize::MAX);
        }
    }
    let guard = Uninstall;
    let result = f();
    let was_stopped = STOPPED.replace(false);
    drop(guard);
    (result, was_stopped)
}

/// Bytes the encoder may still encode before it must call [`poll`].
#[inline(always)]
pub(crate) fn budget() -> usize {
    BUDGET.get()
}

/// Sets what is left of the budget (when a check is installed).
#[inline(always)]
pub(crate) fn set_budget(bytes: usize) {
    if BUDGET.get() != usize::MAX {
        BUDGET.set(bytes);
    }
}

/// Runs the installed check (once the call is stopped, it stays stopped) and starts a new budget.
/// True when the call must stop.
#[cold]
pub(crate) fn poll() -> bool {
    if STOPPED.get() {
        BUDGET.set(0);
        return true;
    }
    let stop = CHECK.with(|c| match c.try_borrow_mut() {
        Ok(mut slot) => slot.as_mut().is_some_and(|check| check()),
        Err(_) => false,
    });
    STOPPED.set(stop);
    BUDGET.set(if stop { 0 } else { EVERY });
    stop
}

/// Whether the current call was told to stop.
#[inline]
pub(crate) fn stopped() -> bool {
    STOPPED.get()
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::{EncodeOptions, Tokenizer};

    fn demo() -> Tokenizer {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/python/llamatok/data/demo/tokenizer.json");
        Tokenizer::from_file(std::path::Path::new(path)).unwrap()
    }

    #[test]
    fn a_check_that_says_stop_ends_a_long_call_early() {
        let tok = demo();
        for text in ["a".repeat(5 * EVERY), "def f(x):\n    return x\n".repeat(EVERY / 4)] {
            let calls = Rc::new(Cell::new(0));
            let seen = calls.clone();
            let (ids, stopped) = with_check(
                move || {
                    seen.set(seen.get() + 1);
                    seen.get() >= 2
                },
                || tok.encode(&text, EncodeOptions::default()),
            );
            assert!(stopped);
            assert_eq!(calls.get(), 2, "checked once per {EVERY} bytes, and not after it said stop");
            assert!(ids.len() < tok.encode(&text, EncodeOptions::default()).len() / 2);
        }
    }

    #[test]
    fn a_check_that_never_stops_changes_nothing() {
        let tok = demo();
        let text = "abc ".repeat(EVERY);
        let calls = Rc::new(Cell::new(0));
        let seen = calls.clone();
        let (ids, stopped) = with_check(
            move || {
                seen.set(seen.get() + 1);
                false
            },
            || tok.encode(&text, EncodeOptions::default()),
        );
        assert!(!stopped);
        assert!(calls.get() >= 3, "4 MiB of text: a check per MiB");
        assert_eq!(ids, tok.encode(&text, EncodeOptions::default()));
        assert_eq!(budget(), usize::MAX, "uninstalled after the call");
    }
}
