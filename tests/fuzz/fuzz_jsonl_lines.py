"""Differential fuzzing (atheris) of the JSONL lines ``llamatok preprocess`` lets the core parse
(``Tokenizer.encode_jsonl_flat``, rust/src/jsonl.rs) against Python's ``json`` (``readers.parse_line``, which
decides for every line the core leaves): for any bytes and one or two keys, a line the core takes must be a line
Python reads, with the texts whose ids the core gave. Usage, from the repository root, in the venv tests/run
makes (plus ``pip install atheris``):

    python tests/fuzz/fuzz_jsonl_lines.py -atheris_runs=10000000 -max_len=512 rust/fuzz/corpus/jsonl_line

(the seeds of the Rust target ``jsonl_line`` fit: a flags byte, then the line). The figures of a run are in
benches/results/fuzzing.md. Not collected by pytest (not a ``test_`` file).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import llamatok
    from llamatok.preprocess import readers

CORE = llamatok.Tokenizer.from_file(str(llamatok.demo_path() / "tokenizer.json"))


def one(data: bytes) -> None:
    if not data:
        return
    keys = ("text",) if data[0] % 2 == 0 else ("text", "code")
    line = data[1:].split(b"\n", 1)[0]  # the reader's lines end at the first newline
    if not line:
        return
    native = CORE.encode_jsonl_flat([line], list(keys), "literal", True, 1, "uint32")
    if native is None:
        return
    per_key, _, blank = native
    if blank != line.isspace() or len(per_key[0][1]) != 2 - blank:
        raise AssertionError(f"a blank line taken for a document, or the reverse: {line!r}")
    if blank:
        return
    texts, rejected = readers.parse_line(line, "fuzz.jsonl", keys, 1)
    if rejected is not None or texts is None:
        raise AssertionError(f"the core took a line Python rejects: {line!r} ({rejected})")
    for (ids, _), text in zip(per_key, texts):
        if memoryview(ids).tolist() != CORE.encode(text, "literal", True):
            raise AssertionError(f"other ids than Python's text gives: {line!r} {text!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
