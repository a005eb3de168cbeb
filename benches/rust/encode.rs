//! Criterion micro-benchmarks of the core: encoding code at sizes from 10 bytes to 100 KB (chunk
//! cache on and off), a worst case (random letters: every adjacent pair can merge, so the whole
//! input is one chunk for the heap merge loop), and decoding.
//!
//!     cargo bench --bench encode
//!
//! Uses Code Llama's tokenizer.json from $LLAMATOK_FIXTURES (or ../shared/fixtures) when present,
//! else the demo vocabulary shipped in the repository.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use llamatok::{DecodeStyle, EncodeOptions, Tokenizer};

fn tokenizer() -> Tokenizer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures = std::env::var_os("LLAMATOK_FIXTURES").map(PathBuf::from).unwrap_or(root.join("../shared/fixtures"));
    let real = fixtures.join("codellama-7b-hf/tokenizer.json");
    let path = if real.exists() { real } else { root.join("python/llamatok/data/demo/tokenizer.json") };
    Tokenizer::from_file(&path).expect("a tokenizer to benchmark")
}

/// Real code: the crate's own sources, repeated to the wanted size.
fn code(size: usize) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rust/src");
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).expect("rust/src") {
        all.push_str(&std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default());
    }
    let mut out = String::new();
    while out.len() < size {
        out.push_str(&all);
    }
    let mut end = size;
    while !out.is_char_boundary(end) {
        end += 1;
    }
    out.truncate(end);
    out
}

fn letters(size: usize, seed: u64) -> String {
    let mut x = seed | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect()
}

fn bench_encode(c: &mut Criterion) {
    let tok = tokenizer();
    let uncached = tok.with_cache(false);
    let opts = EncodeOptions::default();
    let mut group = c.benchmark_group("encode code");
    for size in [10, 100, 1_000, 10_000, 100_000] {
        let text = code(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("cached", size), &text, |b, t| b.iter(|| tok.encode(t, opts)));
        group.bench_with_input(BenchmarkId::new("uncached", size), &text, |b, t| b.iter(|| uncached.encode(t, opts)));
    }
    group.finish();

    let mut group = c.benchmark_group("encode worst case (random letters)");
    for size in [1_000, 10_000, 100_000] {
        let text = letters(size, 7);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| b.iter(|| uncached.encode(t, opts)));
    }
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let tok = tokenizer();
    let text = code(100_000);
    let ids = tok.encode(&text, EncodeOptions::default());
    let mut group = c.benchmark_group("decode code");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("transformers style", |b| b.iter(|| tok.decode(&ids, DecodeStyle::Transformers, false)));
    group.bench_function("sentencepiece style", |b| b.iter(|| tok.decode(&ids, DecodeStyle::SentencePiece, false)));
    group.finish();
}

criterion_group!(benches, bench_encode, bench_decode);
criterion_main!(benches);
