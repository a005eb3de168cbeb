"""--pack, --shuffle-seed and --dedup: the packing invariants (every sequence exactly LENGTH ids,
every document's ids present in order and exactly once, no piece across a sequence boundary, BFD
never cutting a document shorter than LENGTH), the output's ids equal to direct encoding, and the
same bytes for any number of workers, any batch size, across a killed and resumed run, and in the
sharded layout (merged, its shards are the single file; on Ray: tests/preprocess/test_pp_ray.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from pp_helpers import DEMO, cli, documents, write_jsonl

import llamatok
import llamatok.preprocess as pp
from llamatok.preprocess.packing import plan
from llamatok.preprocess.sequences import SequenceSpec, training_order

OUTPUT_FILES = (".bin", ".idx", ".npy", ".csv.gz", ".ds", ".ds.index", ".parquet")


def direct(texts, eos=True):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO)
    out = []
    for t in texts:
        ids = [tok.bos_token_id] + tok._core.encode(t, "literal", True)
        out.append(ids + [tok.eos_token_id] if eos else ids)
    return out


def varied_texts(n=120, seed=3):
    rng = random.Random(seed)
    words = ["def", "x", "return", "λ", "🦙", "class", "    ", "\n", "lambda", "0x1f"]
    return ["" if rng.random() < 0.05 else " ".join(rng.choice(words) for _ in range(rng.choice([1, 3, 20, 90, 300])))
            for _ in range(n)]


def check_plan(lengths, seq_len, strategy):
    p = plan(np.asarray(lengths), seq_len, strategy)
    ends = np.cumsum(p.length)
    starts = ends - p.length
    assert int(p.length.sum()) == p.sequences * seq_len, "every sequence is exactly LENGTH ids"
    assert np.all(starts // seq_len == (ends - 1) // seq_len), "no piece crosses a sequence boundary"
    assert int(p.length[p.doc < 0].sum()) == p.pad_tokens
    for d, n in enumerate(lengths):
        mine = np.flatnonzero(p.doc == d)
        covered = sorted(zip(p.start[mine].tolist(), p.length[mine].tolist()))
        at = 0
        for s, ln in covered:
            assert s == at, f"document {d}: a gap or an overlap at {s}"
            at += ln
        assert at == n, f"document {d}: {at} of its {n} ids"
        assert p.start[mine].tolist() == sorted(p.start[mine].tolist()), "a document's pieces come in order"
        if strategy == "bfd" and 0 < n < seq_len:
            assert len(mine) == 1, f"BFD cut document {d} of {n} < {seq_len} ids"
    if strategy == "concat":
        real = p.doc[p.doc >= 0]
        assert real.tolist() == sorted(real.tolist()), "concat keeps the input order"
    return p


@pytest.mark.parametrize("strategy", ["concat", "bfd"])
def test_plan_invariants_on_random_lengths(strategy):
    rng = random.Random(11)
    for seq_len in (2, 7, 64, 1000):
        for _ in range(20):
            lengths = [rng.choice([0, 1, seq_len - 1, seq_len, seq_len + 1, 2 * seq_len, rng.randrange(4 * seq_len)])
                       for _ in range(rng.randrange(1, 60))]
            check_plan(lengths, seq_len, strategy)


def test_bfd_packs_tighter_than_first_come():
    lengths = [60, 50, 40, 30, 20, 10, 70, 80, 90, 5, 5]
    p = check_plan(lengths, 100, "bfd")
    assert p.sequences == -(-sum(lengths) // 100), "best-fit-decreasing fills these without waste"


def test_padding_is_eos_without_append_eod(tmp_path):
    # Pieces with d < 0 are padding: the tokenizer's EOS (2), not <unk> (0), also when no EOS ends a document.
    texts = varied_texts()
    prefix = str(tmp_path / "p")
    summary = pp.run(texts=texts, output_prefix=prefix, pack=128, pack_strategy="bfd", quiet=True)
    assert summary["sequences"]["pad_tokens"] > 0
    order = training_order(np.array(list(map(len, direct(texts, eos=False)))), SequenceSpec(None, 128, "bfd", 2))
    padding = [p for p, d in zip(documents(prefix), order.doc.tolist()) if d < 0]
    assert padding and all(set(p) == {2} for p in padding)


@pytest.mark.parametrize("strategy", ["concat", "bfd"])
def test_packed_output_holds_every_document_once(tmp_path, strategy):
    texts = varied_texts()
    expected = direct(texts)
    prefix = str(tmp_path / "p")
    summary = pp.run(texts=texts, output_prefix=prefix, pack=128, pack_strategy=strategy, append_eod=True, quiet=True,
                     formats="megatron,npy,datatrove")
    pieces = documents(prefix)  # each piece is a Megatron document
    stream = np.concatenate([np.asarray(p, np.int64) for p in pieces])
    seq = summary["sequences"]
    assert len(stream) == seq["sequences"] * 128
    order = training_order(np.array(list(map(len, expected))), SequenceSpec(None, 128, strategy, 2))
    assert [len(p) for p in pieces] == order.length.tolist()
    for piece, d, s, n in zip(pieces, order.doc.tolist(), order.start.tolist(), order.length.tolist()):
        assert piece == (expected[d][s:s + n] if d >= 0 else [2] * n)
    assert seq["efficiency"] == round(sum(map(len, expected)) / (seq["sequences"] * 128), 6)
    assert seq["pad_tokens"] == seq["sequences"] * 128 - sum(map(len, expected))
    # The same pieces in the other formats.
    assert np.fromfile(prefix + ".npy", np.uint16).tolist() == stream.tolist()
    assert np.fromfile(prefix + ".ds.index", np.uint64).tolist() == np.cumsum(order.length).tolist()


def test_shuffle_is_a_permutation_of_whole_documents(tmp_path):
    texts = varied_texts(80)
    expected = direct(texts)
    pp.run(texts=texts, output_prefix=str(tmp_path / "s"), shuffle_seed=5, append_eod=True, quiet=True)
    got = documents(str(tmp_path / "s"))
    assert got != expected and sorted(got) == sorted(expected)
    pp.run(texts=texts, output_prefix=str(tmp_path / "t"), shuffle_seed=6, append_eod=True, quiet=True)
    assert documents(str(tmp_path / "t")) != got, "another seed, another order"


def _args(src, prefix, *extra):
    return [str(src), "-o", prefix, "--tokenizer", DEMO, "--append-eod", "--shuffle-seed", "42", "--pack", "100",
            "--pack-strategy", "bfd", "--dedup", "exact", "--format", "megatron,npy,datatrove,parquet", "-q", *extra]


def _outputs(prefix):
    return {ext: Path(prefix + ext).read_bytes() for ext in OUTPUT_FILES}


def test_same_bytes_for_any_workers_batches_and_resume(tmp_path):
    texts = varied_texts(400, seed=9)
    texts += texts[:50]  # duplicates for --dedup
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    ref = str(tmp_path / "ref")
    summary = json.loads(cli(*_args(src, ref, "--workers", "1")).stdout)
    assert summary["dedup"]["duplicates"] >= 50 and summary["sequences"]["sequences"] > 0
    reference = _outputs(ref)
    other = str(tmp_path / "other")
    assert cli(*_args(src, other, "--workers", "2", "--batch-size", "3KB")).returncode == 0
    assert _outputs(other) == reference
    killed = str(tmp_path / "killed")
    crashed = cli(*_args(src, killed, "--batch-size", "2KB", "--checkpoint-seconds", "0"),
                  env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:4"})
    assert crashed.returncode == 86
    resumed = cli(*_args(src, killed, "--batch-size", "2KB", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["runs"] == 2
    assert _outputs(killed) == reference


def test_dedup_skips_and_lists_duplicates(tmp_path):
    texts = ["a = 1", "b = 2", "a = 1", "", "b = 2", "", "c = 3"]
    prefix = str(tmp_path / "d")
    summary = pp.run(texts=texts, output_prefix=prefix, dedup="exact", quiet=True)
    assert documents(prefix) == direct(["a = 1", "b = 2", "", "c = 3"], eos=False)
    assert summary["dedup"]["duplicates"] == 3 and summary["rejected_by_reason"] == {"duplicate": 3}
    rejects = [json.loads(line) for line in Path(prefix + ".rejects.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == ["duplicate"] * 3
    assert [r["excerpt"] for r in rejects] == ["a = 1", "b = 2", ""]


def test_dedup_tells_the_fields_apart(tmp_path):
    # The same characters split differently between the two fields: different documents.
    rows = [{"a": "x\u0000", "b": "y"}, {"a": "x", "b": "\u0000y"}, {"a": "x", "b": "\u0000y"}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = pp.run(str(src), str(tmp_path / "d"), json_keys=["a", "b"], dedup="exact", quiet=True)
    assert summary["dedup"]["duplicates"] == 1 and summary["documents"] == 2


@pytest.mark.parametrize("options,message", [
    ({"pack": 1}, "--pack must be a sequence length of 2 to"),
    ({"pack": 64, "pack_strategy": "first-fit"}, "--pack-strategy must be concat or bfd"),
    ({"shuffle_seed": -1}, "--shuffle-seed must be an integer"),
    ({"dedup": "fuzzy"}, "--dedup takes exact"),
    ({"pack": 64, "json_keys": ["a", "b"]}, "--pack packs one text field"),
])
def test_bad_sequence_options(tmp_path, options, message):
    with pytest.raises(pp.OptionsError, match=message):
        pp.run(texts=["x"], output_prefix=str(tmp_path / "o"), quiet=True, **options)


def _mask_per_document(mask: list[bool], docs: list[list[int]]) -> list[list[bool]]:
    out, at = [], 0
    for doc in docs:
        out.append(mask[at:at + len(doc)])
        at += len(doc)
    assert at == len(mask), "one bool per id"
    return out


def test_fim_loss_mask_sidecars(tmp_path):
    """Every format that carries a loss mask carries the same one, single-file or sharded, shuffled or not;
    a plain document is learned whole, a FIM one from its middle on, which ends with EOT and EOS
    (test_pp_fim_assembly.py holds each document's mask to one built by hand)."""
    texts = varied_texts(60)
    prefix = str(tmp_path / "f")
    summary = pp.run(texts=texts, output_prefix=prefix, fim_rate=0.7, append_eod=True,
                     formats="megatron,npy,datatrove,parquet", quiet=True)
    assert summary["outputs"]["npy"][0]["label_mask"] == prefix + ".label_mask.npy"
    assert summary["outputs"]["datatrove"][0]["loss"] == prefix + ".ds.loss"
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO)
    docs = documents(prefix)
    expected = np.fromfile(prefix + ".label_mask.npy", np.bool_).tolist()
    fim_docs = 0
    for doc, mask in zip(docs, _mask_per_document(expected, docs)):
        if tok.prefix_id not in doc:
            assert all(mask), "a plain document is learned whole"
            continue
        fim_docs += 1
        first = mask.index(True)
        assert all(mask[first:]) and not any(mask[:first]), "the prompt, then what is learned"
        assert doc[-2:] == [tok.eot_id, tok.eos_token_id] and tok.middle_id in doc[:first]
    assert 20 < fim_docs < 60
    assert np.fromfile(prefix + ".ds.loss", np.bool_).tolist() == expected
    import pyarrow.parquet as pq

    table = pq.read_table(prefix + ".parquet")
    assert sum(table.column("loss_mask").to_pylist(), []) == expected
    assert table.column("input_ids").to_pylist() == docs
    sharded = str(tmp_path / "sh")
    pp.run(texts=texts, output_prefix=sharded, fim_rate=0.7, append_eod=True, formats="parquet,npy",
           shard_tokens=500, quiet=True)
    assert _sharded_masks(tmp_path, sharded) == (expected, expected)
    # Shuffled, in one file and in shards (whose work shards keep the masks for the reorder): the same
    # documents with the same masks, in the shuffled order.
    by_document = {tuple(d): m for d, m in zip(docs, _mask_per_document(expected, docs))}
    shuffled = str(tmp_path / "s")
    pp.run(texts=texts, output_prefix=shuffled, fim_rate=0.7, append_eod=True, formats="megatron,npy",
           shuffle_seed=5, quiet=True)
    order = documents(shuffled)
    assert order != docs
    want = sum((by_document[tuple(d)] for d in order), [])
    assert np.fromfile(shuffled + ".label_mask.npy", np.bool_).tolist() == want
    pp.run(texts=texts, output_prefix=str(tmp_path / "ss"), fim_rate=0.7, append_eod=True, formats="parquet,npy",
           shuffle_seed=5, shard_tokens=500, quiet=True)
    assert _sharded_masks(tmp_path, str(tmp_path / "ss")) == (want, want)
    # Packed (concatenated and cut, Megatron's way): each piece keeps its ids' bools and the padding that
    # ends the last sequence is not learned; in one file and in shards alike.
    packed = str(tmp_path / "g")
    pp.run(texts=texts, output_prefix=packed, fim_rate=0.7, append_eod=True, formats="megatron,npy", pack=64,
           quiet=True)
    flat = sum(documents(packed), [])
    got = np.fromfile(packed + ".label_mask.npy", np.bool_).tolist()
    real = sum(map(len, docs))
    assert len(got) == len(flat) and len(flat) % 64 == 0 and flat[:real] == sum(docs, [])
    assert got[:real] == expected and not any(got[real:])
    pp.run(texts=texts, output_prefix=str(tmp_path / "gs"), fim_rate=0.7, append_eod=True, formats="npy,parquet",
           pack=64, shard_tokens=640, quiet=True)
    assert _sharded_masks(tmp_path, str(tmp_path / "gs")) == (got, got)


def _sharded_masks(tmp_path: Path, sharded: str) -> tuple[list[bool], list[bool]]:
    """The npy and Parquet masks of a sharded run, shard after shard."""
    import pyarrow.parquet as pq

    manifest = json.loads(Path(sharded + ".manifest.json").read_text())
    masks, parquet_masks = [], []
    for shard in manifest["shards"]:
        base = str(tmp_path / shard["datasets"]["text"])
        parquet_masks += sum(pq.read_table(base + ".parquet").column("loss_mask").to_pylist(), [])
        masks += np.fromfile(base + ".label_mask.npy", np.bool_).tolist()
    return masks, parquet_masks


SHARDED_FORMATS = "megatron,npy,datatrove,parquet"


def _sharded_args(src, prefix, *extra):
    return [str(src), "-o", prefix, "--tokenizer", DEMO, "--append-eod", "--format", SHARDED_FORMATS, "-q", *extra]


def _shard_ids(prefix, kind, dtype=np.uint16):
    """The ids of every shard's file of ``kind``, concatenated in manifest order."""
    manifest = json.loads(Path(prefix + ".manifest.json").read_text())
    folder = Path(prefix).parent
    return np.concatenate([np.fromfile(folder / f["path"], dtype) for shard in manifest["shards"]
                           for f in shard["files"] if f["kind"] == kind]).tolist()


@pytest.mark.parametrize("sequence_args", [
    ("--shuffle-seed", "42"),
    ("--pack", "100"),
    ("--pack", "100", "--pack-strategy", "bfd", "--shuffle-seed", "7", "--dedup", "exact"),
    ("--shuffle-seed", "3", "--fim-rate", "0.5"),
    ("--dedup", "exact", "--fim-rate", "0.5"),
])
def test_sharded_runs_write_the_single_files_order(tmp_path, sequence_args):
    """Shards in training order (or deduplicated): merged, the single-file run's bytes; the other formats'
    shards hold the same ids in the same order; with --pack every shard holds whole sequences; the same
    duplicates rejected; killed in any pass and resumed, the same shards again."""
    texts = varied_texts(300, seed=4)
    texts += texts[::7]  # duplicates, some in other tasks than their first copy
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    single = str(tmp_path / "single")
    expected = json.loads(cli(*_sharded_args(src, single, *sequence_args)).stdout)
    sharded = str(tmp_path / "sharded")
    summary = json.loads(cli(*_sharded_args(src, sharded, "--shard-tokens", "700", *sequence_args)).stdout)
    assert summary["sharding"]["shards"] > 3 and summary.get("sequences") == expected.get("sequences")
    assert summary.get("dedup") == expected.get("dedup")
    if "--dedup" in sequence_args:
        assert summary["dedup"]["duplicates"] >= len(texts[300::]), "every appended copy is a duplicate"
    assert summary["rejected_by_reason"] == expected["rejected_by_reason"]
    rejects = [sorted(Path(p + ".rejects.jsonl").read_text().splitlines()) for p in (single, sharded)]
    assert rejects[0] == rejects[1]
    merged = str(tmp_path / "merged")
    pp.merge(sharded + ".manifest.json", merged)
    for ext in (".bin", ".idx"):
        assert Path(merged + ext).read_bytes() == Path(single + ext).read_bytes(), ext
    stream = np.fromfile(single + ".bin", np.uint16).tolist()
    assert _shard_ids(sharded, "npy") == stream
    assert _shard_ids(sharded, "ds") == stream
    if "--fim-rate" in sequence_args:
        mask = np.fromfile(single + ".label_mask.npy", np.bool_).tolist()
        assert _shard_ids(sharded, "npy-label-mask", np.bool_) == mask
    manifest = json.loads(Path(sharded + ".manifest.json").read_text())
    if "sequences" in expected:
        assert manifest["sequences"] == expected["sequences"]
        assert all(shard["input"] is None for shard in manifest["shards"])
    if "--pack" in sequence_args:
        assert all(shard["tokens"]["text"] % 100 == 0 for shard in manifest["shards"]), "whole sequences"
    assert not Path(sharded + ".partial").exists()
    shards = {p.name: p.read_bytes() for p in tmp_path.glob("sharded-*")}
    crashes = ["task-recorded:3"] + (["reordered:2"] if "sequences" in expected else [])
    for crash in crashes:
        killed = str(tmp_path / "killed")
        args = _sharded_args(src, killed, "--shard-tokens", "700", *sequence_args)
        assert cli(*args, env={"LLAMATOK_PREPROCESS_CRASH_AT": crash}).returncode == 86, crash
        resumed = json.loads(cli(*args, "--resume").stdout)
        assert resumed["runs"] == 2 and resumed["sharding"]["kept_tasks"] >= 3
        again = {p.name.replace("killed", "sharded"): p.read_bytes() for p in tmp_path.glob("killed-*")}
        assert again == shards, crash


def test_sharded_shuffle_is_the_same_for_any_shard_size(tmp_path):
    texts = varied_texts(200, seed=5)
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    streams = []
    for size in ("300", "5000"):
        prefix = str(tmp_path / f"s{size}")
        assert cli(*_sharded_args(src, prefix, "--shard-tokens", size, "--shuffle-seed", "9")).returncode == 0
        streams.append(_shard_ids(prefix, "bin"))
    assert streams[0] == streams[1]
    assert sorted(streams[0]) == sorted(sum(direct(texts), []))
