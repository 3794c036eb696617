"""``prom-bench``: the command line. Thin: each command parses, calls one function, prints.

Errors a user can cause print one line, ``error: ...``, on stderr and exit 2: our own (``UserError``) and
click's usage errors (an unknown option, a value out of range), which click would otherwise draw as a
multi-line box. Two failures of the machine, not the user, are one line too: a full or read-only disk (exit 1;
every write is staged, so nothing is half-written and a rerun continues), and SIGTERM/SIGHUP (exit 128 + the
signal; child processes are stopped first). Nothing else is caught here.
"""

from __future__ import annotations

import errno
import os
import sys

# prom-bench shows its own rich progress; the tqdm bars of lm-eval, transformers and datasets would tear
# it. tqdm reads this once, at import, so it is set before any of them loads (TQDM_DISABLE=0 shows them).
os.environ.setdefault("TQDM_DISABLE", "1")

import typer
from rich.console import Console

# Importing a command module registers its commands on ``app``.
from prom_bench.cli import data, evaluate, languages, probe, report, run, study, tasks, train  # noqa: F401
from prom_bench.cli.app import app
from prom_bench.errors import UserError
from prom_bench.processes import Terminated, signals_as_exceptions

# Errors of the destination, not of the program: reported in one line, without a traceback.
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)

# typer ships its own copy of click; its exception classes are these (typer re-exports only Abort and Exit).
try:
    from typer._click import exceptions as click_errors
except ImportError:  # typer before it vendored click
    from click import exceptions as click_errors


def main(argv: list[str] | None = None) -> None:
    """Entry point. Usage errors and ``UserError`` are one line on stderr and exit 2."""
    try:
        with signals_as_exceptions():
            code = app(args=argv, prog_name="prom-bench", standalone_mode=False)
    except UserError as exc:
        _fail(str(exc), exc.exit_code)
    except Terminated as exc:
        _fail(f"{exc}; work finished so far is kept, a rerun continues from there", exc.exit_code)
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror}{where}; nothing was half-written: free space (or make it writable) and rerun", 1)
    except click_errors.NoArgsIsHelpError as exc:  # a bare group: its help, as click would show it
        print(exc.ctx.get_help(), file=sys.stderr)
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} -h')" if exc.ctx is not None else ""
        _fail(exc.format_message() + where, exc.exit_code)
    except click_errors.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    # As in click's standalone mode, always leave through SystemExit (typer.Exit(n) returns n here).
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    line = " ".join(message.split())  # one line, whatever the message held
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {line}", markup=False)
    sys.exit(code)
