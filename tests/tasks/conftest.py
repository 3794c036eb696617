"""Fixtures for the task tests: the tasks' own modules (the _prom_shared package the tasks' utils.py import) and local
data dirs; makes ``official_scripts`` beside this file importable under importlib mode."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_lm_eval_files reuses test_lm_eval_plain's runner

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "tasks"
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "tasks" / "data"
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))


def load_shared(name: str):
    """``tasks/_prom_shared/<name>.py``: the same module the tasks' utils.py import."""
    if str(TASKS) not in sys.path:
        sys.path.insert(0, str(TASKS))
    return importlib.import_module(f"_prom_shared.{name}")


@pytest.fixture(scope="session")
def scoring():
    return load_shared("scoring")


@pytest.fixture(scope="session")
def loaders():
    return load_shared("loaders")


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    """The MLQA and IndicQA fixtures (tests/fixtures/tasks/data), in the upstream layout."""
    return FIXTURE_DATA


@pytest.fixture
def cli_main(monkeypatch, capsys):
    """``prom-bench ARGS`` in-process: returns (exit code, stdout)."""
    from prom_bench.cli import main

    def run(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        return code, capsys.readouterr().out

    return run
