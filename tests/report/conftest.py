"""Shared pieces of the reporting tests: the checkout's folders and a runner for the CLI entry point."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

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
def cli(tmp_path, monkeypatch, capsys):
    """Run ``prom-bench ARGS`` in-process through ``prom_bench.cli.main`` (the console script's function).

    Returns an object with ``returncode``, ``stdout`` and ``stderr``, like ``subprocess.run``. In-process
    keeps the suite fast; ``test_report_cli`` also runs the installed ``prom-bench`` script once.
    """
    import prom_bench.cli.report  # noqa: F401  (registers `table` and `report`, as cli/__init__ does)
    from prom_bench.cli import main

    def run(*args, cwd: Path | None = None) -> SimpleNamespace:
        monkeypatch.chdir(cwd or tmp_path)
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)

    return run
