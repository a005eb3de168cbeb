"""What the inputs are: each input path or Python object becomes a :class:`Source`.

A directory is walked recursively (sorted, so the order is the same on every machine) and each
file that the include/exclude globs accept is one document. Files are JSONL (``.jsonl``,
``.json``, ``.ndjson``, optionally ``.gz`` or ``.zst``) or Parquet (``.parquet``).

Globs (``fnmatch``, where ``*`` also crosses ``/``): a pattern without ``/`` is matched against the
name of each file (and, for ``--exclude``, of each folder, which prunes it); a pattern with ``/``
is matched against the path relative to the directory given (folders get a trailing ``/``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

from llamatok.preprocess.options import OptionsError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
COMPRESSIONS = {".gz": "gz", ".zst": "zst", ".zstd": "zst"}


@dataclass
class Source:
    """One input. ``kind`` is dir, jsonl, parquet, iterable or dataset."""

    kind: str
    name: str
    path: Optional[str] = None
    compression: Optional[str] = None
    files: List[str] = field(default_factory=list)  # dir: absolute paths, in order
    sizes: List[int] = field(default_factory=list)  # dir: their sizes
    obj: Any = None
    size: int = -1  # bytes on disk (for progress), -1 when unknown

    def fingerprint(self) -> list:
        """What identifies this input for ``--resume``: names, sizes and modification times."""
        if self.kind == "dir":
            digest = hashlib.sha256()
            for path, size in zip(self.files, self.sizes):
                st = os.stat(path)
                digest.update(f"{path}\0{size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            return [self.kind, self.name, len(self.files), digest.hexdigest()]
        if self.path is not None:
            st = os.stat(self.path)
            return [self.kind, self.path, st.st_size, st.st_mtime_ns]
        if self.kind == "dataset":
            return [self.kind, getattr(self.obj, "_fingerprint", None), len(self.obj)]
        return [self.kind, self.name]


class Texts:
    """An iterable of strings (or of dicts holding the ``json_keys``) given as input from Python."""

    def __init__(self, items: Any, name: str = "<texts>") -> None:
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise OptionsError(f"texts= must be an iterable of strings, not {type(items).__name__}")
        self.items = items
        self.name = name


def _matches(patterns: Sequence[str], name: str, rel: str) -> bool:
    for p in patterns:
        if fnmatch.fnmatchcase(rel if "/" in p else name, p):
            return True
    return False


def walk(root: str, include: Sequence[str], exclude: Sequence[str], skip_prefix: Optional[str] = None) -> Tuple[List[str], List[int]]:
    """The files under ``root`` that the globs accept, sorted by relative path, with their sizes.
    Files named ``skip_prefix.*`` (this job's own outputs and work folder) are never read."""
    own = os.path.abspath(skip_prefix) + "." if skip_prefix else None
    found: List[Tuple[Tuple[str, ...], str, int]] = []

    def on_error(err: OSError) -> None:
        raise err

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [d for d in dirnames if not _matches(exclude, d, rel_dir + d + "/")
                       and not (own and os.path.abspath(os.path.join(dirpath, d)).startswith(own))]
        for name in filenames:
            rel = rel_dir + name
            if own and os.path.abspath(os.path.join(dirpath, name)).startswith(own):
                continue
            if include and not _matches(include, name, rel):
                continue
            if _matches(exclude, name, rel):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:  # a dangling symbolic link
                continue
            if not os.path.isfile(path):
                continue
            found.append((tuple(rel.split("/")), path, st.st_size))
    # Sorted by relative path, component by component: the same on every machine and file system.
    found.sort()
    return [f[1] for f in found], [f[2] for f in found]


def _file_source(path: str) -> Source:
    base, ext = os.path.splitext(path)
    compression = COMPRESSIONS.get(ext.lower())
    if compression:
        ext = os.path.splitext(base)[1]
    ext = ext.lower()
    size = os.path.getsize(path)
    if ext in JSONL_SUFFIXES:
        return Source("jsonl", path, path=path, compression=compression, size=size)
    if ext == ".parquet" and not compression:
        return Source("parquet", path, path=path, size=size)
    raise OptionsError(
        f"cannot tell the format of {path}: name JSONL files *.jsonl, *.json or *.ndjson (optionally "
        ".gz or .zst), Parquet files *.parquet, or a directory (one file = one document)"
    )


def _is_hf_dataset(obj: Any) -> bool:
    return type(obj).__name__ == "Dataset" and type(obj).__module__.startswith("datasets")


def discover(inputs: Sequence[Any], include: Sequence[str], exclude: Sequence[str], skip_prefix: Optional[str] = None) -> List[Source]:
    """The sources named by ``inputs``, in order; a missing path is an :class:`OptionsError`."""
    sources: List[Source] = []
    for item in inputs:
        if isinstance(item, (str, os.PathLike)):
            path = os.fspath(item)
            if os.path.isdir(path):
                files, sizes = walk(path, include, exclude, skip_prefix)
                if not files:
                    raise OptionsError(f"{path}: no files match (include {list(include) or ['*']}, exclude {list(exclude)})")
                sources.append(Source("dir", path, files=files, sizes=sizes, size=sum(sizes)))
            elif os.path.isfile(path):
                sources.append(_file_source(path))
            else:
                raise OptionsError(f"no such input: {path}")
        elif _is_hf_dataset(item):
            sources.append(Source("dataset", f"<datasets.Dataset {getattr(item, '_fingerprint', '')}>", obj=item))
        elif isinstance(item, Texts):
            sources.append(Source("iterable", item.name, obj=item.items))
        else:
            raise OptionsError(
                f"an input must be a path or a datasets.Dataset, not {type(item).__name__} "
                "(pass an iterable of strings as texts=...)"
            )
    return sources
