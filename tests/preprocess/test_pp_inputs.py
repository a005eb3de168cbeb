"""Every kind of input gives the same shards for the same texts."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pp_helpers import DEMO, cli, documents, output_bytes, sample_texts, summary_of, write_jsonl

import llamatok
import llamatok.preprocess as pp
from llamatok.preprocess.options import OptionsError

TEXTS = sample_texts(90)


def encoded(texts):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO)
    return [[tok.bos_token_id] + tok._core.encode(t, "literal", True) for t in texts]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref"
    pp.run(texts=TEXTS, output_prefix=str(out), quiet=True)
    assert documents(str(out)) == encoded(TEXTS)
    return output_bytes(str(out))


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("compress", [None, "gz", "zst"])
def test_jsonl(tmp_path, reference, compress, bom):
    """Plain or compressed, with or without the UTF-8 byte order mark some editors put first."""
    name = "in.jsonl" + {None: "", "gz": ".gz", "zst": ".zst"}[compress]
    src = write_jsonl(tmp_path / name, [{"text": t, "other": 1} for t in TEXTS], compress, bom)
    pp.run(str(src), str(tmp_path / "o"), quiet=True, batch_bytes=4096)
    assert output_bytes(str(tmp_path / "o")) == reference
    if bom:  # read by Python too (FIM needs the texts), and in shards from tasks that start at the mark
        assert pp.run(str(src), str(tmp_path / "f"), quiet=True, fim_rate=0.5)["rejected"] == 0
        assert pp.run(str(src), str(tmp_path / "s"), quiet=True, shard_tokens=500)["rejected"] == 0


@pytest.mark.parametrize("binary", [False, True, "dictionary"])
def test_parquet(tmp_path, reference, binary):
    """String, binary, or dictionary-encoded strings (a pandas categorical) read alike."""
    values = [t.encode() for t in TEXTS] if binary is True else TEXTS
    column = pa.array(values, pa.binary() if binary is True else pa.string())
    if binary == "dictionary":
        column = column.dictionary_encode()
    table = pa.table({"id": list(range(len(TEXTS))), "text": column})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=17)
    pp.run(str(tmp_path / "in.parquet"), str(tmp_path / "o"), quiet=True, batch_bytes=2048)
    assert output_bytes(str(tmp_path / "o")) == reference


def test_iterable_of_dicts_and_bytes(tmp_path, reference):
    items = [{"text": t} if i % 2 else t.encode() for i, t in enumerate(TEXTS)]
    pp.run(texts=iter(items), output_prefix=str(tmp_path / "o"), quiet=True)
    assert output_bytes(str(tmp_path / "o")) == reference


def test_datasets_dataset(tmp_path, reference):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": TEXTS, "n": list(range(len(TEXTS)))})
    pp.run(ds, str(tmp_path / "o"), quiet=True)
    assert output_bytes(str(tmp_path / "o")) == reference
    with pytest.raises(OptionsError, match="no column 'body'"):
        pp.run(ds, str(tmp_path / "p"), json_keys=["body"], quiet=True)


def test_directory_one_file_one_document_with_globs(tmp_path, reference):
    tree = tmp_path / "tree"
    names = []
    for i, t in enumerate(TEXTS):
        # Files in nested folders; sorted by path component they come back in this order.
        rel = f"d{i // 30}/sub{i % 2}/f{i:03d}.py"
        names.append(rel)
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(t, encoding="utf-8")
    (tree / "d0" / "notes.txt").write_text("not python")
    (tree / "d1" / "site-packages").mkdir()
    (tree / "d1" / "site-packages" / "x.py").write_text("excluded")
    (tree / "d2" / "test_skip.py").write_text("excluded too")
    order = sorted(range(len(TEXTS)), key=lambda i: names[i].split("/"))
    proc = cli(str(tree), "--include", "*.py", "--exclude", "site-packages", "--exclude", "d2/test_*",
               "-o", str(tmp_path / "o"), "--batch-size", "3KB", "-q")
    summary = summary_of(proc)
    assert summary["documents"] == len(TEXTS)
    assert documents(str(tmp_path / "o")) == encoded([TEXTS[i] for i in order])


def test_several_inputs_are_concatenated_in_order(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"text": t} for t in TEXTS[:40]])
    b = write_jsonl(tmp_path / "b.jsonl.gz", [{"text": t} for t in TEXTS[40:]], "gz")
    summary = pp.run([str(a), str(b)], str(tmp_path / "o"), quiet=True, batch_bytes=1000)
    assert summary["documents"] == len(TEXTS)
    assert documents(str(tmp_path / "o")) == encoded(TEXTS)
    # Globs are expanded by the Python API too.
    pp.run(str(tmp_path / "*.jsonl*"), str(tmp_path / "g"), quiet=True)
    assert output_bytes(str(tmp_path / "g")) == output_bytes(str(tmp_path / "o"))


def test_outputs_inside_the_input_tree_are_not_read(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(5):
        (tree / f"{i}.py").write_text(f"x = {i}\n")
    first = pp.run(str(tree), str(tree / "out"), quiet=True)
    second = pp.run(str(tree), str(tree / "out"), quiet=True)
    assert first["documents"] == second["documents"] == 5 and second["rejected"] == 0


def test_a_glob_never_reads_the_jobs_own_files(tmp_path):
    """A glob that matches the job's rejects (or any of its outputs) leaves them out, so a rerun reads
    what the first run read."""
    write_jsonl(tmp_path / "a.jsonl", [{"text": "ok"}, {"other": 1}])
    prefix = str(tmp_path / "tok")
    runs = [pp.run(str(tmp_path / "*.jsonl"), prefix, quiet=True, formats=("megatron", "npy")) for _ in range(2)]
    assert [(r["documents"], r["rejected"]) for r in runs] == [(1, 1), (1, 1)]
    assert runs[1]["inputs"] == [str(tmp_path / "a.jsonl")]
    with pytest.raises(OptionsError, match="only this job's own files"):
        pp.run(str(tmp_path / "tok.*"), prefix, quiet=True)


def test_an_input_named_like_the_jobs_own_files_is_refused(tmp_path):
    """It would be overwritten by the outputs (or removed as an earlier run's) while it is read."""
    src = write_jsonl(tmp_path / "o.rejects.jsonl", [{"text": "x"}])
    with pytest.raises(OptionsError, match="named like this job's own files"):
        pp.run(str(src), str(tmp_path / "o"), quiet=True)
    assert src.exists()


def test_a_users_file_named_like_the_prefix_is_read(tmp_path):
    """Only the extensions the job writes mark its own files: model.py beside the prefix model is the
    user's."""
    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "model.test.py").write_text("y = 2\n")
    (tmp_path / "model_utils.py").write_text("z = 3\n")
    assert pp.run(str(tmp_path), str(tmp_path / "model"), quiet=True)["documents"] == 3
    assert pp.run(str(tmp_path), str(tmp_path / "model"), quiet=True, formats=("npy", "datatrove"))["documents"] == 3


@pytest.mark.parametrize("option,pattern,expected", [
    ("exclude", "tests/fixtures", ["pkg/deep/d.py", "pkg/m.py", "tests/t.py", "top.py"]),
    ("exclude", "tests/fixtures/", ["pkg/deep/d.py", "pkg/m.py", "tests/t.py", "top.py"]),
    ("exclude", "fixtures", ["pkg/deep/d.py", "pkg/m.py", "tests/t.py", "top.py"]),
    ("include", "**/*.py", ["pkg/deep/d.py", "pkg/m.py", "tests/fixtures/f.py", "tests/t.py", "top.py"]),
    ("include", "pkg/*.py", ["pkg/m.py"]),
    ("include", "pkg/**/*.py", ["pkg/deep/d.py", "pkg/m.py"]),
    ("exclude", "**/deep", ["pkg/m.py", "tests/fixtures/f.py", "tests/t.py", "top.py"]),
])
def test_include_and_exclude_read_paths_as_input_globs_do(tmp_path, option, pattern, expected):
    from llamatok.preprocess.sources import walk

    tree = tmp_path / "t"
    for rel in ("top.py", "pkg/m.py", "pkg/deep/d.py", "tests/t.py", "tests/fixtures/f.py"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("x = 1\n")
    (tree / ".git" / "objects").mkdir(parents=True)
    (tree / ".git" / "config").write_text("[core]\n")  # version control's folder: never a document
    (tree / ".git" / "objects" / "ab.py").write_bytes(b"\x78\x9c")
    include, exclude = ([pattern], []) if option == "include" else ([], [pattern])
    files, _, _ = walk(str(tree), include, exclude)
    assert [os.path.relpath(f, tree).replace(os.sep, "/") for f in files] == expected


def test_a_tree_with_links_and_special_files(tmp_path):
    """What a folder's walk reads: a symbolic link to a file (as that file), never a link to a folder (which
    could loop), nor a dangling link or a named pipe; the paths given are under the folder as named."""
    import os

    from llamatok.preprocess.sources import walk

    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "target.py").write_text("x = 1\n")
    (outside / "deep" / "hidden.py").write_text("y = 2\n")
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "real.py").write_text("z = 3\n")
    (tree / "a" / "link.py").symlink_to(outside / "target.py")
    (tree / "folder_link").symlink_to(outside / "deep", target_is_directory=True)
    (tree / "dangling.py").symlink_to(tmp_path / "missing.py")
    os.mkfifo(tree / "pipe.py")
    rel = os.path.relpath(tree)
    files, sizes, _ = walk(rel + "/", ["*.py"], [], str(tree / "out"))
    assert files == [os.path.join(rel + "/", "a", "link.py"), os.path.join(rel + "/", "a", "real.py")]
    assert sizes == [6, 6]
    summary = pp.run(str(tree), str(tmp_path / "o"), quiet=True, include=["*.py"])
    assert summary["documents"] == 2 and summary["rejected"] == 0
