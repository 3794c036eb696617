"""Wins and losses against a baseline (the paper's Table 3): dominance per cell, optionally significant.

Rule (stated in the Table 3 caption): system A *wins* a cell against B when A dominates B there: A is
at least as good on every metric of the cell (EM and F1 for QA, accuracy for MGSM) and strictly better on
at least one. A *loses* when B dominates A. A trade-off, or an exact tie on every metric, is neither.
With significance, "better" and "worse" mean that the 95% paired-bootstrap interval of the difference
lies wholly above or below 0; anything else counts as equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prom_bench.report.bootstrap import DEFAULT_RESAMPLES, Difference, compare_records
from prom_bench.report.cells import ALL_CELLS, BASELINE, Cell, Selection

WIN, LOSS, NEITHER = 1, -1, 0


def dominance(signs: list[int]) -> int:
    """WIN when no metric is worse and one is better, LOSS for the mirror case, else NEITHER.

    Args:
        signs: per metric, +1 (A better), -1 (A worse), 0 (equal).
    """
    if all(s >= 0 for s in signs) and any(s > 0 for s in signs):
        return WIN
    if all(s <= 0 for s in signs) and any(s < 0 for s in signs):
        return LOSS
    return NEITHER


def compare_metrics(a: dict, b: dict, metrics: tuple[str, ...]) -> int | None:
    """Dominance of metrics dict ``a`` over ``b`` on the stored values; None when a metric is missing."""
    signs = []
    for metric in metrics:
        if a.get(metric) is None or b.get(metric) is None:
            return None
        diff = float(a[metric]) - float(b[metric])
        signs.append(1 if diff > 0 else -1 if diff < 0 else 0)
    return dominance(signs)


@dataclass
class Count:
    """One method's record against the baseline over the cells."""

    method: str
    wins: int = 0
    losses: int = 0
    neither: int = 0
    missing: list[str] = field(default_factory=list)  # cells without a record on either side
    untestable: list[str] = field(default_factory=list)  # significance asked, but no paired samples
    differences: dict[str, list[Difference]] = field(default_factory=dict)  # task -> CI per metric

    @property
    def compared(self) -> int:
        return self.wins + self.losses + self.neither


def count_vs_baseline(
    selection: Selection,
    model: str,
    method: str,
    *,
    cells: tuple[Cell, ...] = ALL_CELLS,
    significant: bool = False,
    intervals: bool = False,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    baseline: str = BASELINE,
    settings_id: str | None = None,
) -> Count:
    """Wins/losses of ``method`` against ``baseline`` for one model over ``cells``.

    Bootstrap intervals are computed for the cells with paired samples when ``significant`` (they decide
    the count) or ``intervals`` (they are only reported). ``settings_id`` picks one of the method's runs
    (default: its main run); the baseline is always its main run. Aggregate records (several seeds) are
    compared on their means over seeds, and bootstrapped on their per-item means over seeds.
    """
    count = Count(method)
    for cell in cells:
        ours = selection.get(model, method, cell.task, settings_id)
        theirs = selection.get(model, baseline, cell.task)
        if ours is None or theirs is None:
            count.missing.append(cell.task)
            continue
        diffs = None
        if significant or intervals:
            diffs = compare_records(ours, theirs, cell.metrics, resamples=resamples, seed=seed)
        if diffs is not None:
            count.differences[cell.task] = diffs
        if significant:
            if diffs is None:
                count.untestable.append(cell.task)
                continue
            outcome = dominance([d.sign for d in diffs])
        else:
            outcome = compare_metrics(ours["metrics"], theirs["metrics"], cell.metrics)
            if outcome is None:
                count.missing.append(cell.task)
                continue
        if outcome == WIN:
            count.wins += 1
        elif outcome == LOSS:
            count.losses += 1
        else:
            count.neither += 1
    return count
