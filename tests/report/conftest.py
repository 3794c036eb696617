"""Shared pieces of the reporting tests: the checkout's folders and a runner for the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAPER_DIR = ROOT / "leaderboards" / "paper"
FIXTURE_RUNS = ROOT / "tests" / "fixtures" / "report" / "runs"


@pytest.fixture(scope="session")
def paper_dir() -> Path:
    """The paper's records (``leaderboards/paper``)."""
    return PAPER_DIR


@pytest.fixture(scope="session")
def fixture_runs() -> Path:
    """Synthetic run records with per-item samples (``tests/fixtures/report/runs``)."""
    return FIXTURE_RUNS


@pytest.fixture
def cli(tmp_path):
    """Run ``prom-bench ...`` through ``prom_bench.cli.main`` in a subprocess: (returncode, stdout, stderr)."""
    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        # Importing the command module registers `table` and `report` on the app, as cli/__init__ does.
        code = "import sys, prom_bench.cli.report; from prom_bench.cli import main; main(sys.argv[1:])"
        return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd or tmp_path,
                              capture_output=True, text=True, timeout=120)
    return run
