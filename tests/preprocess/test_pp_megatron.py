"""The Megatron indexed dataset, read back by an independent reader (pp_helpers.read_megatron,
written from docs/shards.md), equals direct encoding with the tokenizer's own API."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from pp_helpers import DEMO, cli, documents, read_megatron, sample_texts, summary_of, write_jsonl

import llamatok
import llamatok.preprocess as pp
from llamatok.preprocess import megatron
from llamatok.preprocess.megatron import write_index


def direct(folder: str, texts, *, mode: str = "literal", bos: bool = True, eos: bool = False):
    """What the API class gives for each text, with Megatron's rule: EOS only after some ids."""
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(folder)
    out = []
    for t in texts:
        ids = ([tok.bos_token_id] if bos else []) + tok._core.encode(t, mode, True)
        if eos and ids:
            ids.append(tok.eos_token_id)
        out.append(ids)
    return out


def test_round_trip_literal_with_bos_and_eod(tmp_path):
    texts = sample_texts(200)
    summary = pp.run(texts=texts, output_prefix=str(tmp_path / "d"), append_eod=True, quiet=True)
    code, _, bounds = read_megatron(str(tmp_path / "d"))
    assert code == 8, "uint16 for a vocabulary under 65500 ids"
    assert len(bounds) == len(texts) + 1
    expected = direct(DEMO, texts, eos=True)
    assert documents(str(tmp_path / "d")) == expected
    # The API class agrees (literal mode is split_special_tokens=True), on texts it does not read
    # as infilling prompts: in training data "<FILL_ME>" is plain text.
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO, split_special_tokens=True, add_eos_token=True)
    plain = [i for i, t in enumerate(texts) if "<FILL_ME>" not in t]
    assert [expected[i] for i in plain] == [tok.encode(texts[i]) for i in plain]
    assert summary["documents"] == len(texts)
    assert summary["tokens"] == sum(map(len, expected))


@pytest.mark.parametrize("mode", ["legacy", "non_legacy"])
def test_other_special_token_modes(tmp_path, mode):
    texts = sample_texts(30)
    pp.run(texts=texts, output_prefix=str(tmp_path / "d"), mode=mode, quiet=True)
    assert documents(str(tmp_path / "d")) == direct(DEMO, texts, mode=mode)


def test_empty_documents_without_bos_have_no_sequence(tmp_path):
    texts = ["a", "", "b", "", ""]
    pp.run(texts=texts, output_prefix=str(tmp_path / "d"), bos=False, append_eod=True, quiet=True)
    code, seqs, bounds = read_megatron(str(tmp_path / "d"))
    assert len(seqs) == 2 and bounds == [0, 1, 1, 2, 2, 2]
    assert documents(str(tmp_path / "d")) == direct(DEMO, texts, bos=False, eos=True)


def test_several_json_keys_give_one_dataset_each(tmp_path):
    records = [{"a": f"first {i}", "b": f"second {i}" * (i % 4)} for i in range(50)]
    records[7] = {"a": "no b here"}
    src = write_jsonl(tmp_path / "in.jsonl", records)
    summary = pp.run(str(src), str(tmp_path / "out"), json_keys=["a", "b"], quiet=True, formats="megatron,parquet")
    kept = [r for i, r in enumerate(records) if i != 7]
    assert documents(str(tmp_path / "out_a")) == direct(DEMO, [r["a"] for r in kept])
    assert documents(str(tmp_path / "out_b")) == direct(DEMO, [r["b"] for r in kept])
    assert summary["rejected"] == 1
    assert summary["tokens_by_key"]["a"] + summary["tokens_by_key"]["b"] == summary["tokens"]
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["a_input_ids", "b_input_ids"]
    assert table.column("b_input_ids").to_pylist() == direct(DEMO, [r["b"] for r in kept])


def test_parquet_output_rows_equal_the_megatron_documents(tmp_path):
    texts = sample_texts(120)
    pp.run(texts=texts, output_prefix=str(tmp_path / "d"), formats=["megatron", "parquet"], append_eod=True,
           fim_rate=0.5, quiet=True)
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.column_names == ["input_ids", "loss_mask"], "with FIM, the loss mask beside the ids"
    assert str(table.schema.field("input_ids").type) == "list<element: int32>"
    assert table.column("input_ids").to_pylist() == documents(str(tmp_path / "d"))


def test_index_writer_int32_and_empty(tmp_path):
    """The int32 case (vocabularies of 65500 ids or more) and an empty dataset."""
    docs = [[70000, 5, 1 << 20], [], [9]]
    lengths = tmp_path / "lengths.i32"
    lengths.write_bytes(np.array([len(d) for d in docs], np.int32).tobytes())
    (tmp_path / "x.bin").write_bytes(np.array(sum(docs, []), np.int32).tobytes())
    with open(tmp_path / "x.idx", "wb") as f:
        write_index(f, str(lengths), np.dtype(np.int32))
    code, seqs, bounds = read_megatron(str(tmp_path / "x"))
    assert code == 4 and seqs == [docs[0], docs[2]] and bounds == [0, 1, 1, 2]
    lengths.write_bytes(b"")
    (tmp_path / "x.bin").write_bytes(b"")
    with open(tmp_path / "x.idx", "wb") as f:
        write_index(f, str(lengths), np.dtype(np.uint16))
    assert read_megatron(str(tmp_path / "x")) == (8, [], [0])


def test_codellama_on_corpus_sources(tmp_path, codellama_dir, code_corpus):
    """The real vocabulary, through the command line, on a slice of the pinned corpus (tests/conftest.py)
    written out as a source tree."""
    tree = tmp_path / "src"
    for name, text in code_corpus:
        if any(f"/django/{sub}/" in name for sub in ("db", "forms", "http")):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(text.encode("utf-8"))
    proc = cli(str(tree), "--include", "*.py", "-o", str(tmp_path / "cl"), "--tokenizer", str(codellama_dir),
               "--append-eod", "--batch-size", "256KB")
    summary = summary_of(proc)
    files = sorted(p for p in tree.rglob("*.py"))
    files.sort(key=lambda p: p.relative_to(tree).parts)
    texts = [p.read_text(encoding="utf-8") for p in files]
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(codellama_dir, split_special_tokens=True, add_eos_token=True)
    assert summary["documents"] == len(texts) > 50
    assert documents(str(tmp_path / "cl")) == [tok.encode(t) for t in texts]
    assert json.loads((tmp_path / "cl.summary.json").read_text())["tokens"] == summary["tokens"]
    assert not os.path.exists(str(tmp_path / "cl.partial"))


def test_index_written_in_chunks_is_the_index(tmp_path, monkeypatch):
    """Documents of every length, empty ones included, the index streamed in chunks of a few documents
    (a corpus larger than memory): each section holds every document in order, offsets running on across chunks."""
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 5, 200).astype(np.int32)
    lengths[:3] = 0
    docs = [list(range(n)) for n in lengths]
    (tmp_path / "x.bin").write_bytes(np.array(sum(docs, []), np.uint16).tobytes())
    (tmp_path / "lengths.i32").write_bytes(lengths.tobytes())
    for chunk in (1, 7, 64, 1 << 22):
        monkeypatch.setattr(megatron, "CHUNK", chunk)
        with open(tmp_path / "x.idx", "wb") as f:
            assert write_index(f, str(tmp_path / "lengths.i32"), np.dtype(np.uint16)) == int(np.count_nonzero(lengths))
        code, seqs, bounds = read_megatron(str(tmp_path / "x"))
        assert code == 8 and seqs == [d for d in docs if d], chunk
        assert bounds == [0, *np.cumsum(lengths > 0).tolist()], chunk
        assert megatron.document_lengths((tmp_path / "x.idx").read_bytes())[1].tolist() == lengths.tolist()
