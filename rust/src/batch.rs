//! Encoding many texts on all cores, for the Python bindings (compiled with the `python` feature).
//! The pool is the crate's own (not rayon's global one), sized on demand and rebuilt after
//! `fork()`, whose child inherits no threads. See docs/architecture-core.md, "The batch pool".

use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};
use crate::tokenizer::{EncodeOptions, Tokenizer};

struct Pool {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// The most threads a batch may ask for. More than the cores never makes a batch faster, and
/// a pool of a million threads takes minutes to start (or exhausts memory): such a count is a
/// mistake, refused by the bindings rather than obeyed.
pub const MAX_THREADS: usize = 1024;

/// The number of threads used when the caller does not say: all cores (at most [`MAX_THREADS`]).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(MAX_THREADS)
}

fn pool(threads: usize) -> Result<Arc<ThreadPool>> {
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match slot.as_ref() {
        Some(p) if p.pid == pid && p.threads == threads => return Ok(p.pool.clone()),
        Some(p) if p.pid != pid => {
            // A forked child: the parent's workers do not exist here. Dropping the pool would try to
            // talk to them, so it is leaked instead (once per fork).
            std::mem::forget(slot.take());
        }
        _ => {}
    }
    // The OS may refuse a thread (memory, a process limit): that is an error for the caller, not a
    // panic. rayon stops the threads it did start.
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("llamatok-{i}"))
        .build()
        .map_err(|e| Error::Threads { threads, message: e.to_string() })?;
    let built = Arc::new(built);
    *slot = Some(Pool { pid, threads, pool: built.clone() });
    Ok(built)
}

/// Runs `f` inside the pool when more than one thread is wanted.
fn run<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    if threads <= 1 {
        Ok(f())
    } else {
        Ok(pool(threads)?.install(f))
    }
}

/// Texts are handed out in runs of about this many bytes, so small texts do not cost a task each.
const TASK_BYTES: usize = 64 * 1024;

fn task_ranges(texts: &[&str]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, t) in texts.iter().enumerate() {
        bytes += t.len() + 16;
        if bytes >= TASK_BYTES {
            ranges.push((start, i + 1));
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < texts.len() {
        ranges.push((start, texts.len()));
    }
    ranges
}

/// Every text's ids, in order.
pub fn encode_batch(tok: &Tokenizer, texts: &[&str], opts: EncodeOptions, threads: usize) -> Result<Vec<Vec<u32>>> {
    run(threads, || {
        let parts: Vec<Vec<Vec<u32>>> = task_ranges(texts)
            .into_par_iter()
            .map(|(a, b)| texts[a..b].iter().map(|t| tok.encode(t, opts)).collect())
            .collect();
        parts.into_iter().flatten().collect()
    })
}

/// The ids of a batch in runs: each run holds the ids of consecutive texts back to back (already
/// in the output's element type), and the number of ids of each of those texts.
pub struct FlatParts<T> {
    parts: Vec<(Vec<T>, Vec<u64>)>,
}

impl<T> FlatParts<T> {
    pub fn total_ids(&self) -> usize {
        self.parts.iter().map(|(ids, _)| ids.len()).sum()
    }

    /// One flat vector of ids and the offsets: text `i` is `ids[offsets[i]..offsets[i + 1]]`. Each
    /// run is freed once copied, so the peak memory is the result plus the runs.
    pub fn flatten(self) -> (Vec<T>, Vec<u64>) {
        let mut ids = Vec::with_capacity(self.total_ids());
        let texts: usize = self.parts.iter().map(|(_, lens)| lens.len()).sum();
        let mut offsets = Vec::with_capacity(texts + 1);
        offsets.push(0u64);
        let mut end = 0u64;
        for (part, lens) in self.parts {
            ids.extend(part);
            for len in lens {
                end += len;
                offsets.push(end);
            }
        }
        (ids, offsets)
    }
}

/// Encodes a batch on `threads` threads into [`FlatParts`], each id passed through `convert` (for
/// example narrowed to u16) in the worker that produced it.
pub fn encode_batch_parts<T: Send>(
    tok: &Tokenizer,
    texts: &[&str],
    opts: EncodeOptions,
    threads: usize,
    convert: impl Fn(u32) -> T + Sync + Send,
) -> Result<FlatParts<T>> {
    let parts = run(threads, || {
        task_ranges(texts)
            .into_par_iter()
            .map(|(a, b)| {
                let mut scratch = Vec::new();
                let mut ids = Vec::new();
                let mut lens = Vec::with_capacity(b - a);
                for t in &texts[a..b] {
                    scratch.clear();
                    tok.encode_into(t, opts, &mut scratch);
                    ids.extend(scratch.iter().map(|&id| convert(id)));
                    lens.push(scratch.len() as u64);
                }
                (ids, lens)
            })
            .collect()
    })?;
    Ok(FlatParts { parts })
}

/// Runs `f` over `items` on `threads` threads, keeping order.
pub fn map_ordered<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync + Send) -> Result<Vec<R>> {
    run(threads, || items.par_iter().with_min_len(16).map(&f).collect())
}
