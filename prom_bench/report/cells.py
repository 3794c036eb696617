"""The paper's table cells and how records are chosen to fill them.

A *cell* is one benchmark on one language (``prom_xquad_th``); which cells exist and their metrics come from
the language table and the benchmark registry (``prom_bench/benchmarks.py``). Tables 1-3 use one record per
(model, method, cell): when a cell has records with several settings (a Table 4 sweep beside the main run)
the main run is the settings that cover the most cells of that model and method; the others are left to Table 4.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from prom_bench.benchmarks import BENCHMARKS, METRIC_LABEL, Cell, target_cells  # noqa: F401 (the tables' names)
from prom_bench.methods import METHODS
from prom_bench.results import latest_records

ALL_CELLS = target_cells()  # the cells of Tables 1-3 (the paper's 11 with the built-in language table)
QA_CELLS = tuple(c for c in ALL_CELLS if BENCHMARKS[c.benchmark].kind == "qa")  # Table 1
MGSM_CELLS = tuple(c for c in ALL_CELLS if BENCHMARKS[c.benchmark].kind == "math")  # Table 2
BENCH_LABEL = {family: b.label for family, b in BENCHMARKS.items()}
# Row order of Tables 1-3 (the paper lists PROM first and the untrained model last).
METHOD_ORDER = ("prom", "prom-noreg", "t+e", "t", "base")
BASELINE = "t+e"
PAPER_MODEL = "LLaMA2-7B"


def method_label(method: str) -> str:
    """The paper's name of a method (``PROM``, ``xLLAMA2(t+e)``), or the name itself if unregistered."""
    entry = METHODS.get(method)
    return entry.paper_name if entry else method


def method_rank(method: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method)


def is_pivot_method(method: str) -> bool:
    entry = METHODS.get(method)
    return bool(entry and entry.objective == "pivot")


def lambda_zero(record: dict) -> bool:
    """The paper's asterisk: a pivot method whose pivot weight lambda was 0 (regulation found no pivot)."""
    if not is_pivot_method(record["method"]):
        return False
    settings = record.get("settings") or {}
    weight = settings.get("pivot_weight")
    return settings.get("regulation") == "no-pivot" or (weight is not None and float(weight) == 0.0)


def models_in(records: list[dict]) -> list[str]:
    """Models in first-seen order, the paper's model last (so --compare rows read run first, paper after)."""
    seen = list(dict.fromkeys(r["model"] for r in records))
    return sorted(seen, key=lambda m: m == PAPER_MODEL)


@dataclass
class Selection:
    """The chosen record of each (model, method, task), and what was left out for Table 4."""

    chosen: dict[tuple[str, str, str], dict]
    main_settings: dict[tuple[str, str], str]  # (model, method) -> settings_id of the main run
    other_settings: dict[tuple[str, str], set[str]]  # settings seen beside the main run's
    main_is_clear: dict[tuple[str, str], bool]  # False in a pure sweep: no setting covers more cells

    def get(self, model: str, method: str, task: str) -> dict | None:
        return self.chosen.get((model, method, task))

    def methods(self, model: str) -> list[str]:
        return sorted({m for (mo, m, _t) in self.chosen if mo == model}, key=method_rank)


def _run(record: dict) -> tuple[str, str, str]:
    """The run a record belongs to: (model, method, settings_id)."""
    return (record["model"], record["method"], record["settings_id"])


def select(records: list[dict]) -> Selection:
    """One record per (model, method, task): the latest of the main settings (see module docstring)."""
    latest = latest_records(records)
    coverage = Counter(_run(r) for r in latest)  # cells each run covers
    tasks_of: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for record in latest:
        tasks_of[_run(record)].add(record["task"])

    def rank(record: dict) -> tuple:
        return (coverage[_run(record)], str(record["provenance"].get("date") or ""), record["settings_id"])

    chosen: dict[tuple[str, str, str], dict] = {}
    for record in latest:
        key = (record["model"], record["method"], record["task"])
        if key not in chosen or rank(record) > rank(chosen[key]):
            chosen[key] = record
    used = Counter(_run(r) for r in chosen.values())
    main: dict[tuple[str, str], str] = {}
    for (model, method, sid), _count in used.most_common():
        main.setdefault((model, method), sid)
    other: dict[tuple[str, str], set[str]] = defaultdict(set)
    for model, method, sid in tasks_of:
        if (model, method, sid) not in used:
            other[(model, method)].add(sid)
    # The main run is clear when it covers more cells than every setting competing with it for a cell;
    # in a pure sweep (every setting on the same cells) there is no main run.
    clear = {}
    for (model, method), main_sid in main.items():
        main_run = (model, method, main_sid)
        rivals = [
            run
            for run in tasks_of
            if run[:2] == (model, method) and run != main_run and tasks_of[run] & tasks_of[main_run]
        ]
        clear[(model, method)] = all(coverage[run] < coverage[main_run] for run in rivals)
    return Selection(chosen, main, dict(other), clear)
