"""The paper's table cells and how records are chosen to fill them.

A *cell* is one benchmark on one language (``prom_xquad_th``); which cells exist and their metrics come from the
language table and the benchmark registry (``prom_bench/benchmarks.py``). A row of Tables 1-3 is one *run*: one
(model, method, settings), its cells filled by that run's records only (aggregated over seeds by ``prepare``),
so a row never mixes settings. The main run of a method covers the most cells (the earliest on a tie, so a later
run never replaces an earlier one); runs that cover as many cells are rows of their own, named by the settings
that differ; runs covering fewer cells (a Table 4 sweep beside the main run) are left to Table 4 and named in a
note. Cells where regulation set lambda = 0 belong to the run whose other settings they share
(``_adopt_lambda_zero``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from prom_bench.benchmarks import (  # noqa: F401 (the tables' names)
    BENCHMARKS,
    METRIC_LABEL,
    PAPER_QA_METRICS,
    QA_METRICS,
    Cell,
    control_cells,
    target_cells,
)
from prom_bench.errors import UserError
from prom_bench.methods import METHODS
from prom_bench.results import latest_records

ALL_CELLS = target_cells()  # the cells of Tables 1-3 (the paper's 11 with the built-in language table)
QA_CELLS = tuple(c for c in ALL_CELLS if BENCHMARKS[c.benchmark].kind == "qa")  # Table 1
MGSM_CELLS = tuple(c for c in ALL_CELLS if BENCHMARKS[c.benchmark].kind == "math")  # Table 2
BENCH_LABEL = {family: b.label for family, b in BENCHMARKS.items()}
# Which QA measure a table shows (``--metric``): the metrics of a QA cell under each choice. Language-aware
# (``exact_match``, ``f1``) is the primary measure; the paper's (``paper_*``) is what its harness computed.
QA_MEASURES = {
    "language-aware": QA_METRICS,
    "paper": PAPER_QA_METRICS,
    "both": QA_METRICS + PAPER_QA_METRICS,
}
MEASURE_TEXT = {
    "language-aware": "language-aware EM/F1 (prom-bench's normaliser for every script)",
    "paper": "the paper's EM/F1 (the official SQuAD v1.1 script for XQuAD and IndicQA, MLQA v1 for MLQA)",
}


def parse_measure(metric: str | None, compare: str | None = None) -> str:
    """``--metric``: language-aware, paper or both; None means paper beside ``--compare paper``, else
    language-aware (the primary measure). One clear line for anything else."""
    if metric is None:
        return "paper" if compare == "paper" else "language-aware"
    key = str(metric).strip().lower()
    if key not in QA_MEASURES:
        raise UserError(f"unknown metric '{metric}'; valid: {', '.join(QA_MEASURES)}")
    return key


def measure_cells(measure: str) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
    """(QA cells, all cells) whose QA metrics are those of ``measure`` (MGSM cells keep accuracy)."""
    qa = tuple(replace(c, metrics=QA_MEASURES[measure]) for c in QA_CELLS)
    return qa, qa + MGSM_CELLS


# The English control: the same benchmarks in English, where an English-centric model is strong, so a table
# shows the harness measuring this model at all (the paper reports none).
CONTROL_CELLS = control_cells()


def extra_cells(records: list[dict]) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
    """Cells in ``records`` beyond the paper's (a declared language's, IndicQA hi): (QA cells, math cells).

    They join Tables 1-2 after their benchmark's paper columns, so a run on any language shows its scores;
    Table 3's win/loss count stays over the paper's cells.
    """
    from prom_bench.benchmarks import family_of
    from prom_bench.errors import UserError

    known = {c.task for c in ALL_CELLS + CONTROL_CELLS}  # the English control has a table of its own
    found: dict[str, Cell] = {}
    for record in records:
        task = record["task"]
        if task in known or task in found:
            continue
        try:
            family = family_of(task)
        except UserError:
            continue
        found[task] = Cell(task, family, record["lang"], BENCHMARKS[family].metrics)
    cells = sorted(found.values(), key=lambda c: (list(BENCHMARKS).index(c.benchmark), c.lang))
    return (
        tuple(c for c in cells if BENCHMARKS[c.benchmark].kind == "qa"),
        tuple(c for c in cells if BENCHMARKS[c.benchmark].kind == "math"),
    )


# Row order of Tables 1-3 (the paper lists PROM first and the untrained model last).
METHOD_ORDER = ("prom", "prom-noreg", "t+e", "t", "base")
BASELINE = "t+e"
PAPER_MODEL = "LLaMA2-7B"


# Our rows name the method; the paper's names (LLaMA2, xLLAMA2(t+e), ...) belong to the paper's model only.
RUN_LABELS = {"prom": "PROM", "prom-noreg": "PROM - regulation"}


def method_label(method: str, model: str | None = PAPER_MODEL) -> str:
    """The row label of a method: the paper's name (``PROM``, ``xLLAMA2(t+e)``) on the paper's model, else
    prom-bench's own (``base``, ``t``, ``t+e``, ``PROM``), so a SmolLM2 base row is not called "LLaMA2"."""
    entry = METHODS.get(method)
    if entry is None:
        return method
    return entry.paper_name if model == PAPER_MODEL else RUN_LABELS.get(method, entry.name)


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
    """The chosen record of each (model, method, task), and what was left out for Table 4.

    A *run* is one (model, method, settings_id). Each (model, method) has a main run: the one covering
    the most cells, the earliest on a tie (a later run never silently replaces an earlier one). Runs that
    cover as many cells as the main run are shown as rows of their own (``extra_runs``), labelled by the
    settings that differ; runs covering fewer cells (sweep points) are left to Table 4 and named in a note.
    """

    chosen: dict[tuple[str, str, str], dict]
    main_settings: dict[tuple[str, str], str]  # (model, method) -> settings_id of the main run
    other_settings: dict[tuple[str, str], set[str]]  # settings seen beside the main run's, not shown as rows
    main_is_clear: dict[tuple[str, str], bool]  # False in a pure sweep: no setting covers more cells
    extra_runs: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # tied runs shown as rows
    by_run: dict[tuple[str, str, str], dict[str, dict]] = field(default_factory=dict)  # run -> task -> record

    def get(self, model: str, method: str, task: str, settings_id: str | None = None) -> dict | None:
        if settings_id is None:
            return self.chosen.get((model, method, task))
        return self.by_run.get((model, method, settings_id), {}).get(task)

    def methods(self, model: str) -> list[str]:
        return sorted({m for (mo, m, _t) in self.chosen if mo == model}, key=method_rank)

    def runs(self, model: str, method: str) -> list[str]:
        """settings_ids shown as rows: the main run first, then the tied ones."""
        main = self.main_settings.get((model, method))
        return ([main] if main else []) + self.extra_runs.get((model, method), [])

    def settings_of(self, model: str, method: str, settings_id: str) -> dict:
        records = self.by_run.get((model, method, settings_id), {})
        return next(iter(records.values()))["settings"] if records else {}


def _run(record: dict) -> tuple[str, str, str]:
    """The run a record belongs to: (model, method, settings_id)."""
    return (record["model"], record["method"], record["settings_id"])


# Settings that regulation itself changes: lambda = 0 drops English data (parts, data hash) and the pivot loss.
REGULATION_KEYS = frozenset({"pivot_weight", "parts", "objective", "data.sha256", "regulation"})


def _compatible(zero: dict, settings: dict) -> bool:
    """A lambda = 0 result belongs to a run when every setting both name (regulation's own aside) agrees."""
    keys = (set(zero) & set(settings)) - REGULATION_KEYS
    return all(repr(zero[k]) == repr(settings[k]) for k in keys)


def _adopt_lambda_zero(by_run: dict[tuple[str, str, str], dict[str, dict]]) -> None:
    """Cells where regulation set lambda = 0 join the runs they belong to (in place).

    Regulation makes a PROM run's settings differ by language (lambda = 0 trains exactly t, whatever lambda,
    n or alpha were asked for), so those cells carry settings of their own; they are the same run's results
    and fill its row. A lambda = 0 run that fits no other run stays a run of its own.
    """
    for (model, method, sid), cells in list(by_run.items()):
        if not cells or not all(lambda_zero(r) for r in cells.values()):
            continue
        zero = next(iter(cells.values()))["settings"]
        hosts = [
            run
            for run, recs in by_run.items()
            if run[:2] == (model, method)
            and run[2] != sid
            and recs
            and not all(lambda_zero(r) for r in recs.values())
            and _compatible(zero, next(iter(recs.values()))["settings"])
        ]
        for host in hosts:
            for task, record in cells.items():
                by_run[host].setdefault(task, record)
        if hosts:
            del by_run[(model, method, sid)]


def select(records: list[dict]) -> Selection:
    """The main run of each (model, method) and its tied rivals (see ``Selection``)."""
    latest = latest_records(records)
    by_run: dict[tuple[str, str, str], dict[str, dict]] = defaultdict(dict)
    for record in latest:
        task = record["task"]
        held = by_run[_run(record)].get(task)
        if held is None or str(record["provenance"].get("date") or "") >= str(held["provenance"].get("date") or ""):
            by_run[_run(record)][task] = record
    _adopt_lambda_zero(by_run)
    first_date = {
        run: min(str(r["provenance"].get("date") or "") for r in recs.values()) for run, recs in by_run.items()
    }
    runs_of: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for run in by_run:
        runs_of[run[:2]].append(run)

    chosen: dict[tuple[str, str, str], dict] = {}
    main: dict[tuple[str, str], str] = {}
    extra: dict[tuple[str, str], list[str]] = {}
    other: dict[tuple[str, str], set[str]] = {}
    clear: dict[tuple[str, str], bool] = {}
    for (model, method), runs in runs_of.items():
        runs.sort(key=lambda run: (-len(by_run[run]), first_date[run], run[2]))
        main_run = runs[0]
        size = len(by_run[main_run])
        main[(model, method)] = main_run[2]
        for task, record in by_run[main_run].items():
            chosen[(model, method, task)] = record
        tied = [run for run in runs[1:] if len(by_run[run]) == size]
        if tied:
            extra[(model, method)] = [run[2] for run in tied]
        rest = {run[2] for run in runs[1:] if len(by_run[run]) < size}
        if rest:
            other[(model, method)] = rest
        # The main run is clear when it covers more cells than every setting competing with it for a cell;
        # in a pure sweep (every setting on the same cells) there is no main run.
        rivals = [run for run in runs[1:] if set(by_run[run]) & set(by_run[main_run])]
        clear[(model, method)] = all(len(by_run[run]) < size for run in rivals)
    return Selection(chosen, main, other, clear, extra, dict(by_run))
