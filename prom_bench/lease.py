"""Leases: exclusive ownership of a piece of work that holds on a shared (NFS) filesystem.

``flock``/``fcntl`` locks are not reliable across machines on NFS (lockd may be absent, locks vanish with a
client's lease, and several clients have been seen to hold the "same" lock), so ownership is a file:

* **acquire**: write ``<name>.lease.<token>`` (a unique temporary name) with the owner (host, pid, job id),
  then ``os.link`` it to ``<name>.lease``. ``link`` is atomic on NFS (v3 and v4): exactly one of several
  racing owners succeeds, the others get ``EEXIST`` (the classic NFS-safe lock recipe; ``O_CREAT|O_EXCL``
  is only atomic on NFSv3+ servers, ``link`` everywhere). A lost reply is detected by the link count of the
  temporary file being 2.
* **heartbeat**: while held, a thread touches the lease every ``heartbeat_s`` seconds.
* **stale takeover**: a lease whose modification time has not changed for ``stale_s`` seconds *as seen by
  the waiter* is stale (its owner died: a killed job, a lost machine). Measuring the absence of change on
  the waiter's own monotonic clock needs no agreement between the clocks of machines. A lease that names
  a dead process on this host, or this very SLURM job (a requeued job's earlier life), is stale at once.
  Takeover renames the stale lease to a unique name, then checks that the renamed file still holds the
  owner it judged stale; if another waiter renewed it in between, it is put back and the wait continues.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path


class LeaseLost(RuntimeError):
    """The lease was taken over while held (its heartbeat stopped for longer than the stale time)."""


def slurm_job_id() -> str | None:
    """This SLURM job's id as ``squeue`` and submitit name it (``<array>_<index>`` for an array task)."""
    if os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def owner_info() -> dict:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "job": slurm_job_id(),
        "restart": os.environ.get("SLURM_RESTART_COUNT", "0"),
        "token": uuid.uuid4().hex,
        "since": time.time(),
    }


class Lease:
    """``with Lease(path):`` holds ``path`` exclusively (waiting for it), heart-beating until released."""

    def __init__(self, path: Path, *, heartbeat_s: float = 10.0, stale_s: float = 60.0, poll_s: float = 0.5):
        self.path = Path(path)
        self.heartbeat_s, self.stale_s, self.poll_s = heartbeat_s, stale_s, poll_s
        self.owner: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- acquire / release ----------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """One attempt, no waiting: True when this process now holds the lease."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner = owner_info()
        tmp = self.path.with_name(f"{self.path.name}.{owner['token']}")
        tmp.write_text(json.dumps(owner))
        try:
            os.link(tmp, self.path)
            won = True
        except FileExistsError:
            won = False
        except OSError:
            won = tmp.stat().st_nlink == 2  # the link was made but its reply was lost
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if won:
            self.owner = owner
            self._start_heartbeat()
        return won

    def acquire(self, timeout: float | None = None) -> None:
        seen: tuple | None = None  # (mtime_ns, content) of the current holder, and when we first saw it
        since = time.monotonic()
        began = since
        while not self.try_acquire():
            holder = read(self.path)
            try:
                stamp = (self.path.stat().st_mtime_ns, json.dumps(holder, sort_keys=True))
            except FileNotFoundError:
                continue
            if stamp != seen:
                seen, since = stamp, time.monotonic()
            if holder is not None and (_dead(holder) or time.monotonic() - since >= self.stale_s):
                self._take_over(holder)
                seen = None
                continue
            if timeout is not None and time.monotonic() - began > timeout:
                raise TimeoutError(f"lease {self.path} is held by {holder}")
            time.sleep(self.poll_s)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.owner is not None and (read(self.path) or {}).get("token") == self.owner["token"]:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.owner = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # --- internals ------------------------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease:{self.path.name}", daemon=True)
        self._thread.start()

    @property
    def lost(self) -> bool:
        """True when the lease file no longer names this holder (taken over after a stall)."""
        return self.owner is not None and (read(self.path) or {}).get("token") != self.owner["token"]

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if self.lost:
                return  # never touch a lease that is someone else's now
            with contextlib.suppress(FileNotFoundError):
                os.utime(self.path)  # no explicit time: on NFS the server stamps it, on its own clock

    def _take_over(self, holder: dict) -> None:
        grave = self.path.with_name(f"{self.path.name}.stale.{uuid.uuid4().hex}")
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return  # released or taken over by someone else meanwhile: try again
        if read(grave) != holder:  # renewed by a faster waiter between our look and our rename: give it back
            try:
                os.link(grave, self.path)
            except FileExistsError:
                pass
        with contextlib.suppress(FileNotFoundError):
            grave.unlink()


def read(path: Path) -> dict | None:
    """The owner recorded in a lease file, or None (absent or being written)."""
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def held(path: Path, *, stale_s: float = 60.0) -> dict | None:
    """The owner of a live lease, judged at one glance (for ``status``): the file's age on this machine's clock."""
    owner = read(path)
    if owner is None or _dead(owner):
        return None
    try:
        age = time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return None
    return owner if age < stale_s else None


def _dead(owner: dict) -> bool:
    """Known dead without waiting: a process of this host that is gone, or an earlier life of this SLURM job."""
    job = slurm_job_id()
    if job and owner.get("job") == job and owner.get("restart") != os.environ.get("SLURM_RESTART_COUNT", "0"):
        return True
    if owner.get("host") == socket.gethostname():
        try:
            os.kill(int(owner["pid"]), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, KeyError, ValueError, TypeError):
            return False
    return False
