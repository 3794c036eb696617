"""Child processes die with their parent; a terminated run leaves no process behind.

Three layers, because no single one covers every way a run ends:
- ``die_with_parent`` (in each worker and the queue manager): on Linux the kernel sends SIGKILL when the
  parent dies (``PR_SET_PDEATHSIG``), whatever killed it, ``kill -9`` included; a watch thread that polls
  the parent's pid does the same elsewhere (and catches a parent that died before the first check).
- ``signals_as_exceptions`` (in the parent): SIGTERM and SIGHUP raise ``Terminated``, so ``finally``
  blocks run: stages are removed, and the pool below stops its workers instead of waiting for them.
- ``stop_pool``: kill a process pool's workers now (``shutdown(wait=True)`` would let them finish their
  units, writing results after the run was stopped).
The multiprocessing resource tracker exits by itself once every process that holds its pipe is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

_PR_SET_PDEATHSIG = 1


class Terminated(BaseException):
    """The run received SIGTERM or SIGHUP (a BaseException, so that library ``except Exception`` lets it by)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


def die_with_parent(parent_pid: int, *, poll_s: float = 0.5) -> None:
    """Make this process exit when ``parent_pid`` (its parent) exits; call first thing in a child."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@contextlib.contextmanager
def signals_as_exceptions(signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Within the block, the given signals raise ``Terminated`` in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def stop_pool(pool: Any) -> None:
    """Kill a ``ProcessPoolExecutor``'s workers now and drop its queued work."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)
