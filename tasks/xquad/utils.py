"""lm-eval hooks for this task family: the dataset loader and per-item scoring (pure functions).

The code is shared by the four families and lives in ``../_shared`` (scoring.py, loaders.py); lm-eval
resolves ``!function utils.X`` next to the YAML, so each family keeps this small ``utils.py``. No prom-bench
import: the tasks run under plain ``lm_eval --include_path tasks/``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _shared(name: str):
    """Import ``tasks/_shared/<name>.py`` once per process, by path (tasks/ is not a package)."""
    key = f"prom_bench_tasks_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).resolve().parent.parent / "_shared" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


scoring = _shared("scoring")
loaders = _shared("loaders")

load_dataset = loaders.load_squad_style


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """EM and F1 of the generated answer against every gold answer (max), in the document's language."""
    return scoring.qa_scores(results[0], doc["answers"]["text"], doc["lang"])
