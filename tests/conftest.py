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
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "tasks" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real XQuAD, MGSM, NTREX, FLORES, cloze); tests skip with a reason without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent: real benchmark data is only on the project's own machines")
    return SHARED_DATA


@pytest.fixture(scope="session")
def local_data(tmp_path_factory, shared_data) -> Path:
    """A data dir in the upstream layout (tasks and evaluation tests): real XQuAD and MGSM from ../shared/data,
    the MLQA/IndicQA fixtures."""
    root = tmp_path_factory.mktemp("data")
    (root / "xquad").symlink_to(shared_data / "xquad", target_is_directory=True)
    (root / "mgsm").symlink_to(shared_data / "mgsm", target_is_directory=True)
    (root / "mlqa").symlink_to(FIXTURE_DATA / "mlqa", target_is_directory=True)
    (root / "indicqa").symlink_to(FIXTURE_DATA / "indicqa", target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def tiny_model() -> str:
    from prom_bench.models import resolve

    return resolve("tiny").path


@pytest.fixture(scope="session")
def tiny_ref():
    from prom_bench.models import resolve

    return resolve("tiny")


@pytest.fixture(scope="session")
def tiny(tiny_ref):
    """The tiny model (random 4-layer LLaMA on Mistral's SentencePiece tokenizer) as ``(model, tokenizer)``;
    tests must not change the model's weights or flags."""
    from prom_bench.models import load

    return load(tiny_ref)
