"""JSONL lines parsed by the core where they are encoded (``Tokenizer.encode_jsonl_flat``, rust/src/jsonl.rs)
against Python's ``json`` (readers.parse_line, what the reader does otherwise): a line the core takes gives
the texts Python gives, on generated JSON and on every awkward line we know of; and a run gives the same
files, rejects and summary either way."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pp_helpers import DEMO, output_bytes, sample_texts

import llamatok
import llamatok.preprocess as pp
from llamatok._native import jsonl_texts
from llamatok.preprocess import batches, readers

#: Lines the two parsers could read differently; each goes through both.
AWKWARD = [
    b'{"text": "plain"}\n',
    b'{"text": "tab\\tnew\\nline \\"q\\" \\\\ \\/ \\b\\f\\r \\u00e9 \\ud83d\\ude00 \\u0000"}\r\n',
    b'{"text": "x", "text": "last wins"}\n',
    b'{"text": 1, "text": "string last"}\n',
    b'{"text": "string first", "text": 1}\n',
    b'{"text": "lone \\ud800 lead"}\n',
    b'{"text": "lone \\udfff trail"}\n',
    b'{"text": "ok", "other": "lone \\ud800 elsewhere"}\n',
    b'{"text": "ok", "n": NaN, "m": Infinity, "k": -Infinity}\n',
    b'{"text": "ok", "n": 1e400, "big": 123456789012345678901234567890}\n',
    b'{"text": "ok", "nested": {"a": [1, 2, {"b": null}], "c": true}}\n',
    b'{"text": null}\n',
    b'{"other": "no text"}\n',
    b'{"text": ["a list"]}\n',
    b'["not", "an", "object"]\n',
    b'"a string"\n',
    b'{"text": "trailing"} garbage\n',
    b'{"text": "trailing comma",}\n',
    b'{"text": "raw \x01 control"}\n',
    b'{"text": "ok", "other": "raw \x1f control"}\n',
    b'{"text": "bad utf-8 \xff"}\n',
    b'{"text": "ok", "other": "bad utf-8 \xc3"}\n',
    b'\xef\xbb\xbf{"text": "byte order mark"}\n',
    b'  {"text": "spaces around"}  \n',
    b'{"text": "deep", "d": ' + b"[" * 300 + b"]" * 300 + b"}\n",
    b'{"text": "ok", "n": ' + b"7" * 5000 + b"}\n",  # Python refuses ints of over 4300 digits
    b'{"text": "ok", "n": ' + b"7" * 639 + b", \"f\": 0." + b"7" * 5000 + b"}\n",
    b'{"text": "\\q bad escape"}\n',
    b'{"text": "\\u12"}\n',
    b'{"text": ""}\n',
    b"{}\n",
    b"{\n",
    b"\x0c\n",
    # serde_json's Value (raw_value feature) takes an object with this first key for its raw-value marker.
    b' {"code":\n"" \n, "text":"" , "leta": {"$serde_json::private::RawValue": [null]}}\n',
    b'{"$serde_json::private::RawValue": "x", "text": "raw value key first"}\n',
]

JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def core():
    return llamatok.Tokenizer.from_file(str(Path(DEMO) / "tokenizer.json"))


def agree(core, block: bytes, keys: tuple[str, ...]) -> bool:
    """Checks a block of lines (most hold one) as the reader hands it over; True when the core took it."""
    native = core.encode_jsonl_flat([block], list(keys), "literal", True, 1, "uint32")
    as_texts = jsonl_texts([block], list(keys))  # what the stages that need texts in Python get
    if native is None:
        assert as_texts is None, block
        return False
    per_key, starts, blank = native
    lines = list(io.BytesIO(block))
    at = np.cumsum([0, *map(len, lines)])[:-1]
    documents = [i for i, line in enumerate(lines) if not line.isspace()]
    assert memoryview(starts).tolist() == at[documents].tolist() and blank == len(lines) - len(documents)
    parsed = [readers.parse_line(lines[i], "in.jsonl", keys, i + 1) for i in documents]
    assert all(rejected is None for _, rejected in parsed), (block, parsed)
    assert as_texts is not None and as_texts[2] == blank and bytes(as_texts[1]) == bytes(starts)
    assert as_texts[0] == [[texts[k] for texts, _ in parsed] for k in range(len(keys))], block
    for k, (ids, offsets) in enumerate(per_key):
        want = [core.encode(texts[k], "literal", True) for texts, _ in parsed]
        assert memoryview(ids).tolist() == [i for one in want for i in one], block
        assert memoryview(offsets).tolist() == np.cumsum([0, *map(len, want)]).tolist()
    return True


def test_awkward_lines(core):
    taken = [line for line in AWKWARD if agree(core, line, ("text",))]
    # The plain ones are taken; what Python rejects never is (agree checks); the rest falls back.
    assert b'{"text": "plain"}\n' in taken and b'{"text": "x", "text": "last wins"}\n' in taken
    assert len(taken) >= 8


@settings(max_examples=400, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["text", "code", "id", "meta"]), JSON_VALUE, max_size=4),
       spaces=st.sampled_from(["", " ", "\t", "\r"]), cut=st.integers(0, 400), flip=st.integers(0, 255))
def test_generated_lines(core, obj, spaces, cut, flip):
    line = (spaces + json.dumps(obj, ensure_ascii=bool(flip % 2)) + spaces + "\n").encode("utf-8", "surrogatepass")
    for keys in (("text",), ("text", "code")):
        agree(core, line, keys)
        damaged = bytearray(line)
        damaged[cut % len(line)] = flip
        agree(core, bytes(damaged), keys)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_many_lines_on_many_threads(core, threads):
    # Lines enough for several of the core's runs of work, two keys, framed by BOS and EOS: each key's ids
    # are what encode_batch_flat gives for that field; one line the core does not take, anywhere, gives None.
    texts = sample_texts(300) * 2
    objs = [{"text": t, "code": t[::-1][:500], "id": i} for i, t in enumerate(texts)]
    lines = [json.dumps(o).encode() + b"\n" for o in objs]
    assert sum(map(len, lines)) > 4 * 64 * 1024
    got = core.encode_jsonl_flat(lines, ["text", "code"], "literal", True, threads, "uint16", bos_id=1, eos_id=2)
    for (ids, offsets), key in zip(got[0], ("text", "code")):
        want_ids, want_offsets = core.encode_batch_flat([o[key] for o in objs], "literal", True, 1, "uint16",
                                                        bos_id=1, eos_id=2)
        assert bytes(ids) == bytes(want_ids) and bytes(offsets) == bytes(want_offsets)
    for at in (0, len(lines) // 2, len(lines) - 1):
        bad = list(lines)
        bad[at] = b'{"text": 3}\n'
        assert core.encode_jsonl_flat(bad, ["text"], "literal", True, threads, "uint16") is None


@pytest.mark.parametrize("options", [{}, {"fim_rate": 0.5, "fim_spm_rate": 0.5}, {"dedup": "exact"}],
                         ids=["plain", "fim", "dedup"])
def test_runs_are_the_same_either_way(tmp_path, monkeypatch, options):
    texts = sample_texts(200)
    lines = [json.dumps({"text": t, "id": i}).encode() + b"\n" for i, t in enumerate(texts)]
    lines[150:150] = AWKWARD  # one batch (of the small ones below) mixes them in; the others are clean
    lines[20:20] = lines[5:8]  # duplicates, for --dedup
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(lines) + b"\n  \n")
    used: list[bool] = []
    # The core reads the lines into ids, or into texts when FIM or --dedup needs them in Python.
    native_reader = "encode_jsonl" if not options else "jsonl_texts"
    real = getattr(batches, native_reader)

    def counting(*args, **kwargs):
        got = real(*args, **kwargs)
        used.append(got is not None)
        return got

    monkeypatch.setattr(batches, native_reader, counting)
    outputs = {}
    for native in (True, False):
        monkeypatch.setattr(readers, "PARSE_JSONL_NATIVELY", native)
        prefix = str(tmp_path / f"out-{native}")
        summary = pp.run([str(src)], prefix, tokenizer=DEMO, append_eod=True, batch_bytes=4096, quiet=True,
                         formats="megatron,parquet", **options)
        outputs[native] = (output_bytes(prefix, (".bin", ".idx", ".parquet", ".rejects.jsonl")),
                           {k: summary[k] for k in ("documents", "tokens", "rejected_by_reason", "blank_lines")})
    assert outputs[True] == outputs[False]
    assert any(used) and not all(used), "clean batches parsed by the core, the one with awkward lines by Python"
    assert outputs[True][1]["rejected_by_reason"], "the awkward lines include rejects"
