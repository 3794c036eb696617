"""Fixtures of the fault suite; makes ``fault_helpers`` beside this file importable under importlib mode."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_helpers import tmpfs_mounts


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size, ro=False) -> Path``: a real small tmpfs mount (skips when mounting is not allowed)."""
    yield from tmpfs_mounts(tmp_path)
