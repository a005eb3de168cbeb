"""Every ``--format`` read back by its trainer's own loading code (installed by tests/run-consumers
in their own virtual environment: they pin torch, numpy and transformers differently from the main
test extras), compared document by document with the oracle: ``tokenizers`` on Code Llama's
``tokenizer.json``.

The corpus has an empty document (0 ids without BOS/EOS), a one-token document, byte-fallback text
(control characters, emoji, a CJK extension character, private-use code points) and a document of
more than 100,000 ids. Where a reader shows documents (Megatron-Core, Streaming, OLMo-core's
metadata, datatrove's positions) each document is compared; where it shows a token stream (litdata's
``TokensLoader``) the stream is, and the document boundaries are read from the chunk's offsets as the
format's description gives them (labelled below).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import llamatok.preprocess as pp

FORMATS = "megatron,npy,datatrove,mds,litdata,parquet"


def corpus() -> list[str]:
    long_doc = "".join(f"value_{i} = compute({i}, 'x{i % 97}')\n" for i in range(9000))
    return [
        "",
        "a",
        "def f(x):\n    return x + 1\n",
        "bytes: \x07\x1b[0m tab\there 🦙🦙 𠀋 \ue000\U000f0000 ünïcödé 中文",
        long_doc,
        "    \n\n  ",
        "x",
    ]


def oracle(tokenizer_json: Path, texts: list[str], bos: bool, eod: bool) -> list[list[int]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    out = []
    for t in texts:
        ids = ([1] if bos else []) + tok.encode(t, add_special_tokens=False).ids
        if eod and ids:
            ids.append(2)
        out.append(ids)
    return out


@pytest.fixture(scope="module", params=[(False, False), (True, True)], ids=["plain", "bos-eod"])
def written(request, tmp_path_factory, codellama_dir, codellama_json):
    bos, eod = request.param
    texts = corpus()
    expected = oracle(codellama_json, texts, bos, eod)
    lengths = sorted(map(len, expected))
    if not bos:
        assert lengths[0] == 0 and lengths[1] == 1, "the corpus has documents of 0 and 1 ids"
    assert lengths[-1] > 100_000, "the corpus has a document of more than 100k ids"
    folder = tmp_path_factory.mktemp("formats")
    prefix = str(folder / "code")
    pp.run(texts=texts, output_prefix=prefix, tokenizer=str(codellama_dir), formats=FORMATS, bos=bos,
           append_eod=eod, quiet=True)
    return folder, prefix, expected


def test_megatron_core_indexed_dataset(written):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    _, prefix, expected = written
    ds = IndexedDataset(prefix)
    bounds = ds.document_indices
    assert len(bounds) == len(expected) + 1
    docs = [np.concatenate([ds[s] for s in range(a, b)]).tolist() if b > a else [] for a, b in zip(bounds, bounds[1:])]
    assert docs == expected


def test_megatron_core_gpt_dataset_builds_samples(written, tmp_path):
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    _, prefix, expected = written
    seq = 512

    class Tok:  # what GPTDataset asks of a tokenizer
        eod = 2
        pad = 0
        vocab_size = 32016
        unique_identifiers = {"class": "llamatok-test"}

    config = GPTDatasetConfig(random_seed=1234, sequence_length=seq, blend=([prefix], None), split="1,0,0",
                              path_to_cache=str(tmp_path), tokenizer=Tok(), reset_position_ids=True,
                              reset_attention_mask=True, eod_mask_loss=False, mmap_bin_files=True)
    train, _, _ = BlendedMegatronDatasetBuilder(GPTDataset, [4, None, None], lambda: True, config).build()
    assert len(train) >= 4
    # Megatron's samples: the documents in its shuffled order (document_index, over the sequences,
    # one per non-empty document here), cut every `seq` ids with one id of overlap for the labels;
    # shuffle_index orders the samples.
    sequences = [np.asarray(d, np.int64) for d in expected if d]
    stream = np.concatenate([sequences[j] for j in train.document_index])
    for i in range(len(train)):
        sample = train[i]
        j = int(train.shuffle_index[i])
        assert np.asarray(sample["tokens"]).tolist() == stream[j * seq:(j + 1) * seq].tolist()
        assert np.asarray(sample["labels"]).tolist() == stream[j * seq + 1:(j + 1) * seq + 1].tolist()


def test_olmo_core_numpy_files(written):
    from olmo_core.data.numpy_dataset import NumpyFSLDataset
    from olmo_core.data.utils import iter_document_indices

    folder, prefix, expected = written
    path = prefix + ".npy"
    total = sum(map(len, expected))
    ds = NumpyFSLDataset(path, sequence_length=total, pad_token_id=0, eos_token_id=2, vocab_size=32016,
                         dtype=np.uint16)
    ds.prepare()
    stream = np.asarray(ds[0]["input_ids"]).tolist()
    assert len(ds) == 1 and len(stream) == total
    spans = list(iter_document_indices(path, use_array_if_local=False, dtype=np.uint16))  # the .csv.gz
    assert [stream[a:b] for a, b in spans] == [d for d in expected if d]
    if all(d[-1] == 2 for d in expected if d):  # with --append-eod OLMo-core finds documents by EOS
        by_eos = list(iter_document_indices(path, use_array_if_local=True, eos_token_id=2, dtype=np.uint16))
        assert by_eos == spans


def test_datatrove_folder_dataset(written):
    from datatrove.utils.dataset import DatatroveFolderDataset

    folder, prefix, expected = written
    total = sum(map(len, expected))
    ds = DatatroveFolderDataset(str(folder), seq_len=total - 1, filename_pattern="code.ds", token_size=2,
                                return_positions=True)
    assert len(ds) == 1
    item = ds[0]
    ids = np.asarray(item["input_ids"]).tolist()
    positions = np.asarray(item["positions"]).tolist()
    starts = [i for i, p in enumerate(positions) if p == 0] + [len(ids)]
    assert [ids[a:b] for a, b in zip(starts, starts[1:])] == [d for d in expected if d]
    meta = Path(prefix + ".ds.metadata").read_text().splitlines()
    assert meta[1] == str(total)


def test_streaming_mds(written):
    from streaming import StreamingDataset

    folder, prefix, expected = written
    ds = StreamingDataset(local=prefix + ".mds", batch_size=1, shuffle=False)
    assert len(ds) == len(expected)
    assert [np.frombuffer(ds[i]["tokens"], np.uint16).tolist() for i in range(len(ds))] == expected


def test_litdata_tokens_loader(written):
    from litdata import StreamingDataset
    from litdata.streaming.item_loader import TokensLoader

    folder, prefix, expected = written
    nonempty = [d for d in expected if d]
    total = sum(map(len, nonempty))
    ds = StreamingDataset(prefix + ".litdata", item_loader=TokensLoader(block_size=total))
    assert len(ds) == 1
    stream = np.asarray(ds[0]).tolist()
    assert stream == sum(nonempty, [])
    # Per-document boundaries: the chunk's item offsets (litdata's chunk layout, read here from its
    # description: u32 count, u32 offsets from the file's start, then the ids), not litdata's code.
    index = json.loads(Path(prefix + ".litdata/index.json").read_text())
    (chunk,) = index["chunks"]
    raw = Path(prefix + ".litdata", chunk["filename"]).read_bytes()
    n = int(np.frombuffer(raw, "<u4", 1)[0])
    offsets = np.frombuffer(raw, "<u4", n + 1, 4).astype(np.int64)
    docs = [np.frombuffer(raw[a:b], np.uint16).tolist() for a, b in zip(offsets, offsets[1:])]
    assert docs == nonempty


def test_parquet_with_pyarrow(written):
    import pyarrow.parquet as pq

    _, prefix, expected = written
    assert pq.read_table(prefix + ".parquet").column("input_ids").to_pylist() == expected


@pytest.mark.parametrize("values", ["dictionary", "plain"])
def test_parquet_with_polars_and_duckdb(tmp_path, codellama_dir, codellama_json, values):
    """Two Parquet readers that are not Arrow's C++ one, on each way the ids' pages are written: as
    indices into the identity dictionary (a column with enough ids per dictionary entry; forced here,
    since the corpus is too small for one) and PLAIN."""
    import duckdb
    import polars as pl
    import pyarrow.parquet as pq

    from llamatok.preprocess import parquet_format

    texts = corpus()
    expected = oracle(codellama_json, texts, True, True)
    prefix = str(tmp_path / values)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parquet_format, "DICTIONARY_VALUES_PER_ENTRY", 1 if values == "dictionary" else 10**9)
        pp.run(texts=texts, output_prefix=prefix, tokenizer=str(codellama_dir), formats="parquet", bos=True,
               append_eod=True, quiet=True)
    path = prefix + ".parquet"
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert ("RLE_DICTIONARY" in column.encodings) == (values == "dictionary")
    assert pl.read_parquet(path)["input_ids"].to_list() == expected
    assert [list(row) for (row,) in duckdb.sql(f"SELECT input_ids FROM read_parquet('{path}')").fetchall()] == expected


def test_sharded_outputs_read_by_each_consumer(tmp_path, codellama_dir, codellama_json):
    """Shards (several per format) listed in the manifest, each read as its trainer reads a list of files."""
    from datatrove.utils.dataset import DatatroveFolderDataset
    from olmo_core.data.utils import iter_document_indices
    from streaming import Stream, StreamingDataset

    texts = [t for t in corpus() if t] * 3
    expected = oracle(codellama_json, texts, True, True)
    prefix = str(tmp_path / "sh")
    pp.run(texts=texts, output_prefix=prefix, tokenizer=str(codellama_dir), formats="npy,datatrove,mds",
           shard_tokens=20_000, append_eod=True, quiet=True)
    manifest = json.loads(Path(prefix + ".manifest.json").read_text())
    assert len(manifest["shards"]) >= 3 and manifest["formats"] == ["npy", "datatrove", "mds"]
    kinds = {f["kind"] for s in manifest["shards"] for f in s["files"]}
    assert {"npy", "npy-metadata", "ds", "ds-index", "mds-shard", "mds-index"} <= kinds
    npy_docs = []
    for shard in manifest["shards"]:
        path = str(tmp_path / shard["datasets"]["text"]) + ".npy"
        arr = np.fromfile(path, np.uint16)
        npy_docs += [arr[a:b].tolist() for a, b in iter_document_indices(path, use_array_if_local=False,
                                                                         dtype=np.uint16)]
    assert npy_docs == expected
    streams = [Stream(local=str(tmp_path / s["datasets"]["text"]) + ".mds") for s in manifest["shards"]]
    ds = StreamingDataset(streams=streams, batch_size=1, shuffle=False)
    assert sorted(np.frombuffer(ds[i]["tokens"], np.uint16).tolist() for i in range(len(ds))) == sorted(expected)
    tokens = 0
    for shard in manifest["shards"]:
        n = int(shard["tokens"]["text"])
        item = DatatroveFolderDataset(str(tmp_path), seq_len=n - 1, filename_pattern=shard["datasets"]["text"] + ".ds",
                                      return_positions=True)[0]
        tokens += len(item["input_ids"])
    assert tokens == sum(map(len, expected))


warnings.filterwarnings("ignore", category=DeprecationWarning)


def test_olmo_core_reads_the_fim_label_mask(tmp_path, codellama_dir):
    from olmo_core.data.numpy_dataset import NumpyFSLDataset

    texts = [t for t in corpus() if t.strip()][:3] * 8
    prefix = str(tmp_path / "fim")
    pp.run(texts=texts, output_prefix=prefix, tokenizer=str(codellama_dir), formats="megatron,npy", fim_rate=0.8,
           append_eod=True, quiet=True)
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    ds_m = IndexedDataset(prefix)
    docs = [ds_m[i].tolist() for i in range(len(ds_m))]
    # What llamatok wrote (test_pp_fim_assembly.py holds it to masks built by hand): per document, the
    # prompt (none in a plain one), then the ids learned.
    expected = np.fromfile(prefix + ".label_mask.npy", np.bool_).tolist()
    at = 0
    for doc in docs:
        mask, at = expected[at:at + len(doc)], at + len(doc)
        first = mask.index(True)
        assert all(mask[first:]) and not any(mask[:first])
    assert at == len(expected) and not all(expected) and any(expected)
    total = len(expected)
    ds = NumpyFSLDataset(prefix + ".npy", sequence_length=total, pad_token_id=0, eos_token_id=2, vocab_size=32016,
                         dtype=np.uint16, label_mask_paths=[prefix + ".label_mask.npy"])
    ds.prepare()
    item = ds[0]
    assert np.asarray(item["input_ids"]).tolist() == sum(docs, [])
    assert np.asarray(item["label_mask"]).tolist() == expected
