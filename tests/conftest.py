"""Shared test set-up: one thread per process (2-core machines), offline hub, the shared real data."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real XQuAD, MGSM, NTREX, FLORES, cloze); tests skip with a reason without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent: real benchmark data is only on the project's own machines")
    return SHARED_DATA
