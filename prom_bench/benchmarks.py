"""The benchmark registry and the cells it forms with the language table.

A *benchmark family* (``xquad``) is one folder of ``tasks/``; a *cell* is one family on one language
(``prom_xquad_th``). Which cells exist comes from the language table (``Language.tasks``); what a family
reports and how the tables label it comes from ``BENCHMARKS`` here. Reporting, results and evaluation derive
their lists from these two, so adding a language or a cell is one language entry plus its task YAML, and a
new family is one ``Benchmark`` here plus its ``tasks/<family>/`` folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from prom_bench import languages
from prom_bench.errors import UserError

# Per-item metrics a family reports (lm-eval keys are "<metric>,<filter>"), one tuple per kind so a metric
# added to a kind (e.g. the paper's own EM/F1 beside ours) reaches every family of that kind at once.
QA_METRICS: tuple[str, ...] = ("exact_match", "f1")  # language-aware (tasks/README.md): the primary measure
# The same answers scored as the paper's harness did (official SQuAD v1.1 / MLQA v1 scripts), recorded beside
# the primary metrics since task version 2.0; the tables show them with --metric paper.
PAPER_QA_METRICS: tuple[str, ...] = ("paper_exact_match", "paper_f1")
MATH_METRICS: tuple[str, ...] = ("accuracy",)
METRIC_LABEL = {
    "exact_match": "EM",
    "f1": "F1",
    "paper_exact_match": "paper EM",
    "paper_f1": "paper F1",
    "accuracy": "acc",
}


@dataclass(frozen=True)
class Benchmark:
    family: str  # the tasks/ folder and the middle of its task names: prom_<family>_<lang>
    label: str  # as the paper's tables name it
    kind: str  # "qa" (Table 1) or "math" (Table 2)
    metrics: tuple[str, ...]  # the primary metrics, those of a cell
    columns: tuple[str, ...] = ()  # the paper's column order of its languages; others follow in table order
    paper_metrics: tuple[str, ...] = ()  # the paper's measure of the same answers, where it differs

    @property
    def recorded(self) -> tuple[str, ...]:
        """Every metric the family's tasks report (and evaluation records): primary, then the paper's."""
        return self.metrics + self.paper_metrics


BENCHMARKS: dict[str, Benchmark] = {
    b.family: b
    for b in (
        Benchmark("xquad", "XQuAD", "qa", QA_METRICS, ("th", "ar", "el"), PAPER_QA_METRICS),
        Benchmark("mlqa", "MLQA", "qa", QA_METRICS, ("ar",), PAPER_QA_METRICS),
        Benchmark("indicqa", "IndicQA", "qa", QA_METRICS, ("ta", "mr", "ml"), PAPER_QA_METRICS),
        Benchmark("mgsm", "MGSM", "math", MATH_METRICS, ("sw", "th", "bn", "te")),
    )
}


@dataclass(frozen=True)
class Cell:
    task: str
    benchmark: str
    lang: str
    metrics: tuple[str, ...]


def family_of(task: str) -> str:
    """``prom_indicqa_ta`` -> ``indicqa``; one clear error for a task outside the registry."""
    for family in BENCHMARKS:
        if task.startswith(f"prom_{family}_"):
            return family
    raise UserError(f"task '{task}' is not a prom-bench task; valid: prom_<{'|'.join(BENCHMARKS)}>_<lang>")


def control_cells() -> tuple[Cell, ...]:
    """The pivot's cells (English XQuAD and MGSM with the built-in table): the control that shows the harness
    measuring a model in the language it is strong in."""
    tasks = languages.get(languages.PIVOT).tasks
    return tuple(Cell(t, family_of(t), languages.PIVOT, BENCHMARKS[family_of(t)].metrics) for t in tasks)


def target_cells() -> tuple[Cell, ...]:
    """Every cell of the paper's target languages (the pivot's controls are not cells; other languages' cells,
    e.g. Hindi's, join the tables from their records), in family order, then in the paper's column order
    within a family."""
    cells = []
    for index, lang in enumerate(languages.LANGUAGES.values()):
        if lang.code == languages.PIVOT or not lang.paper:
            continue
        for task in lang.tasks:
            bench = BENCHMARKS[family_of(task)]
            order = bench.columns.index(lang.code) if lang.code in bench.columns else len(bench.columns) + index
            cells.append(
                ((list(BENCHMARKS).index(bench.family), order), Cell(task, bench.family, lang.code, bench.metrics))
            )
    return tuple(cell for _, cell in sorted(cells, key=lambda item: item[0]))


def tasks_for(langs: str, *, english: bool = False) -> list[tuple[str, str]]:
    """``(lang, task)`` pairs for the cells of ``langs`` (``all`` or a comma list; ``english``: allow ``en``'s
    controls), from the language table's ``tasks`` field."""
    pairs = []
    for code in languages.parse_langs(langs, allow_english=english):
        pairs.extend((code, task) for task in languages.get(code).tasks)
    return pairs
