"""The storage layer on a real S3-compatible store (SeaweedFS on loopback), on fsspec's in-memory
file system and on local paths: listing, globs, and files that appear whole or not at all."""

from __future__ import annotations

import uuid

import pytest

from llamatok.preprocess import storage
from llamatok.preprocess.errors import OptionsError


@pytest.fixture()
def bucket(s3_store):
    return s3_store.fresh_prefix("st")


def test_scheme_and_local_paths():
    assert storage.scheme("s3://b/k") == "s3" and storage.scheme("hf://datasets/x/y") == "hf"
    assert storage.is_local("out/x") and storage.is_local("file:///tmp/x") and not storage.is_local("gs://b/x")
    assert storage.local_path("file:///tmp/x") == "/tmp/x"
    assert storage.join("s3://b/dir/", "f") == "s3://b/dir/f" and storage.parent("s3://b/dir/f") == "s3://b/dir"
    assert storage.basename("s3://b/dir/f.bin") == "f.bin"


def test_s3_files_listing_and_globs(s3_store, bucket):
    storage.write_atomic(f"{bucket}/a/x.jsonl", b"1\n")
    storage.write_atomic(f"{bucket}/a/y.jsonl.zst", b"2\n")
    storage.write_atomic(f"{bucket}/a/deep/z.jsonl", b"3\n")
    storage.write_atomic(f"{bucket}/b.parquet", b"4")
    assert storage.info(f"{bucket}/a/x.jsonl").kind == "file" and storage.info(f"{bucket}/a/x.jsonl").size == 2
    assert storage.info(f"{bucket}/a").kind == "dir"
    assert storage.info(f"{bucket}/nothing").kind == "missing"
    assert storage.glob(f"{bucket}/a/*.jsonl") == [f"{bucket}/a/x.jsonl"]
    assert storage.glob(f"{bucket}/a/**/*.jsonl") == [f"{bucket}/a/deep/z.jsonl", f"{bucket}/a/x.jsonl"]
    assert storage.glob(f"{bucket}/*/y.json?.zst") == [f"{bucket}/a/y.jsonl.zst"]
    assert sorted(rel for rel, _, _ in storage.list_tree(f"{bucket}/a")) == ["deep/z.jsonl", "x.jsonl", "y.jsonl.zst"]
    assert storage.list_names(f"{bucket}/a") == ["x.jsonl", "y.jsonl.zst"]
    assert storage.read_bytes(f"{bucket}/a/deep/z.jsonl") == b"3\n"
    # What pyarrow wrote is read back byte for byte by another S3 client (no chunk framing).
    assert s3_store.read(f"{bucket}/b.parquet") == b"4"


def test_s3_writer_commits_whole_or_nothing(s3_store, bucket):
    target = f"{bucket}/out/shard.bin"
    tmp = f"{bucket}/out.partial/tmp/shard.bin.1"
    w = storage.AtomicWriter(target, tmp)
    w.write(b"x" * 100_000)
    assert storage.info(target).kind == "missing", "nothing at the final name before the commit"
    w.commit()
    assert storage.read_bytes(target) == b"x" * 100_000
    assert storage.info(tmp).kind == "missing", "the temporary object is gone"
    import hashlib

    assert w.sha256 == hashlib.sha256(b"x" * 100_000).hexdigest() and w.size == 100_000
    assert storage.sha256_of(target) == (100_000, w.sha256)

    with pytest.raises(RuntimeError):
        with storage.AtomicWriter(f"{bucket}/out/failed.bin", f"{bucket}/out.partial/tmp/failed.1") as w2:
            w2.write(b"half")
            raise RuntimeError("the writer failed half way")
    assert storage.info(f"{bucket}/out/failed.bin").kind == "missing"
    assert s3_store.list(f"{bucket}/out.partial") == [], "an aborted writer leaves nothing"
    storage.delete_tree(f"{bucket}/out")
    assert storage.info(target).kind == "missing"


def test_local_writer_commits_whole_or_nothing(tmp_path):
    target = str(tmp_path / "o" / "f.bin")
    with pytest.raises(KeyError):
        with storage.AtomicWriter(target) as w:
            w.write(b"abc")
            raise KeyError("stop")
    assert not (tmp_path / "o" / "f.bin").exists() and list((tmp_path / "o").iterdir()) == []
    storage.write_atomic(target, b"abc")
    assert (tmp_path / "o" / "f.bin").read_bytes() == b"abc"
    assert storage.glob(str(tmp_path / "o" / "*.bin")) == [target]


def test_fsspec_file_systems_work_through_the_same_interface():
    fsspec = pytest.importorskip("fsspec")
    base = f"memory://llamatok-{uuid.uuid4().hex[:8]}"
    storage.write_atomic(f"{base}/d/a.jsonl", b'{"text": "x"}\n')
    assert storage.info(f"{base}/d/a.jsonl").kind == "file"
    assert storage.read_bytes(f"{base}/d/a.jsonl") == b'{"text": "x"}\n'
    assert storage.glob(f"{base}/d/*.jsonl") == [f"{base}/d/a.jsonl"]
    assert fsspec.filesystem("memory").cat(f"{base[len('memory://'):]}/d/a.jsonl") == b'{"text": "x"}\n'


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(OptionsError, match="no file system for nosuchfs://"):
        storage.info("nosuchfs://x/y")


@pytest.mark.parametrize("checksum", [True, False])
@pytest.mark.parametrize("kernel", [True, False])
def test_copied_ranges_are_the_source_bytes(tmp_path, monkeypatch, checksum, kernel):
    import hashlib
    import os

    from llamatok.preprocess import file_copy

    if not kernel:  # as on a system or file-system pair without copy_file_range
        def refuse(*args):
            raise OSError(file_copy.errno.EXDEV, "cross-device")

        monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    monkeypatch.setattr(file_copy, "BLOCK", 1000)  # several blocks per range
    monkeypatch.setattr(storage, "WRITEBACK_BYTES", 1500)  # the kernel asked to write back as it goes
    src = tmp_path / "src.bin"
    data = os.urandom(10_000)
    src.write_bytes(data)
    target = str(tmp_path / "o" / "f.bin")
    with storage.AtomicWriter(target, checksum=checksum) as w:
        w.write(b"head")
        w.copy_from(str(src), 3, 4000)
        w.write(b"mid")
        w.copy_from(str(src), 9000, 1000)
        w.copy_from(str(src), 0, 0)
    expected = b"head" + data[3:4003] + b"mid" + data[9000:]
    assert (tmp_path / "o" / "f.bin").read_bytes() == expected and w.size == len(expected)
    if checksum:
        assert w.sha256 == hashlib.sha256(expected).hexdigest()
    else:
        with pytest.raises(ValueError, match="without a checksum"):
            _ = w.sha256


def test_a_range_past_the_source_end_is_an_error(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 100)
    for checksum in (True, False):
        with pytest.raises(OSError, match="ends before byte 150"):
            with storage.AtomicWriter(str(tmp_path / f"f{checksum}.bin"), checksum=checksum) as w:
                w.copy_from(str(src), 50, 100)
        assert not (tmp_path / f"f{checksum}.bin").exists()
