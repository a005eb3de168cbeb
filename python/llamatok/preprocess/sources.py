"""What the inputs are: each input path, URI or Python object becomes a :class:`Source`.

A path may be local or a URI of an object store (``storage.py``); a glob (``data/*.jsonl.zst``,
``s3://bucket/corpus/**/*.parquet``) names every file it matches, sorted. A directory (a folder, or
a prefix on an object store) is walked recursively (sorted, so the order is the same on every
machine) and each file that the include/exclude globs accept is one document. Files are JSONL
(``.jsonl``, ``.json``, ``.ndjson``, optionally ``.gz`` or ``.zst``) or Parquet (``.parquet``).

Globs: a pattern without ``/`` is matched (``fnmatch``) against the name of each file (and, for
``--exclude``, of each folder, which prunes it); a pattern with ``/`` against the path relative to
the directory given, as input globs are read (``*`` and ``?`` within one folder, ``**/`` any folders
or none), a folder's path with or without its final ``/`` (``--exclude tests/fixtures`` prunes it).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from llamatok.preprocess import storage
from llamatok.preprocess.options import OptionsError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
COMPRESSIONS = {".gz": "gz", ".zst": "zst", ".zstd": "zst"}


@dataclass
class Source:
    """One input. ``kind`` is dir, jsonl, parquet, iterable or dataset."""

    kind: str
    name: str
    path: str | None = None  # a local path or a URI
    compression: str | None = None
    files: list[str] = field(default_factory=list)  # dir: absolute paths or URIs, in order
    sizes: list[int] = field(default_factory=list)  # dir: their sizes
    mtimes: list[int] = field(default_factory=list)  # dir: their modification times (ns)
    obj: Any = None
    size: int = -1  # bytes on disk (for progress), -1 when unknown
    mtime_ns: int = 0
    first_file: int = 0  # dir: the index of files[0] (a task holds only the files of its range)

    def fingerprint(self) -> list[Any]:
        """What identifies this input for ``--resume``: names, sizes and modification times."""
        if self.kind == "dir":
            digest = hashlib.sha256()
            for path, size, mtime in zip(self.files, self.sizes, self.mtimes):
                digest.update(f"{path}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
            return [self.kind, self.name, len(self.files), digest.hexdigest()]
        if self.path is not None:
            return [self.kind, self.path, self.size, self.mtime_ns]
        if self.kind == "dataset":
            return [self.kind, getattr(self.obj, "_fingerprint", None), len(self.obj)]
        return [self.kind, self.name]

    def window(self, first: int, stop: int) -> Source:
        """What a task reading positions ``first`` to ``stop`` needs of this source: a directory's
        files of that range only (a task's payload does not grow with the corpus)."""
        if self.kind != "dir":
            return self
        a, b = first - self.first_file, min(stop, self.first_file + len(self.files)) - self.first_file
        return replace(self, files=self.files[a:b], sizes=self.sizes[a:b], mtimes=self.mtimes[a:b], first_file=first)


class Texts:
    """An iterable of strings (or of dicts holding the ``json_keys``) given as input from Python."""

    def __init__(self, items: Any, name: str = "<texts>") -> None:
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise OptionsError(f"texts= must be an iterable of strings, not {type(items).__name__}")
        self.items = items
        self.name = name


def _matches(patterns: Sequence[str], name: str, rel: str) -> bool:
    """Whether a glob accepts an entry: one without ``/`` matches its name; one with ``/`` its path under
    the root as input globs read (``storage.glob_regex``: ``*`` within a folder, ``**/`` any folders or
    none), and a folder's path with or without its final ``/``, so ``tests/fixtures`` names that folder."""
    for p in patterns:
        if "/" not in p:
            if fnmatch.fnmatchcase(name, p):
                return True
            continue
        regex = _path_glob(p)
        if regex.fullmatch(rel) or (rel.endswith("/") and regex.fullmatch(rel[:-1])):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _path_glob(pattern: str) -> re.Pattern[str]:
    return storage.glob_regex(pattern.removeprefix("./"))


def own_output(location: str, prefix: str | None) -> bool:
    """Whether ``location`` is one of the job's own files: ``PREFIX`` with an extension the job writes
    (its outputs, rejects, summary, manifest, lock and work folder ``PREFIX.partial/``), also as
    ``PREFIX_KEY.*`` and as the shards ``PREFIX[_KEY]-TTTTT-PPP.*``; a user's ``PREFIX.py`` is not."""
    if not prefix:
        return False
    if storage.is_local(location):
        location, prefix = os.path.abspath(location), os.path.abspath(storage.local_path(prefix))
    return _under_prefix(location, prefix)


def _under_prefix(location: str, prefix: str) -> bool:
    """:func:`own_output` of locations already in the same form as ``prefix`` (absolute, or URIs)."""
    if not location.startswith(prefix):
        return False
    return bool(_OWN_SUFFIX.fullmatch(location[len(prefix):]))


#: What the job writes after its prefix (docs/shards.md), and inside its folders.
_OWN_EXTENSIONS = ("bin", "idx", "parquet", "npy", "csv.gz", "label_mask.npy", "ds", "ds.index", "ds.metadata",
                   "ds.loss", "mds", "litdata", "rejects.jsonl", "summary.json", "manifest.json", "lock", "partial")
_OWN_SUFFIX = re.compile(r"(_[^/]+)?(-\d{5,}-\d{3,})?\.(" + "|".join(map(re.escape, _OWN_EXTENSIONS))
                         + r")(\.tmp)?(/.*)?")


#: Version control's own folders, never part of a source tree's documents (their objects are not text).
VCS_FOLDERS = frozenset({".git", ".hg", ".svn"})


def walk(root: str, include: Sequence[str], exclude: Sequence[str],
         skip_prefix: str | None = None) -> tuple[list[str], list[int], list[int]]:
    """The files under ``root`` that the globs accept, sorted by relative path, with their sizes
    and modification times. The job's own outputs (:func:`own_output`) and version control's folders
    (:data:`VCS_FOLDERS`) are never read. A symbolic link to a file is read; one to a folder is not
    followed (as ``os.walk`` does)."""
    if not storage.is_local(root):
        return _walk_remote(root, include, exclude, skip_prefix)
    root = storage.local_path(root)
    # Each entry's absolute path is its folder's and its name, made once per folder (os.path.abspath per
    # entry cost more than the rest of the walk on a tree of many small files).
    prefix = os.path.abspath(storage.local_path(skip_prefix)) if skip_prefix else None
    found: list[tuple[tuple[str, ...], str, int, int]] = []
    folders = [(root, os.path.abspath(root), "")]
    while folders:
        path, absolute, rel_dir = folders.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                own = prefix is not None and _under_prefix(os.path.join(absolute, name), prefix)
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    rel = rel_dir + name + "/"
                    if (not own and name not in VCS_FOLDERS and not _matches(exclude, name, rel)
                            and not entry.is_symlink()):
                        folders.append((entry.path, os.path.join(absolute, name), rel))
                    continue
                rel = rel_dir + name
                if own or (include and not _matches(include, name, rel)) or _matches(exclude, name, rel):
                    continue
                try:
                    st = entry.stat()  # through a symbolic link
                except FileNotFoundError:  # a dangling symbolic link
                    continue
                if stat.S_ISREG(st.st_mode):
                    found.append((tuple(rel.split("/")), entry.path, st.st_size, st.st_mtime_ns))
    # Sorted by relative path, component by component: the same on every machine and file system.
    found.sort()
    return [f[1] for f in found], [f[2] for f in found], [f[3] for f in found]


def _walk_remote(root: str, include: Sequence[str], exclude: Sequence[str],
                 skip_prefix: str | None) -> tuple[list[str], list[int], list[int]]:
    """:func:`walk` on an object store: one recursive listing, then the same rules (a folder an
    exclude glob matches hides everything under it)."""
    root = root.rstrip("/")
    found: list[tuple[tuple[str, ...], str, int, int]] = []
    for rel, size, mtime in storage.list_tree(root):
        parts = rel.split("/")
        location = root + "/" + rel
        if own_output(location, skip_prefix) or VCS_FOLDERS.intersection(parts[:-1]):
            continue
        if any(_matches(exclude, parts[i], "/".join(parts[:i + 1]) + "/") for i in range(len(parts) - 1)):
            continue
        if include and not _matches(include, parts[-1], rel):
            continue
        if _matches(exclude, parts[-1], rel):
            continue
        found.append((tuple(parts), location, size, mtime))
    found.sort()
    return [f[1] for f in found], [f[2] for f in found], [f[3] for f in found]


def _file_source(path: str, found: storage.Info) -> Source:
    base, ext = os.path.splitext(storage.basename(path))
    compression = COMPRESSIONS.get(ext.lower())
    if compression:
        ext = os.path.splitext(base)[1]
    ext = ext.lower()
    if ext in JSONL_SUFFIXES:
        return Source("jsonl", path, path=path, compression=compression, size=found.size, mtime_ns=found.mtime_ns)
    if ext == ".parquet" and not compression:
        return Source("parquet", path, path=path, size=found.size, mtime_ns=found.mtime_ns)
    raise OptionsError(
        f"cannot tell the format of {path}: name JSONL files *.jsonl, *.json or *.ndjson (optionally "
        ".gz or .zst), Parquet files *.parquet, or a directory (one file = one document)"
    )


def is_hf_dataset(obj: Any) -> bool:
    return type(obj).__name__ == "Dataset" and type(obj).__module__.startswith("datasets")


def is_hf_iterable_dataset(obj: Any) -> bool:
    return type(obj).__name__ == "IterableDataset" and type(obj).__module__.startswith("datasets")


def _expand(location: str) -> list[tuple[str, storage.Info]]:
    """The files or folders a path, URI or glob names (a glob: every file it matches, sorted)."""
    try:
        found = storage.info(location)
    except OSError as e:
        raise OptionsError(f"cannot read the input {location}: {e}") from None
    if found.kind != "missing":
        return [(location, found)]
    if storage.has_magic(location):
        try:
            matches = storage.glob(location)
        except OSError as e:
            raise OptionsError(f"cannot list the input {location}: {e}") from None
        out = [(m, storage.info(m)) for m in matches]
        out = [(m, i) for m, i in out if i.kind == "file"]
        if out:
            return out
        raise OptionsError(f"no input matches {location}")
    raise OptionsError(f"no such input: {location}")


def discover(inputs: Sequence[Any], include: Sequence[str], exclude: Sequence[str],
             skip_prefix: str | None = None) -> list[Source]:
    """The sources named by ``inputs``, in order; a missing path is an :class:`OptionsError`. A glob
    or a folder never gives the job's own files (:func:`own_output`)."""
    sources: list[Source] = []
    for item in inputs:
        if isinstance(item, (str, os.PathLike)):
            named = _expand(os.fspath(item))
            if len(named) > 1 or named[0][0] != os.fspath(item):
                named = [(path, found) for path, found in named if not own_output(path, skip_prefix)]
                if not named:
                    raise OptionsError(f"{os.fspath(item)} matches only this job's own files")
            elif named[0][1].kind == "file" and own_output(named[0][0], skip_prefix):
                raise OptionsError(f"the input {os.fspath(item)} is named like this job's own files, which the job "
                                   "writes or removes: choose another --output-prefix")
            for path, found in named:
                if found.kind == "dir":
                    try:
                        files, sizes, mtimes = walk(path, include, exclude, skip_prefix)
                    except OSError as e:
                        raise OptionsError(f"cannot list the input {path}: {e}") from None
                    if not files:
                        raise OptionsError(f"{path}: no files match "
                                           f"(include {list(include) or ['*']}, exclude {list(exclude)})")
                    sources.append(Source("dir", path, files=files, sizes=sizes, mtimes=mtimes, size=sum(sizes)))
                else:
                    sources.append(_file_source(path, found))
        elif is_hf_dataset(item):
            sources.append(Source("dataset", f"<datasets.Dataset {getattr(item, '_fingerprint', '')}>", obj=item))
        elif is_hf_iterable_dataset(item):
            sources.append(Source("iterable", "<datasets.IterableDataset>", obj=item))
        elif isinstance(item, Texts):
            sources.append(Source("iterable", item.name, obj=item.items))
        else:
            raise OptionsError(
                f"an input must be a path, a URI or a datasets.Dataset/IterableDataset, not {type(item).__name__} "
                "(pass an iterable of strings as texts=...)"
            )
    if (include or exclude) and not any(s.kind == "dir" for s in sources):
        raise OptionsError("--include and --exclude choose the files of a directory input, and no input is one: "
                           "narrow a glob instead (e.g. 'data/**/*.jsonl'), or leave them out")
    return sources
