"""One job per output prefix: ``PREFIX.lock``, held for the whole run.

Two runs on one prefix would interleave their files and leave a corrupt dataset, so a second run
is refused at once with :class:`PrefixBusyError`.

- On a local file system the lock is an ``flock`` on ``PREFIX.lock``: the kernel releases it when
  the holder exits, however it exits, so a killed run never blocks the next one.
- On an object store, which has no locks, it is a lease: ``PREFIX.lock`` names its holder (host,
  pid, a random owner id) and the time of its last heartbeat, rewritten every quarter of the lease
  time (``LLAMATOK_LOCK_TTL`` seconds, default 60). A lease whose heartbeat is older than that, or
  whose holder is a dead process on this same host, is stale and taken over. A new holder writes
  its lease, waits a moment and reads it back, so of two runs that start together only the one
  whose write landed last goes on. The holder checks at every heartbeat that the lease is still
  its own and stops the job (:meth:`JobLock.check`) if another run took it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from llamatok.preprocess import storage
from llamatok.preprocess.errors import PrefixBusyError

DEFAULT_TTL = 60.0
#: How long a new lease holder waits before reading its lease back (longer than one request).
SETTLE_SECONDS = 1.0


def ttl_seconds() -> float:
    raw = os.environ.get("LLAMATOK_LOCK_TTL")
    try:
        return max(1.0, float(raw)) if raw else DEFAULT_TTL
    except ValueError:
        return DEFAULT_TTL


def _holder(owner: str) -> dict[str, Any]:
    now = time.time()
    return {"owner": owner, "host": socket.gethostname(), "pid": os.getpid(), "started": now, "heartbeat": now}


def _busy(prefix: str, holder: dict[str, Any] | None, extra: str = "") -> PrefixBusyError:
    who = "another llamatok preprocess"
    if holder:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
        who += f" (pid {holder.get('pid')} on {holder.get('host')}, started {started})"
    return PrefixBusyError(f"{prefix} is being written by {who}{extra}; wait for it to finish or stop it, "
                           "or choose another --output-prefix")


def _process_is_dead(holder: dict[str, Any]) -> bool:
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder.get("pid", -1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


class JobLock:
    """Held from :meth:`acquire` until :meth:`release`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.location = prefix + ".lock"
        self.owner = uuid.uuid4().hex
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: str | None = None
        self.ttl = ttl_seconds()

    @classmethod
    def acquire(cls, prefix: str) -> JobLock:
        lock = cls(prefix)
        if storage.is_local(prefix) and _has_flock():
            lock._acquire_flock()
        else:
            lock._acquire_lease()
        return lock

    # -- local: flock ----------------------------------------------------------------------------

    def _acquire_flock(self) -> None:
        import fcntl

        path = storage.local_path(self.location)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_json_fd(fd)
                os.close(fd)
                raise _busy(self.prefix, holder) from None
            # The holder before us may have deleted the file between our open and our flock:
            # then we hold a lock on a file nobody else will open, so start again.
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(_holder(self.owner)).encode())
        self._fd = fd

    # -- object stores: a lease ------------------------------------------------------------------

    def _read_lease(self) -> dict[str, Any] | None:
        try:
            lease: dict[str, Any] = json.loads(storage.read_bytes(self.location))
            return lease
        except FileNotFoundError:
            return None
        except ValueError:  # not ours, or torn: treat as absent only if old enough (below)
            return {"owner": "?", "heartbeat": 0}

    def _acquire_lease(self) -> None:
        current = self._read_lease()
        if current is not None and not self._stale(current):
            raise _busy(self.prefix, current, f", last heartbeat {time.time() - float(current['heartbeat']):.0f} s ago")
        mine = _holder(self.owner)
        mine["ttl"] = self.ttl
        storage.write_atomic(self.location, json.dumps(mine).encode())
        time.sleep(SETTLE_SECONDS)
        now = self._read_lease()
        if not now or now.get("owner") != self.owner:
            raise _busy(self.prefix, now, " (it started at the same moment)")
        self._thread = threading.Thread(target=self._heartbeat, args=(mine,), name="llamatok-lock", daemon=True)
        self._thread.start()

    def _stale(self, lease: dict[str, Any]) -> bool:
        ttl = float(lease.get("ttl", self.ttl))
        return time.time() - float(lease.get("heartbeat", 0)) > ttl or _process_is_dead(lease)

    def _heartbeat(self, mine: dict[str, Any]) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                now = self._read_lease()
                if not now or now.get("owner") != self.owner:
                    self._lost = f"{self.location} was taken over by {now.get('host') if now else 'nobody'}"
                    return
                mine["heartbeat"] = time.time()
                storage.write_atomic(self.location, json.dumps(mine).encode())
            except OSError:  # a passing store error: the next beat tries again, well within the lease
                continue

    # -- both ------------------------------------------------------------------------------------

    def check(self) -> None:
        """Raises :class:`PrefixBusyError` when another run took the lease over."""
        if self._lost:
            raise PrefixBusyError(f"stopped: {self._lost} (this run's lease lapsed); no two runs may write one prefix")

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.unlink(storage.local_path(self.location))
            except FileNotFoundError:
                pass
            os.close(fd)  # closing the descriptor releases the flock
            return
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            try:
                now = self._read_lease()
                if now and now.get("owner") == self.owner:
                    storage.delete(self.location)
            except OSError:
                pass

    def __enter__(self) -> JobLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _has_flock() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:  # Windows: the lease works on any file system
        return False
    return True


def _read_json_fd(fd: int) -> dict[str, Any] | None:
    try:
        data = os.pread(fd, 4096, 0)
        return json.loads(data) if data else None
    except (OSError, ValueError):
        return None
