"""Where inputs and outputs live: local paths, or URIs of object stores and remote file systems.

A location is a plain string everywhere in the preprocessor, so it pickles to Ray tasks as it is
and each process resolves it where it runs:

- a path without a scheme, or ``file://``: the local file system, through the OS (fsync, rename);
- ``s3://`` (also S3-compatible stores: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``), ``gs://``/``gcs://``, ``hdfs://``,
  ``abfs://``: pyarrow's own file systems;
- any other scheme (``hf://datasets/...``, ``memory://``, ...): fsspec, seen through pyarrow's ``FSSpecHandler``.

Object stores have no rename and no append. A file that must appear whole is written under a
temporary name and then moved into place (:class:`AtomicWriter`): a local rename, or a server-side
copy of a completed object; a writer that dies before the move leaves only the temporary object.
"""

from __future__ import annotations

import fnmatch
import glob as local_glob
import hashlib
import io
import os
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from llamatok.preprocess.errors import OptionsError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: Schemes pyarrow resolves itself (``pyarrow.fs.FileSystem.from_uri``); others go through fsspec.
_PYARROW_SCHEMES = {"s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss"}
#: Schemes whose path inside the file system is the URI without its scheme.
_CACHED_SCHEMES = {"s3", "gs", "gcs"}
#: Reads from a remote store are 8 MiB requests: fewer requests per byte (stores limit their rate).
_REMOTE_READ_BUFFER = 8 << 20
#: 128 KiB for a local file: one read for a JSONL line of tens of KB; the reader's 1 MiB blocks bypass it.
_LOCAL_READ_BUFFER = 1 << 17
#: A local output file has the kernel start writing it every 8 MiB (AtomicWriter._start_writeback).
WRITEBACK_BYTES = 8 << 20


def scheme(location: str) -> str | None:
    """``"s3"`` for ``s3://b/k``; None for a local path (also for ``file://`` URIs)."""
    m = _SCHEME.match(location)
    if not m or m.group(1).lower() == "file":
        return None
    return m.group(1).lower()


def is_local(location: str) -> bool:
    return scheme(location) is None


def local_path(location: str) -> str:
    """The OS path of a local location (``file:///x`` → ``/x``)."""
    if location.lower().startswith("file://"):
        return location[len("file://"):]
    return location


def join(base: str, name: str) -> str:
    if is_local(base):
        return os.path.join(local_path(base), name)
    return base.rstrip("/") + "/" + name


def parent(location: str) -> str:
    if is_local(location):
        return os.path.dirname(os.path.abspath(local_path(location)))
    head, _, _ = location.rstrip("/").rpartition("/")
    return head


def basename(location: str) -> str:
    return os.path.basename(local_path(location)) if is_local(location) else location.rstrip("/").rpartition("/")[2]


# -- resolving a remote location -----------------------------------------------------------------

_filesystems: dict[tuple[str, str], Any] = {}
_filesystems_lock = threading.Lock()


def _resolve(location: str) -> tuple[Any, str]:
    """(pyarrow FileSystem, path inside it) of a remote location. S3 and GCS file systems are
    cached per bucket, so a job opens one connection pool per store."""
    sch = scheme(location)
    assert sch is not None, location
    rest = location[len(sch) + 3:]
    key = (sch, rest.split("/", 1)[0])
    with _filesystems_lock:
        fs = _filesystems.get(key)
    if fs is not None:
        return fs, rest.rstrip("/")
    try:
        if sch in _PYARROW_SCHEMES:
            import pyarrow.fs as pafs

            fs, path = pafs.FileSystem.from_uri(location)
        else:
            fs, path = _fsspec_filesystem(sch, location), rest.rstrip("/")
    except OptionsError:
        raise
    except Exception as e:  # pyarrow raises ArrowInvalid or OSError, fsspec ValueError
        raise OptionsError(f"cannot open {location}: {e}") from None
    if sch in _CACHED_SCHEMES:
        with _filesystems_lock:
            _filesystems.setdefault(key, fs)
    return fs, path


def _fsspec_filesystem(sch: str, location: str) -> Any:
    try:
        import fsspec
        import pyarrow.fs as pafs
    except ImportError:
        raise OptionsError(f"{location}: {sch}:// URIs are read through fsspec: pip install fsspec") from None
    try:
        fs = fsspec.filesystem(sch)
    except (ImportError, ValueError) as e:
        raise OptionsError(f"{location}: no file system for {sch}:// ({e})") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs))


# -- what is there -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Info:
    """What a location holds: ``kind`` is ``file``, ``dir`` or ``missing``."""

    kind: str
    size: int = -1
    mtime_ns: int = 0


def info(location: str) -> Info:
    if is_local(location):
        path = local_path(location)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return Info("missing")
        if os.path.isdir(path):
            return Info("dir")
        return Info("file", st.st_size, st.st_mtime_ns)
    import pyarrow.fs as pafs

    fs, path = _resolve(location)
    try:
        fi = fs.get_file_info(path)
    except OSError as e:
        raise OSError(f"cannot look up {location}: {e}") from None
    if fi.type == pafs.FileType.File:
        return Info("file", int(fi.size), int(fi.mtime_ns or 0))
    if fi.type == pafs.FileType.Directory:
        return Info("dir")
    return Info("missing")


def exists(location: str) -> bool:
    return info(location).kind != "missing"


def list_tree(location: str) -> list[tuple[str, int, int]]:
    """Every file under a remote folder: (path relative to it, size, mtime_ns), unsorted."""
    import pyarrow.fs as pafs

    fs, root = _resolve(location)
    base = root.strip("/")
    out = []
    for fi in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        # fsspec file systems may answer "/bucket/key" for "bucket/key"
        path = fi.path.lstrip("/")
        if fi.type == pafs.FileType.File and path.startswith(base):
            out.append((path[len(base):].lstrip("/"), int(fi.size), int(fi.mtime_ns or 0)))
    return out


def list_names(location: str) -> list[str]:
    """The names of the files directly in a folder (none when it does not exist)."""
    if is_local(location):
        try:
            return sorted(n for n in os.listdir(local_path(location))
                          if os.path.isfile(os.path.join(local_path(location), n)))
        except FileNotFoundError:
            return []
    import pyarrow.fs as pafs

    fs, root = _resolve(location)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=False, allow_not_found=True))
    return sorted(fi.base_name for fi in infos if fi.type == pafs.FileType.File)


def has_magic(pattern: str) -> bool:
    return local_glob.has_magic(pattern)


def glob(pattern: str) -> list[str]:
    """The files matching ``pattern``, sorted. On object stores the listing starts at the deepest
    folder without a wildcard; ``*`` and ``?`` stay within one path component, ``**`` crosses them."""
    if is_local(pattern):
        return sorted(local_glob.glob(local_path(pattern), recursive=True))
    sch = scheme(pattern)
    head = pattern[len(sch) + 3:]  # type: ignore[arg-type]
    parts = head.split("/")
    fixed = []
    for part in parts:
        if has_magic(part):
            break
        fixed.append(part)
    base = f"{sch}://" + "/".join(fixed)
    regex = glob_regex("/".join(parts[len(fixed):]))
    return sorted(join(base, rel) for rel, _, _ in list_tree(base) if regex.fullmatch(rel))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A relative path's glob: ``*``, ``?`` within a folder, ``**/`` any folders or none."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape("["))
                i += 1
            else:
                out.append(fnmatch.translate(pattern[i:j + 1])[4:-3])
                i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


# -- reading -------------------------------------------------------------------------------------

def open_input(location: str, buffer: int = _REMOTE_READ_BUFFER) -> io.BufferedReader:
    """A buffered, seekable binary reader (``buffer``: a remote store's request size, a local file's up to 128 KiB)."""
    if is_local(location):
        return io.BufferedReader(io.FileIO(local_path(location)), min(buffer, _LOCAL_READ_BUFFER))
    fs, path = _resolve(location)
    try:
        raw = fs.open_input_file(path)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise OSError(f"cannot read {location}: {e}") from None
    return io.BufferedReader(raw, buffer)


def open_arrow(location: str) -> Any:
    """What pyarrow readers (Parquet) take: the path of a local file, else a random-access
    ``pyarrow.NativeFile`` (no Python in the read path)."""
    if is_local(location):
        return local_path(location)
    fs, path = _resolve(location)
    return fs.open_input_file(path)


def read_bytes(location: str) -> bytes:
    with open_input(location) as f:
        return f.read()


# -- writing -------------------------------------------------------------------------------------

def make_dirs(location: str) -> None:
    if is_local(location):
        os.makedirs(local_path(location), exist_ok=True)
    # Object stores have no folders: a key's parent exists as soon as the key does.


def start_writeback(file: Any, since: int) -> int:
    """Has the kernel start writing a local file's bytes from ``since`` to its end (returned), without waiting
    (Linux does for ``POSIX_FADV_DONTNEED``; where there is no such call, a later fsync writes it all)."""
    file.flush()
    if (end := file.tell()) > since and hasattr(os, "posix_fadvise"):
        os.posix_fadvise(file.fileno(), since, end - since, os.POSIX_FADV_DONTNEED)
    return int(end)


def fsync_dir(path: str) -> None:
    """Makes a local folder's entries (a rename, a new file) durable; quietly nothing where the file
    system cannot."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicWriter:
    """A file that appears at ``location`` complete or not at all, with the SHA-256 of its bytes.

    Written under ``tmp_location`` (default: beside the target, with a unique suffix), then
    :meth:`commit` moves it into place: locally an fsync and a rename, on an object store a
    server-side copy of the completed object and the deletion of the temporary one. :meth:`abort`
    (also on leaving a ``with`` block by an exception) deletes the temporary file."""

    def __init__(self, location: str, tmp_location: str | None = None, *, checksum: bool = True,
                 link: str | None = None) -> None:
        """``link``: a local file whose bytes this file is to hold, taken by a hard link where the
        file system makes one (:attr:`linked`; nothing can then be written to it), else not used."""
        self.location = location
        self.tmp = tmp_location or f"{location}.tmp-{uuid.uuid4().hex[:12]}"
        #: None when no checksum was asked for (a file no manifest lists).
        self.digest: hashlib._Hash | None = hashlib.sha256() if checksum else None
        self.size = 0
        self._local = is_local(location)
        self.linked = False
        self._written_back = 0  # bytes the kernel was asked to start writing (_start_writeback)
        if self._local:
            make_dirs(parent(self.tmp))
            make_dirs(parent(location))
            # A temporary file left by an earlier attempt may be a second name of a work file: opening
            # it for writing would truncate that file.
            delete(self.tmp)
            self.linked = link is not None and checksum is False and _hard_link(link, local_path(self.tmp))
            if self.linked:
                self.size = os.path.getsize(local_path(self.tmp))
            mode = "rb" if self.linked else "wb"  # a linked file's bytes are another file's too
            self._file: Any = open(local_path(self.tmp), mode)  # noqa: SIM115 (closed by commit/abort)
        else:
            fs, path = _resolve(self.tmp)
            self._file = fs.open_output_stream(path, compression=None)  # no guessing from the name

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.digest is not None:
            self.digest.update(view)
        self._file.write(view)
        self.size += len(view)
        self._start_writeback()
        return len(view)

    def _start_writeback(self) -> None:
        """:func:`start_writeback` each ``WRITEBACK_BYTES``: :meth:`commit`'s fsync then finds little to write."""
        if self._local and self.size - self._written_back >= WRITEBACK_BYTES:
            self._written_back = start_writeback(self._file, self._written_back)

    def copy_from(self, src: str, offset: int, count: int) -> None:
        """Appends ``count`` bytes of the local file ``src`` from ``offset``: in the kernel when
        this file is local and no checksum is kept, else read and written in blocks."""
        from llamatok.preprocess.file_copy import copy_range, copy_range_to_file

        if self._local and self.digest is None:
            copy_range_to_file(src, offset, count, self._file)
            self.size += count
            self._start_writeback()
        else:
            copy_range(src, offset, count, self.write)

    # pyarrow's ParquetWriter writes through a file-like object: these make this one.
    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return self._file is None

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        """pyarrow closes its sink when a writer finishes: the data is committed separately."""

    @property
    def sha256(self) -> str:
        if self.digest is None:
            raise ValueError(f"{self.location}: written without a checksum")
        return self.digest.hexdigest()

    def commit(self) -> None:
        f, self._file = self._file, None
        if f is None:
            raise ValueError(f"{self.location}: already committed or aborted")
        if self._local:
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(local_path(self.tmp), local_path(self.location))
            fsync_dir(parent(self.location))
        else:
            f.close()  # completes the upload of the temporary object
            move(self.tmp, self.location)

    def abort(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        try:
            f.close()
        except Exception:  # the temporary object is deleted below either way
            pass
        delete(self.tmp)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is not None:
            self.abort()
        elif self._file is not None:
            self.commit()


def _hard_link(src: str, dst: str) -> bool:
    """Whether ``dst`` is now a second name of ``src`` (not where the file system has no hard links,
    or ``src`` is on another one)."""
    try:
        os.link(src, dst)
    except OSError:
        return False
    return True


def write_atomic(location: str, data: bytes, tmp_location: str | None = None) -> str:
    """Writes ``data`` all or nothing; returns its SHA-256."""
    with AtomicWriter(location, tmp_location) as w:
        w.write(data)
    return w.sha256


def move(src: str, dst: str) -> None:
    if is_local(src):
        os.replace(local_path(src), local_path(dst))
        return
    fs, a = _resolve(src)
    _, b = _resolve(dst)
    fs.move(a, b)


def delete(location: str) -> None:
    """Deletes a file; a missing one is not an error."""
    if is_local(location):
        try:
            os.unlink(local_path(location))
        except FileNotFoundError:
            pass
        return
    fs, path = _resolve(location)
    try:
        fs.delete_file(path)
    except FileNotFoundError:
        pass


def delete_tree(location: str) -> None:
    """Deletes a folder and everything in it; a missing one is not an error."""
    if is_local(location):
        import shutil

        shutil.rmtree(local_path(location), ignore_errors=True)
        fsync_dir(parent(location))
        return
    fs, path = _resolve(location)
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        pass
    except OSError:
        for rel, _, _ in list_tree(location):
            delete(join(location, rel))


def sha256_of(location: str) -> tuple[int, str]:
    """(size, SHA-256) of a file, read in large blocks."""
    digest = hashlib.sha256()
    size = 0
    with open_input(location) as f:
        while True:
            block = f.read(1 << 22)
            if not block:
                break
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()
