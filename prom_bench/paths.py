"""Where prom-bench finds its bundled folders and keeps its cache.

From a checkout, ``tasks/`` and ``leaderboards/`` sit beside the package; from an installed wheel they
travel inside it (``prom_bench/_bundled``, see pyproject.toml). Both layouts resolve here, once.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent
_BUNDLED = PACKAGE_DIR / "_bundled"


def _bundled(name: str) -> Path:
    for root in (_CHECKOUT, _BUNDLED):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(
        f"prom-bench is installed without its '{name}' folder (looked in {_CHECKOUT} and {_BUNDLED})"
    )


def tasks_dir() -> Path:
    """The lm-eval task folder (``--include_path`` for lm-eval)."""
    return _bundled("tasks")


def paper_leaderboard_dir() -> Path:
    """The paper's own results, as records (``leaderboards/paper``)."""
    return _bundled("leaderboards") / "paper"


def demo_data_dir() -> Path:
    """The project's own demo data (instructions, parallel text, evaluation sets, cloze sets)."""
    return PACKAGE_DIR / "demo_data"


def cache_dir() -> Path:
    """Models converted once, probe decisions, translation caches. ``PROM_BENCH_HOME`` overrides."""
    root = (
        os.environ.get("PROM_BENCH_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "prom-bench"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
