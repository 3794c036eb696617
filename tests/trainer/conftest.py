"""Fixtures of the trainer tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_path() -> str:
    """The project's ``tiny`` model folder (random 4-block LLaMA on a real 32k SentencePiece tokenizer)."""
    from prom_bench.models import resolve

    return resolve("tiny").path
