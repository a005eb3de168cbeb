//! Buffers reused by `encode` and `count` on each thread: the UTF-8 of a non-ASCII text and the
//! ids before they become a list. Memory the process touches for the first time is slow to fault
//! in (a large share of a process's first big non-ASCII call); reused, it is already there. What is
//! kept is capped, so one huge call does not pin its buffers for good.

use std::cell::RefCell;

/// A buffer larger than this after a call is released instead of kept (so at most 2 × 4 MiB per thread).
const KEEP_BYTES: usize = 4 << 20;

#[derive(Default)]
pub struct Scratch {
    pub text: Vec<u8>,
    pub ids: Vec<u32>,
}

impl Scratch {
    fn reset(&mut self) {
        if self.text.capacity() > KEEP_BYTES {
            self.text = Vec::new();
        }
        if self.ids.capacity() * 4 > KEEP_BYTES {
            self.ids = Vec::new();
        }
        self.text.clear();
        self.ids.clear();
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's buffers, empty. A nested call (building a list can run a finalizer
/// that encodes again) gets fresh buffers instead.
pub fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            // Before: a call that panicked may have left ids behind. After: a huge call's buffers
            // are released now, not at the thread's next call.
            scratch.reset();
            let result = f(&mut scratch);
            scratch.reset();
            result
        }
        Err(_) => f(&mut Scratch::default()),
    })
}
