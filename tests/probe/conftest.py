"""Fixtures of the probe tests: a fresh cache folder (the tiny model's fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def probe_home(tmp_path, monkeypatch):
    """A fresh cache folder for probe decisions (models stay where they are)."""
    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
