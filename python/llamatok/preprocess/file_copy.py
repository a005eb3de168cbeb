"""Copying a byte range of a local file into an output without passing it through Python: the
single-file run's trainer formats whose ids are stored flat (``npy``, ``datatrove``, ``litdata``)
take them from the work folder's ids file this way (docs/shards.md, "How the formats are written").

On Linux ``os.copy_file_range`` copies in the kernel (a reflink where the file system shares
blocks); elsewhere, or where the kernel refuses the pair of files, the range is read and written in
blocks.
"""

from __future__ import annotations

import errno
import os
from typing import BinaryIO, Callable

BLOCK = 1 << 22
#: What ``copy_file_range`` answers where it cannot copy between these two files (another file
#: system on older kernels, a file system without support, no such call).
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def copy_range(src: str, offset: int, count: int, write: Callable[[memoryview], object]) -> None:
    """Gives ``write`` the ``count`` bytes of ``src`` from ``offset``, in blocks."""
    end = offset + count
    with open(src, "rb") as f:
        f.seek(offset)
        while count:
            block = f.read(min(BLOCK, count))
            if not block:
                raise OSError(errno.EIO, f"{src} ends before byte {end}")
            write(memoryview(block))
            count -= len(block)


def copy_range_to_file(src: str, offset: int, count: int, dst: BinaryIO) -> None:
    """Appends ``count`` bytes of ``src`` from ``offset`` to the open file ``dst``, in the kernel
    where it can."""
    dst.flush()
    end = offset + count
    copy = getattr(os, "copy_file_range", None)
    with open(src, "rb") as f:
        while count and copy is not None:
            try:
                done = copy(f.fileno(), dst.fileno(), count, offset)
            except OSError as e:
                if e.errno not in _UNSUPPORTED:
                    raise
                break
            if done == 0:
                raise OSError(errno.EIO, f"{src} ends before byte {end}")
            offset += done
            count -= done
    dst.seek(0, os.SEEK_END)  # the buffered file learns where the kernel left the offset
    if count:
        copy_range(src, offset, count, dst.write)
