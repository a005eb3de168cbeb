//! Buffers for the blocks of JSONL that `llamatok preprocess` reads, handed back when a block is
//! dropped and reused for the next read. A fresh buffer of a megabyte is memory the process has not
//! touched (or gave back to the system when the last block was freed), and touching it for the first
//! time costs a page fault per 4 KiB: more than reading the bytes into it
//! (`benches/results/notes.md`, session 24). A reused buffer is already mapped.
//!
//! The pool is shared by every thread (a block is read on the reader thread and dropped on another)
//! and keeps at most [`KEPT_BYTES`] of spare buffers; what is handed back beyond that is freed.

use std::sync::{Mutex, MutexGuard};

/// The most bytes of spare buffers [`JSONL_BLOCKS`] keeps: the blocks a pipeline holds at once (the
/// batch being read, two queued, one being encoded) with room to spare.
pub const KEPT_BYTES: usize = 32 << 20;

/// The pool of the JSONL reader's blocks.
pub static JSONL_BLOCKS: BufferPool = BufferPool::new(KEPT_BYTES);

/// Spare byte buffers, at most `kept` bytes of them.
pub struct BufferPool {
    spare: Mutex<Spare>,
    kept: usize,
}

struct Spare {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

impl BufferPool {
    pub const fn new(kept: usize) -> BufferPool {
        BufferPool { spare: Mutex::new(Spare { buffers: Vec::new(), bytes: 0 }), kept }
    }

    fn spare(&self) -> MutexGuard<'_, Spare> {
        // A thread that panicked while holding the lock left a list of whole buffers: still usable.
        self.spare.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A buffer of at least `len` bytes, all initialized (what an earlier block left in it, or
    /// zeros): a spare one if the pool holds one that large, else a spare one grown, else a new one.
    pub fn take(&self, len: usize) -> Vec<u8> {
        let found = {
            let mut spare = self.spare();
            let found = match spare.buffers.iter().position(|b| b.len() >= len) {
                Some(i) => Some(spare.buffers.swap_remove(i)),
                None => spare.buffers.pop(),
            };
            if let Some(buf) = &found {
                spare.bytes -= buf.len();
            }
            found
        };
        let mut buf = found.unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf
    }

    /// Hands `buf` back for a later [`take`](Self::take), or frees it if the pool keeps enough already.
    pub fn give_back(&self, buf: Vec<u8>) {
        let mut spare = self.spare();
        if buf.is_empty() || spare.bytes + buf.len() > self.kept {
            return;
        }
        spare.bytes += buf.len();
        spare.buffers.push(buf);
    }

    /// The bytes of spare buffers kept now.
    pub fn kept_bytes(&self) -> usize {
        self.spare().bytes
    }
}

#[cfg(test)]
mod tests;
