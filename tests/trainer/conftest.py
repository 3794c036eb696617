"""Fixtures of the trainer tests; makes ``trainer_helpers`` beside this file importable under importlib mode."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tiny_path() -> str:
    """The project's ``tiny`` model folder (random 4-block LLaMA on a real 32k SentencePiece tokenizer)."""
    from prom_bench.models import resolve

    return resolve("tiny").path
