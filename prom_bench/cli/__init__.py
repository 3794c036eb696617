"""``prom-bench``: the command line. Thin: each command parses, calls one function, prints.

Errors a user can cause (``UserError``) print one line and exit 2; nothing else is caught here.
"""

from __future__ import annotations

import sys

from rich.console import Console

from prom_bench.cli.app import app
from prom_bench.errors import UserError

# Importing a command module registers its commands on ``app``.
from prom_bench.cli import data, evaluate, probe, report, run, tasks, train  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point. Typer handles its own usage errors (exit 2); ours are ``UserError``."""
    try:
        app(args=argv, prog_name="prom-bench")
    except UserError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
