//! Property tests of the core, so that `cargo test` alone catches an encoding regression: the fast paths
//! (chunk cuts, the tiny-chunk tables, the memo, the scan and heap merge loops, the special-token matcher)
//! against plain implementations written here from docs/encoding.md, on generated text.
//!
//! They run on the demo vocabulary (both of its files, in the repository) and also on Meta's and Mistral's
//! when present (`vocabs.rs` says where it looks; an absent file is skipped with a note on stderr).
//! `PROPTEST_CASES` sets the number of cases (256 by default).

mod chunk_cuts;
mod long_runs;
mod merge_loops;
mod naive;
mod special_modes;
mod texts;
pub(crate) mod vocabs;
