"""``prom-bench``: the command line. Thin: each command parses, calls one function, prints.

Errors a user can cause (``UserError``) print one line and exit 2; nothing else is caught here.
"""

from __future__ import annotations

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


def main(argv: list[str] | None = None) -> None:
    """Entry point. Typer handles its own usage errors (exit 2); ours are ``UserError``."""
    try:
        app(args=argv, prog_name="prom-bench")
    except UserError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
