//! Encoding many texts on all cores, for the Python bindings (compiled with the `python` feature).
//! The pool is the crate's own (not rayon's global one), sized on demand and rebuilt after
//! `fork()`, whose child inherits no threads. See docs/architecture-core.md, "The batch pool".

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};
use crate::interrupt;
use crate::jsonl;
use crate::tokenizer::{ids_room, EncodeOptions, Tokenizer};

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

/// Each worker's stack (Rust's default, fixed here so that [`address_space_for`] counts it right).
const WORKER_STACK: usize = 2 << 20;
/// Room the started workers need besides their stacks (their first allocations).
const WORKERS_HEADROOM: usize = 64 << 20;

/// Checks that the address space has room for `threads` worker stacks and their first allocations,
/// by reserving it and giving it back at once (untouched: no memory is used). Without room, some
/// workers would start and then fail a small allocation, on which Rust aborts the process; with
/// this check, building the pool fails before any thread starts (docs/architecture-core.md).
fn address_space_for(threads: usize) -> Result<()> {
    let bytes = threads.saturating_mul(WORKER_STACK).saturating_add(WORKERS_HEADROOM);
    let refused = || Error::Threads {
        threads,
        message: format!("the address space has no room for their stacks ({} MiB)", bytes >> 20),
    };
    let layout = std::alloc::Layout::from_size_align(bytes, 4096).map_err(|_| refused())?;
    // SAFETY: the layout's size is not zero (the headroom alone is not); the block is freed at once
    // with the same layout and never read or written.
    unsafe {
        let block = std::alloc::alloc(layout);
        if block.is_null() {
            return Err(refused());
        }
        std::alloc::dealloc(block, layout);
    }
    Ok(())
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
    address_space_for(threads)?;
    // The OS may still refuse a thread (a process limit): that is an error for the caller, not a
    // panic. rayon stops the threads it did start.
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(WORKER_STACK)
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

/// How often the calling thread asks whether to stop while the workers encode.
const ASK_EVERY: Duration = Duration::from_millis(20);

/// Batches of at least this many bytes can be interrupted; smaller ones are over before anyone could
/// press Ctrl-C (and are spared the helper thread).
const INTERRUPTIBLE_BYTES: usize = 1 << 20;

/// Asked by the calling thread now and then during a long batch; true stops the batch (Ctrl-C).
pub type StopAsked<'a> = &'a mut dyn FnMut() -> bool;

/// Runs `work` on the pool. For a large batch the calling thread meanwhile calls `stop` every
/// [`ASK_EVERY`]; once it says stop, the flag handed to `work` is set, which the workers' interrupt
/// checks read (interrupt.rs), and `None` is returned as soon as they have given up.
fn run_stoppable<R: Send>(
    threads: usize,
    bytes: usize,
    stop: StopAsked<'_>,
    work: impl FnOnce(&Arc<AtomicBool>) -> R + Send,
) -> Result<Option<R>> {
    let cancel = Arc::new(AtomicBool::new(false));
    if bytes < INTERRUPTIBLE_BYTES {
        return run(threads, || work(&cancel)).map(Some);
    }
    // Even one thread runs in the pool, so its chunk memo survives between calls.
    let pool = pool(threads)?;
    let result = std::thread::scope(|scope| {
        let (done, finished) = channel();
        let cancel_flag = &cancel;
        let worker = scope.spawn(move || {
            let result = pool.install(|| work(cancel_flag));
            let _ = done.send(());
            result
        });
        loop {
            match finished.recv_timeout(ASK_EVERY) {
                Err(RecvTimeoutError::Timeout) if !cancel.load(Ordering::Relaxed) => {
                    if stop() {
                        cancel.store(true, Ordering::Relaxed);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        }
        worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    Ok((!cancel.load(Ordering::Relaxed)).then_some(result))
}

/// Runs `f` on this worker thread with the batch's cancel flag as its interrupt check.
fn checked<R>(cancel: &Arc<AtomicBool>, f: impl FnOnce() -> R) -> R {
    let flag = cancel.clone();
    interrupt::with_check(move || flag.load(Ordering::Relaxed), f).0
}

/// Texts are handed out in runs of about this many bytes, so small texts do not cost a task each.
const TASK_BYTES: usize = 64 * 1024;

/// Runs of consecutive items, each `(start, end, bytes)`.
fn task_ranges(sizes: impl Iterator<Item = usize>) -> Vec<(usize, usize, usize)> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes, mut count) = (0, 0, 0);
    for (i, size) in sizes.enumerate() {
        count = i + 1;
        bytes += size + 16;
        if bytes >= TASK_BYTES {
            ranges.push((start, i + 1, bytes));
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < count {
        ranges.push((start, count, bytes));
    }
    ranges
}

/// `work` on every run of the items whose byte sizes are `sizes` (see [`task_ranges`]), the results in
/// input order: on this thread when `threads` is 1, else on every thread of the crate's pool (the
/// caller is inside it then), each taking the largest run not yet taken. Largest first, so that a
/// batch does not end with one thread encoding a long text while the others wait (a text is never
/// split). Work run outside the crate's pool would go to rayon's global pool: threads the caller did
/// not ask for, and, after `fork()`, a pool whose threads are gone, where the call hangs.
fn over_runs<R: Send>(
    sizes: impl Iterator<Item = usize>,
    threads: usize,
    work: impl Fn(usize, usize) -> R + Sync + Send,
) -> Vec<R> {
    let ranges = task_ranges(sizes);
    if threads <= 1 || ranges.len() <= 1 {
        return ranges.into_iter().map(|(a, b, _)| work(a, b)).collect();
    }
    let mut largest_first: Vec<usize> = (0..ranges.len()).collect();
    largest_first.sort_by_key(|&i| std::cmp::Reverse(ranges[i].2));
    let next = AtomicUsize::new(0);
    let per_thread: Vec<Vec<(usize, R)>> = rayon::broadcast(|_| {
        let mut done = Vec::new();
        while let Some(&i) = largest_first.get(next.fetch_add(1, Ordering::Relaxed)) {
            let (a, b, _) = ranges[i];
            done.push((i, work(a, b)));
        }
        done
    });
    let mut results: Vec<Option<R>> = ranges.iter().map(|_| None).collect();
    for (i, r) in per_thread.into_iter().flatten() {
        results[i] = Some(r);
    }
    results.into_iter().map(|r| r.expect("every run is taken by one thread")).collect()
}

/// A text of a batch as the worker that encodes it reads it: UTF-8 already, or made UTF-8 by that
/// worker (the bindings' Python strings that are not ASCII), so that the calling thread does not
/// convert every text before the workers can start.
pub trait BatchText: Sync {
    /// About the size of its UTF-8 in bytes (to share the work out).
    fn size(&self) -> usize;
    /// Its UTF-8, borrowed or written into `buf`; `None` when it has none (a lone surrogate).
    fn utf8<'a>(&'a self, buf: &'a mut Vec<u8>) -> Option<&'a str>;
}

impl BatchText for &str {
    fn size(&self) -> usize {
        self.len()
    }

    fn utf8<'a>(&'a self, _: &'a mut Vec<u8>) -> Option<&'a str> {
        Some(self)
    }
}

/// The first text of a batch found to have no UTF-8, if any (its workers run in any order).
struct FirstNotUtf8(AtomicUsize);

impl FirstNotUtf8 {
    fn new() -> Self {
        FirstNotUtf8(AtomicUsize::new(usize::MAX))
    }

    /// `text`'s UTF-8 (into `buf` if need be), or "" after noting `index`: the batch then fails.
    fn read<'a, T: BatchText>(&self, text: &'a T, index: usize, buf: &'a mut Vec<u8>) -> &'a str {
        text.utf8(buf).unwrap_or_else(|| {
            self.0.fetch_min(index, Ordering::Relaxed);
            ""
        })
    }

    fn result<R>(self, done: R) -> Result<R> {
        match self.0.into_inner() {
            usize::MAX => Ok(done),
            index => Err(Error::NotUtf8 { index }),
        }
    }
}

/// Every text's ids, in order; `None` when `stop` asked to stop.
pub fn encode_batch<T: BatchText>(
    tok: &Tokenizer,
    texts: &[T],
    opts: EncodeOptions,
    threads: usize,
    stop: StopAsked<'_>,
) -> Result<Option<Vec<Vec<u32>>>> {
    let bytes = texts.iter().map(T::size).sum();
    let bad = FirstNotUtf8::new();
    let done = run_stoppable(threads, bytes, stop, |cancel| {
        let parts: Vec<Vec<Vec<u32>>> = over_runs(texts.iter().map(T::size), threads, |a, b| {
            checked(cancel, || {
                let mut buf = Vec::new();
                let texts = texts[a..b].iter().enumerate();
                texts.map(|(i, text)| tok.encode(bad.read(text, a + i, &mut buf), opts)).collect()
            })
        });
        parts.into_iter().flatten().collect()
    })?;
    bad.result(done)
}

/// The ids of a batch in runs: each run holds the ids of consecutive texts back to back (already
/// in the output's element type), and the number of ids of each of those texts.
pub struct FlatParts<T> {
    parts: Vec<(Vec<T>, Vec<u64>)>,
}

/// Batches of at least this many ids are copied into their flat vector by every thread of the pool
/// (the copy, and the first touch of the vector's pages, would otherwise be the calling thread's alone
/// while the others wait); smaller ones by the calling thread, spared waking the pool.
const PARALLEL_COPY_IDS: usize = 1 << 20;

impl<T: Copy + Send> FlatParts<T> {
    pub fn total_ids(&self) -> usize {
        self.parts.iter().map(|(ids, _)| ids.len()).sum()
    }

    /// One flat vector of ids and the offsets: text `i` is `ids[offsets[i]..offsets[i + 1]]`. Each
    /// run is freed once copied, so the peak memory is the result plus the runs. Large batches are
    /// copied on `threads` threads (see [`PARALLEL_COPY_IDS`]).
    pub fn flatten(self, threads: usize) -> Result<(Vec<T>, Vec<u64>)> {
        let total = self.total_ids();
        let texts: usize = self.parts.iter().map(|(_, lens)| lens.len()).sum();
        let mut offsets = Vec::with_capacity(texts + 1);
        offsets.push(0u64);
        let mut end = 0u64;
        for len in self.parts.iter().flat_map(|(_, lens)| lens) {
            end += len;
            offsets.push(end);
        }
        let mut ids: Vec<T> = Vec::with_capacity(total);
        crate::huge_pages::advise(ids.as_ptr().cast(), total * std::mem::size_of::<T>());
        // Each run's place in the result: the spare capacity cut into consecutive slices.
        let mut rest = &mut ids.spare_capacity_mut()[..total];
        let mut copies = Vec::with_capacity(self.parts.len());
        for (part, _) in self.parts {
            let (into, after) = std::mem::take(&mut rest).split_at_mut(part.len());
            rest = after;
            copies.push((into, part));
        }
        let copy = |(into, part): (&mut [MaybeUninit<T>], Vec<T>)| {
            for (slot, &id) in into.iter_mut().zip(&part) {
                slot.write(id);
            }
        };
        if threads <= 1 || total < PARALLEL_COPY_IDS {
            copies.into_iter().for_each(copy);
        } else {
            run(threads, || copies.into_par_iter().for_each(copy))?;
        }
        // SAFETY: the slices above split the first `total` elements of the spare capacity among the
        // runs, each exactly its run's length (the lengths sum to `total`), and every run was copied
        // whole into its slice: all `total` elements are initialized.
        unsafe { ids.set_len(total) };
        Ok((ids, offsets))
    }
}

/// Ids put around each text's own in a flat batch: `bos` before every text, `eos` after every text
/// that has at least one id, BOS included (Megatron's `--append-eod` rule: an empty document without
/// BOS stays empty).
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
}

impl Frame {
    /// `text`'s ids, framed, appended to `out` (which is cleared first).
    fn encode_into(self, tok: &Tokenizer, text: &str, opts: EncodeOptions, out: &mut Vec<u32>) {
        out.clear();
        out.extend(self.bos);
        tok.encode_into(text, opts, out);
        if !out.is_empty() {
            out.extend(self.eos);
        }
    }
}

/// One run of a flat batch: its texts' framed ids (converted) back to back, and each text's count.
struct RunIds<T> {
    ids: Vec<T>,
    lens: Vec<u64>,
    scratch: Vec<u32>,
}

impl<T> RunIds<T> {
    /// A run for texts of these sizes in bytes.
    fn for_sizes(sizes: impl Iterator<Item = usize>) -> Self {
        let (texts, bytes, longest) = sizes.fold((0, 0, 0), |(n, sum, max), size| (n + 1, sum + size, max.max(size)));
        RunIds {
            ids: Vec::with_capacity(ids_room(bytes, texts)),
            lens: Vec::with_capacity(texts),
            scratch: Vec::with_capacity(ids_room(longest, 1)),
        }
    }

    fn push(&mut self, tok: &Tokenizer, text: &str, opts: EncodeOptions, frame: Frame, convert: &impl Fn(u32) -> T) {
        frame.encode_into(tok, text, opts, &mut self.scratch);
        self.ids.extend(self.scratch.iter().map(|&id| convert(id)));
        self.lens.push(self.scratch.len() as u64);
    }

    fn done(self) -> (Vec<T>, Vec<u64>) {
        (self.ids, self.lens)
    }
}

/// Encodes a batch on `threads` threads into [`FlatParts`], each text framed by `frame` and each id
/// passed through `convert` (for example narrowed to u16) in the worker that produced it; `None` when
/// `stop` asked to stop.
#[allow(clippy::too_many_arguments)]
pub fn encode_batch_parts<S: BatchText, T: Send>(
    tok: &Tokenizer,
    texts: &[S],
    opts: EncodeOptions,
    frame: Frame,
    threads: usize,
    stop: StopAsked<'_>,
    convert: impl Fn(u32) -> T + Sync + Send,
) -> Result<Option<FlatParts<T>>> {
    let bytes = texts.iter().map(S::size).sum();
    let bad = FirstNotUtf8::new();
    let parts = run_stoppable(threads, bytes, stop, |cancel| {
        over_runs(texts.iter().map(S::size), threads, |a, b| {
            checked(cancel, || {
                let mut run = RunIds::for_sizes(texts[a..b].iter().map(S::size));
                let mut buf = Vec::new();
                for (i, text) in texts[a..b].iter().enumerate() {
                    run.push(tok, bad.read(text, a + i, &mut buf), opts, frame, &convert);
                }
                run.done()
            })
        })
    })?;
    bad.result(parts.map(|parts| FlatParts { parts }))
}

/// What [`encode_jsonl_parts`] gives: per key, the flat ids of that field of every line; or that some
/// line is not a plain JSON object (see [`jsonl::text_fields`]), which the caller parses itself.
pub enum JsonlParts<T> {
    Encoded(Vec<FlatParts<T>>),
    NotPlain,
}

/// JSONL lines parsed and encoded on `threads` threads: each worker parses its lines and encodes their
/// fields at once (no parsed copy of the batch is kept). As [`encode_batch_parts`] otherwise.
#[allow(clippy::too_many_arguments)]
pub fn encode_jsonl_parts<T: Send>(
    tok: &Tokenizer,
    lines: &[&[u8]],
    keys: &[&str],
    opts: EncodeOptions,
    frame: Frame,
    threads: usize,
    stop: StopAsked<'_>,
    convert: impl Fn(u32) -> T + Sync + Send,
) -> Result<Option<JsonlParts<T>>> {
    let bytes = lines.iter().map(|l| l.len()).sum();
    let not_plain = AtomicBool::new(false);
    let runs = run_stoppable(threads, bytes, stop, |cancel| {
        over_runs(lines.iter().map(|l| l.len()), threads, |a, b| {
            checked(cancel, || {
                // A line's bytes stand for each key's text: room enough when one key holds most of them.
                let mut runs: Vec<RunIds<T>> =
                    keys.iter().map(|_| RunIds::for_sizes(lines[a..b].iter().map(|l| l.len()))).collect();
                let mut fields = Vec::with_capacity(keys.len());
                for line in &lines[a..b] {
                    // Another run found a line that is not plain: the whole batch goes back to the caller.
                    if not_plain.load(Ordering::Relaxed) {
                        return None;
                    }
                    if !jsonl::text_fields_into(line, keys, &mut fields) {
                        not_plain.store(true, Ordering::Relaxed);
                        return None;
                    }
                    for (run, text) in runs.iter_mut().zip(fields.iter().flatten()) {
                        run.push(tok, text, opts, frame, &convert);
                    }
                }
                Some(runs.into_iter().map(RunIds::done).collect::<Vec<_>>())
            })
        })
    })?;
    let Some(runs) = runs else { return Ok(None) };
    let Some(runs) = runs.into_iter().collect::<Option<Vec<_>>>() else { return Ok(Some(JsonlParts::NotPlain)) };
    let mut per_key: Vec<FlatParts<T>> = keys.iter().map(|_| FlatParts { parts: Vec::new() }).collect();
    for run in runs {
        for (key, part) in per_key.iter_mut().zip(run) {
            key.parts.push(part);
        }
    }
    Ok(Some(JsonlParts::Encoded(per_key)))
}

/// Runs `f` over `items` on `threads` threads, keeping order.
pub fn map_ordered<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync + Send) -> Result<Vec<R>> {
    if threads <= 1 {
        return Ok(items.iter().map(f).collect()); // not on rayon's global pool (see over_runs)
    }
    run(threads, || items.par_iter().with_min_len(16).map(&f).collect())
}
