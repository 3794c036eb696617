"""``prom-bench``: the command line. Thin: each command parses, calls one function, prints.

Errors a user can cause (``UserError``) print one line and exit 2. Two failures of the machine, not the
user, are one line too: a full or read-only disk (exit 1; every write is staged, so nothing is half-written
and a rerun continues), and SIGTERM/SIGHUP (exit 128 + the signal; child processes are stopped first).
Nothing else is caught here.
"""

from __future__ import annotations

import errno
import os
import sys

# prom-bench shows its own rich progress; the tqdm bars of lm-eval, transformers and datasets would tear
# it. tqdm reads this once, at import, so it is set before any of them loads (TQDM_DISABLE=0 shows them).
os.environ.setdefault("TQDM_DISABLE", "1")

from rich.console import Console

# Importing a command module registers its commands on ``app``.
from prom_bench.cli import data, evaluate, probe, report, run, tasks, train  # noqa: F401
from prom_bench.cli.app import app
from prom_bench.errors import UserError
from prom_bench.processes import Terminated, signals_as_exceptions

# Errors of the destination, not of the program: reported in one line, without a traceback.
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def main(argv: list[str] | None = None) -> None:
    """Entry point. Typer handles its own usage errors (exit 2); ours are ``UserError``."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        with signals_as_exceptions():
            app(args=argv, prog_name="prom-bench")
    except UserError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except Terminated as exc:
        err.print(f"error: {exc}; work finished so far is kept, a rerun continues from there", markup=False)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        err.print(
            f"error: {exc.strerror}{where}; nothing was half-written: free space (or make it writable) and rerun",
            markup=False,
        )
        sys.exit(1)
