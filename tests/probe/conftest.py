"""Fixtures of the probe tests: the tiny model (random 4-layer LLaMA on Mistral's SentencePiece tokenizer)."""

from __future__ import annotations

import pytest

from prom_bench.models import load, resolve


@pytest.fixture(scope="session")
def tiny_ref():
    return resolve("tiny")


@pytest.fixture(scope="session")
def tiny(tiny_ref):
    """``(model, tokenizer)``; tests must not change the model's weights or flags."""
    return load(tiny_ref)


@pytest.fixture
def probe_home(tmp_path, monkeypatch):
    """A fresh cache folder for probe decisions (models stay where they are)."""
    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
