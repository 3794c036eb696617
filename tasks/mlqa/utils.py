"""lm-eval hooks of the MLQA tasks: lm-eval resolves ``!function utils.X`` next to the YAML, and the code
itself is shared by the four families in ``tasks/_prom_shared``. No prom-bench import.
"""

import sys
from pathlib import Path

_TASKS = str(Path(__file__).resolve().parents[1])  # tasks/, which holds the _prom_shared package
if _TASKS not in sys.path:
    sys.path.insert(0, _TASKS)

from _prom_shared.hooks import load_squad_style as load_dataset  # noqa: E402,F401
from _prom_shared.hooks import qa_process_results  # noqa: E402


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """Language-aware EM/F1 and the paper's MLQA EM/F1 (``paper_*``) of one generated answer."""
    return qa_process_results(doc, results, "mlqa")
