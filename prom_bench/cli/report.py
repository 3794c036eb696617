"""Commands: report (see module docstring once filled)."""

from prom_bench.cli.app import app  # noqa: F401
