"""Tables 1-4 of the paper, built from records as plain data (``Table``) that any renderer can print.

Table 1: QA exact match and F1 per cell plus the average. Table 2: MGSM accuracy per language plus the
average. Table 3: wins and losses against t+e (rule in ``winloss``). Table 4: a hyperparameter sweep
(n, alpha, lambda) on one language. Missing cells stay missing (``Value()``), never 0.

QA cells are shown in one measure (``metric``: language-aware, the primary one, or the paper's) or both;
titles and captions say which. Cells whose records come from different task versions get a warning note.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from prom_bench.errors import UserError
from prom_bench.languages import LANGUAGES
from prom_bench.report import paper
from prom_bench.report.bootstrap import DEFAULT_RESAMPLES
from prom_bench.report.cells import (
    ALL_CELLS,
    BASELINE,
    BENCH_LABEL,
    BENCHMARKS,
    CONTROL_CELLS,
    MEASURE_TEXT,
    METRIC_LABEL,
    MGSM_CELLS,
    PAPER_MODEL,
    PAPER_QA_METRICS,
    Cell,
    Selection,
    extra_cells,
    is_pivot_method,
    lambda_zero,
    measure_cells,
    method_label,
    method_rank,
    models_in,
    parse_measure,
    select,
)
from prom_bench.report.prepare import differences, prepare
from prom_bench.report.winloss import count_vs_baseline
from prom_bench.results import latest_records

TABLE_KEYS = ("1", "2", "3", "4", "control")
SWEEP_KEYS = (("pivot_layer", "n"), ("label_smoothing", "α"), ("pivot_weight", "λ"))


@dataclass
class Value:
    """One table entry: a number (percent, shown with one decimal) or a text; neither means missing."""

    number: float | None = None
    text: str | None = None  # shown instead of the number by the human formats (e.g. "8/11"); csv keeps the number
    star: bool = False  # lambda = 0 for this cell (the paper's asterisk)
    partial: bool = False  # an average over only some of the cells (marked with a dagger)
    sd: float | None = None  # standard deviation over seeds (None: one seed)
    seeds: int | None = None  # how many seeds the number is the mean of (None: not a score)
    limited: bool = False  # a smoke test (--limit) stands behind the number (marked with a double dagger)

    @property
    def missing(self) -> bool:
        return self.number is None and self.text is None


@dataclass
class Row:
    label: str
    values: list[Value]
    source: str = "run"  # "run" or "paper" (a --compare row)
    model: str = ""
    method: str = ""
    settings_id: str = ""


@dataclass
class Table:
    key: str
    title: str
    caption: str
    columns: list[str]  # leaf column labels
    groups: list[list[tuple[str, int]]] = field(default_factory=list)  # header rows above: (label, span)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stub: str = "method"  # header of the row-label column

    def flat_columns(self) -> list[str]:
        """Leaf labels prefixed with their group labels (``XQuAD th EM``), for one-row headers."""
        names = [[] for _ in self.columns]
        for group_row in self.groups:
            i = 0
            for label, span in group_row:
                for j in range(i, i + span):
                    if label:
                        names[j].append(label)
                i += span
        return [" ".join([*prefix, leaf]) for prefix, leaf in zip(names, self.columns)]

    def span_heads(self) -> list[str]:
        """Group labels shown once, over the first column of each span (``XQuAD th`` over em, '' over f1)."""
        heads = [[] for _ in self.columns]
        for group_row in self.groups:
            i = 0
            for label, span in group_row:
                if label:
                    heads[i].append(label)
                i += span
        return [" ".join(h) for h in heads]


def parse_table(table: str) -> list[str]:
    """``"all"`` or one of 1-4 -> the table keys; one clear line otherwise."""
    key = str(table).strip().lower()
    if key == "all":
        return list(TABLE_KEYS)
    if key in TABLE_KEYS:
        return [key]
    raise UserError(f"unknown table '{table}'; valid: 1, 2, 3, 4, control, all")


def _row_label(model: str, method: str, several_models: bool, paper_row: bool = False, variant: str = "") -> str:
    if paper_row:
        return f"paper: {method_label(method, PAPER_MODEL)}"
    label = method_label(method, model) + (f" [{variant}]" if variant else "")
    return f"{model} · {label}" if several_models else label


def _variant(selection: Selection, model: str, method: str, settings_id: str) -> str:
    """What sets a run apart from its method's other shown runs (e.g. ``lora_r=2``); '' when alone."""
    runs = selection.runs(model, method)
    if len(runs) < 2:
        return ""
    mine = selection.settings_of(model, method, settings_id)
    others = [selection.settings_of(model, method, sid) for sid in runs if sid != settings_id]
    keys = sorted({k for o in others for k in set(o) | set(mine) if repr(o.get(k)) != repr(mine.get(k))})
    return ", ".join(f"{k}={_fmt_setting(mine.get(k)) or '–'}" for k in keys) or settings_id


def score_value(record: dict | None, metric: str) -> Value:
    """One cell's entry from an (aggregate) record: mean over seeds, sd, seed count, flags."""
    if record is None or record["metrics"].get(metric) is None:
        return Value()
    sd = (record.get("metrics_sd") or {}).get(metric)
    return Value(
        float(record["metrics"][metric]),
        star=lambda_zero(record),
        sd=sd,
        seeds=record.get("n_seeds") or 1,
        limited=bool(record.get("limited")),
    )


def _mean(cell_records: list[dict | None], metric: str, total: int) -> Value:
    """The average over the cells present; its sd over seeds when every cell has the same seeds."""
    present = [r for r in cell_records if r is not None and r["metrics"].get(metric) is not None]
    if not present:
        return Value()
    mean = sum(float(r["metrics"][metric]) for r in present) / len(present)
    seed_sets = {tuple(sorted(map(str, r.get("seeds") or [None]))) for r in present}
    sd, seeds = None, min(r.get("n_seeds") or 1 for r in present)
    if len(seed_sets) == 1 and seeds > 1:
        import statistics

        per_seed: dict[str, list[float]] = {}
        for record in present:
            for sub in record["seed_records"]:
                per_seed.setdefault(str(sub.get("seed")), []).append(float(sub["metrics"][metric]))
        sd = statistics.stdev(sum(v) / len(v) for v in per_seed.values())
    return Value(
        mean,
        partial=len(present) < total,
        sd=sd,
        seeds=seeds,
        limited=any(r.get("limited") for r in present),
    )


MEASURE_TITLE = {"language-aware": "language-aware", "paper": "paper metric", "both": "both measures"}


def _leaf(metric: str) -> str:
    """Column label of a metric: ``em``, ``f1``, ``paper em``, ``paper f1``, ``acc``."""
    return METRIC_LABEL[metric].lower()


def _measure_caption(measure: str, compare_rows: bool) -> str:
    """Which measure each column is (and, beside the paper, whether like is compared with like)."""
    if measure == "both":
        text = f" QA columns em/f1: {MEASURE_TEXT['language-aware']}; paper em/f1: {MEASURE_TEXT['paper']}."
    else:
        text = f" QA columns: {MEASURE_TEXT[measure]}."
    if compare_rows:
        text += f" 'paper:' rows are always in the paper's measure{' as well' if measure == 'paper' else ''}"
        text += (
            ": like is compared with like."
            if measure != "language-aware"
            else ", so their QA columns are NOT the measure of the rows above (--metric paper compares like with like)."
        )
    return text


def _paper_row_cells(cells: tuple[Cell, ...], measure: str) -> tuple[Cell, ...]:
    """The paper's records carry only the paper's measure: under language-aware their rows show it."""
    if measure != "language-aware":
        return cells
    paper_qa = {c.task: c for c in measure_cells("paper")[0]}
    return tuple(paper_qa.get(c.task, c) for c in cells)


def _is_paper_record(record: dict) -> bool:
    return (record.get("provenance", {}).get("dataset") or {}).get("source") == "paper"


def measure_notes(records: list[dict], cells: tuple[Cell, ...]) -> list[str]:
    """Warnings about what the records can show: mixed task versions in a cell (scores of different versions
    mean different things), and QA records without the metrics of the measure shown."""
    notes: list[str] = []
    tasks = {c.task: c for c in cells}
    versions: dict[str, set] = defaultdict(set)
    lacking: dict[tuple[str, ...], int] = defaultdict(int)
    for record in records:
        cell = tasks.get(record["task"])
        if cell is None:
            continue
        if not _is_paper_record(record):  # the paper's numbers have no task version; they are labelled apart
            versions[record["task"]].add((record.get("provenance") or {}).get("task_version"))
        missing = tuple(m for m in cell.metrics if record["metrics"].get(m) is None)
        if missing:
            lacking[missing] += 1
    for task, found in versions.items():
        if len(found) > 1:
            cell = tasks[task]
            shown = ", ".join(sorted(str(v) for v in found))
            notes.append(
                f"WARNING {BENCH_LABEL[cell.benchmark]} {cell.lang}: records of task versions {shown} side by side; "
                "a new task version changes what a score means, so re-evaluate the older ones before comparing"
            )
    for missing, count in sorted(lacking.items()):
        why = (
            "from before the paper's measure was recorded (task version < 2.0): re-evaluate them for it"
            if set(missing) <= set(PAPER_QA_METRICS)
            else "in another measure only (--metric paper or both shows it)"
        )
        notes.append(f"{count} QA record(s) without {', '.join(missing)}, {why}; those entries are missing")
    return notes


def _score_rows(
    selection: Selection,
    model: str,
    method: str,
    cells: tuple[Cell, ...],
    label: str,
    source: str,
    settings_id: str | None = None,
) -> Row:
    values: list[Value] = []
    records = [selection.get(model, method, cell.task, settings_id) for cell in cells]
    for cell, record in zip(cells, records):
        values.extend(score_value(record, metric) for metric in cell.metrics)
    values.extend(_mean(records, m, len(cells)) for m in cells[0].metrics)
    return Row(label, values, source, model, method, settings_id or selection.main_settings.get((model, method), ""))


def _compare_selection(compare: str | None) -> Selection | None:
    if compare is None:
        return None
    if compare != "paper":
        raise UserError(f"unknown comparison '{compare}'; valid: paper")
    return select(paper.paper_records())


def _score_table(
    key: str, cells: tuple[Cell, ...], selection: Selection, paper_sel: Selection | None, measure: str
) -> Table:
    models = models_in(list(selection.chosen.values()))
    several = len(models) > 1
    paper_cells = _paper_row_cells(cells, measure)
    if key == "1":
        benches = list(dict.fromkeys(c.benchmark for c in cells))
        width = len(cells[0].metrics)
        groups = [
            [(BENCH_LABEL[b], width * sum(c.benchmark == b for c in cells)) for b in benches] + [("avg", width)],
            [(c.lang, width) for c in cells] + [("", width)],
        ]
        columns = [_leaf(m) for c in cells for m in c.metrics] + [_leaf(m) for m in cells[0].metrics]
        title = f"Table 1: QA exact match and F1 ({MEASURE_TITLE[measure]})"
        caption = "Exact match and F1 (%) of the QA benchmarks."
    else:
        groups = [[("MGSM accuracy", len(cells) + 1)]]
        columns = [c.lang for c in cells] + ["avg"]
        title, caption = "Table 2: MGSM accuracy", "MGSM accuracy (%)."
    table = Table(key, title, caption, columns, groups)
    for model in models:
        for method in selection.methods(model):
            if not any(selection.get(model, method, c.task) for c in cells):
                continue
            for sid in selection.runs(model, method):
                if not any(selection.get(model, method, c.task, sid) for c in cells):
                    continue
                label = _row_label(model, method, several, variant=_variant(selection, model, method, sid))
                table.rows.append(_score_rows(selection, model, method, cells, label, "run", sid))
            if (
                paper_sel is not None
                and model != PAPER_MODEL
                and any(paper_sel.get(PAPER_MODEL, method, c.task) for c in cells)
            ):
                table.rows.append(
                    _score_rows(
                        paper_sel,
                        PAPER_MODEL,
                        method,
                        paper_cells,
                        _row_label(model, method, several, paper_row=True),
                        "paper",
                    )
                )
    table.caption += _model_caption(models)
    table.caption += " *: λ = 0 (regulation found no English pivot for the language). –: no record."
    table.caption += _flags_caption(table, len(cells))
    if any(row.source == "paper" for row in table.rows):
        table.caption += f" 'paper:' rows are the paper's {PAPER_MODEL} numbers."
    if key == "1":
        table.caption += _measure_caption(measure, any(row.source == "paper" for row in table.rows))
        if PAPER_MODEL in models:
            table.caption += f" {PAPER_MODEL} rows are the paper's own numbers, which exist in its measure only."
    table.notes.extend(_other_settings_notes(selection))
    table.notes += measure_notes(list(selection.chosen.values()), cells)
    return table


def _model_caption(models: list[str]) -> str:
    ours = [m for m in models if m != PAPER_MODEL]
    return f" Model{'s' if len(ours) > 1 else ''}: {', '.join(ours)}." if ours else ""


def _flags_caption(table: Table, cells: int) -> str:
    values = [v for row in table.rows for v in row.values]
    text = ""
    if any(v.sd is not None for v in values):
        text += " Entries m ±s (n=k): mean and sample standard deviation over k seeds."
    if any(v.partial for v in values):
        text += f" †: average over the cells present only (the full average needs all {cells})."
    if any(v.limited for v in values):
        text += " ‡: a smoke test (evaluated on the first --limit items only), not a result."
    return text


def _other_settings_notes(selection: Selection) -> list[str]:
    """Each run not shown as a row, named by the settings in which it differs from the row's run."""
    notes = []
    for (model, method), ids in sorted(selection.other_settings.items()):
        main = selection.main_settings.get((model, method), "?")
        main_settings = selection.settings_of(model, method, main)
        described = []
        for sid in sorted(ids):
            own = selection.by_run.get((model, method, sid), {})
            cells = sorted(t for t, r in own.items() if not lambda_zero(r)) or sorted(own)
            diff = "; ".join(differences(main_settings, selection.settings_of(model, method, sid))) or sid
            described.append(f"{diff} (on {', '.join(cells)})")
        notes.append(
            f"{model} · {method_label(method, model)}: {len(ids)} more setting(s) on record, covering fewer cells, "
            f"shown in Table 4 where it sweeps PROM: " + " | ".join(described)
        )
    return notes


def _control_table(selection: Selection) -> Table:
    """The English cells, one row per model and method that has them: the harness measuring the model."""
    models = models_in(list(selection.chosen.values()))
    several = len(models) > 1
    columns = [METRIC_LABEL[m].lower() for c in CONTROL_CELLS for m in c.metrics]
    groups = [[(f"{BENCH_LABEL[c.benchmark]} {c.lang}", len(c.metrics)) for c in CONTROL_CELLS]]
    table = Table(
        "control",
        "Control: the English cells",
        "Exact match and F1 (%) of XQuAD and accuracy (%) of MGSM in English, on the same model and harness as "
        "Tables 1-2: an English-centric model scores here what it cannot yet score in the target languages.",
        columns,
        groups,
    )
    for model in models:
        for method in selection.methods(model):
            if not any(selection.get(model, method, c.task) for c in CONTROL_CELLS):
                continue
            values = []
            for cell in CONTROL_CELLS:
                record = selection.get(model, method, cell.task)
                values += [Value(None if record is None else record["metrics"].get(m)) for m in cell.metrics]
            table.rows.append(Row(_row_label(model, method, several), values, "run", model, method))
    if not table.rows:
        table.notes.append("no records of the English cells (prom_xquad_en, prom_mgsm_en); run with --set controls=en")
    return table


def _table3(
    selection: Selection,
    paper_sel: Selection | None,
    significant: bool,
    resamples: int,
    seed: int,
    cells: tuple[Cell, ...] = ALL_CELLS,
    measure: str = "language-aware",
) -> Table:
    printed = None
    models = models_in(list(selection.chosen.values()))
    several = len(models) > 1
    show_paper = paper_sel is not None or PAPER_MODEL in models
    if show_paper:
        printed = paper.paper_table3()
    columns = [f"lose to {BASELINE}", f"wins {BASELINE}", "neither", "compared"]
    if show_paper:
        columns += ["paper: lose", "paper: win"]
    columns.append("note")
    rule = (
        "A method wins a cell when it dominates t+e there: at least as good on every metric of the cell "
        "(EM and F1 for the 7 QA cells, accuracy for the 4 MGSM cells) and strictly better on at least one; "
        "it loses when t+e dominates it; a trade-off or an exact tie counts as neither."
        f" QA cells compared on {MEASURE_TEXT[measure]}."
    )
    if significant:
        rule += (
            f" Significant only: a metric counts as better (worse) only when the 95% paired-bootstrap interval "
            f"of the difference ({resamples} resamples over items paired by doc_id) lies wholly above "
            "(below) 0; cells without per-item scores on both sides are not counted."
        )
    else:
        rule += " Compared on the stored scores (the paper's own one-decimal numbers for its records)."
    rule += (
        " Over several seeds a cell compares the means over seeds (and the bootstrap resamples items, the same"
        " draw for every seed, i.e. it bootstraps the per-item means over seeds)."
    )
    caption = (
        f"Wins and losses against {method_label(BASELINE, models[0] if models else PAPER_MODEL)} over the "
        f"{len(ALL_CELLS)} cells of Tables 1-2. "
        + rule
        + " Counts read k/m: k cells of the m compared."
        + _model_caption(models)
    )
    table = Table(
        "3" if measure == "language-aware" else "3-paper",
        f"Table 3: wins and losses against t+e ({MEASURE_TITLE[measure]}"
        + (", significant only)" if significant else ")"),
        caption,
        columns,
    )
    for model in models:
        methods = [m for m in selection.methods(model) if m != BASELINE]
        paper_counts = (printed or {}).get("counts", {})
        if model == PAPER_MODEL:  # the paper prints counts for methods whose cells it never prints
            methods += [m for m in paper_counts if m not in methods]
        for method in sorted(methods, key=method_rank):
            for sid in selection.runs(model, method) or [None]:
                row = _table3_row(
                    selection,
                    model,
                    method,
                    _row_label(model, method, several, variant=_variant(selection, model, method, sid or "")),
                    printed if show_paper else None,
                    significant,
                    resamples,
                    seed,
                    sid,
                    cells,
                )
                row.model, row.method, row.settings_id = model, method, sid or ""
                table.rows.append(row)
    if any(
        selection.get(m, BASELINE, c.task) and selection.get(m, BASELINE, c.task).get("limited")
        for m in models
        for c in ALL_CELLS
    ):
        table.caption += " ‡ in the note: smoke tests (--limit) are among the compared records."
    if not table.rows:
        table.notes.append("no records to compare")
    if show_paper and measure != "paper":
        table.notes.append("the paper's printed counts are on its own measure, not this one")
    table.notes += measure_notes(list(selection.chosen.values()), cells)
    return table


def _table3_row(
    selection: Selection,
    model: str,
    method: str,
    label: str,
    printed: dict | None,
    significant: bool,
    resamples: int,
    seed: int,
    settings_id: str | None = None,
    cells: tuple[Cell, ...] = ALL_CELLS,
) -> Row:
    """Computed counts, the paper's printed counts when ``printed``, and a note on what differs or is missing."""
    notes: list[str] = []
    has_baseline = any(selection.get(model, BASELINE, c.task) for c in cells)
    has_records = any(selection.get(model, method, c.task, settings_id) for c in cells)
    count = None
    if not has_baseline or not has_records:
        values = [Value(), Value(), Value(), Value()]
        notes.append(
            f"no {BASELINE} records"
            if not has_baseline
            else "no per-cell scores (the paper prints only its counts)"
            if model == PAPER_MODEL
            else "no records"
        )
    else:
        count = count_vs_baseline(
            selection,
            model,
            method,
            cells=cells,
            significant=significant,
            resamples=resamples,
            seed=seed,
            settings_id=settings_id,
        )
        m = count.compared
        values = [
            Value(count.losses, text=f"{count.losses}/{m}"),
            Value(count.wins, text=f"{count.wins}/{m}"),
            Value(count.neither, text=str(count.neither)),
            Value(m, text=str(m)),
        ]
        limited = [
            c.task
            for c in ALL_CELLS
            if any(
                (r := selection.get(model, x, c.task, sid)) is not None and r.get("limited")
                for x, sid in ((method, settings_id), (BASELINE, None))
            )
        ]
        if limited:
            notes.append(f"‡ {len(limited)} cells from smoke tests (--limit)")
        seeds = {
            r.get("n_seeds") or 1 for c in ALL_CELLS for r in [selection.get(model, method, c.task, settings_id)] if r
        }
        if max(seeds, default=1) > 1:
            notes.append(f"on means over {'/'.join(map(str, sorted(seeds)))} seeds")
        if count.missing:
            notes.append(f"{len(count.missing)} of {len(ALL_CELLS)} cells missing")
        if count.untestable:
            notes.append(f"{len(count.untestable)} cells without per-item scores, not counted")
    if printed is not None:
        pc = printed.get("counts", {}).get(method)
        total = printed.get("cells", len(ALL_CELLS))
        values += (
            [Value(pc["lose"], text=f"{pc['lose']}/{total}"), Value(pc["win"], text=f"{pc['win']}/{total}")]
            if pc
            else [Value(), Value()]
        )
        if pc and model == PAPER_MODEL and count is not None:  # the same model: the counts must agree
            if count.compared < total:
                notes.append(f"paper's count covers {total} cells, computed {count.compared}: not comparable")
            elif (count.losses, count.wins) != (pc["lose"], pc["win"]):
                notes.append(f"DIFFERS from the paper's printed {pc['lose']}/{total} lose, {pc['win']}/{total} win")
            else:
                notes.append("matches the paper")
    values.append(Value(text="; ".join(notes)))
    return Row(label, values)


def ci_table(
    selection: Selection, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, cells: tuple[Cell, ...] = ALL_CELLS
) -> Table | None:
    """Each method minus t+e per cell and metric with its 95% paired-bootstrap interval; None without samples."""
    rows: list[Row] = []
    several = len(models_in(list(selection.chosen.values()))) > 1
    for model in models_in(list(selection.chosen.values())):
        for method in selection.methods(model):
            if method == BASELINE:
                continue
            count = count_vs_baseline(
                selection, model, method, cells=cells, intervals=True, resamples=resamples, seed=seed
            )
            method_label_ = _row_label(model, method, several)
            for cell in cells:
                for diff in count.differences.get(cell.task, []):
                    sign = {1: "better", -1: "worse", 0: "not significant"}[diff.sign]
                    rows.append(
                        Row(
                            method_label_,
                            [
                                Value(text=f"{BENCH_LABEL[cell.benchmark]} {cell.lang}"),
                                Value(text=METRIC_LABEL[diff.metric]),
                                Value(diff.diff),
                                Value(diff.low),
                                Value(diff.high),
                                Value(diff.n, text=str(diff.n)),
                                Value(text=sign),
                            ],
                            model=model,
                            method=method,
                        )
                    )
    if not rows:
        return None
    return Table(
        "3-ci",
        f"Differences against {BASELINE} (95% paired bootstrap)",
        f"Method minus {BASELINE} in points, with the percentile interval of {resamples} "
        "bootstrap resamples of the items both systems answered (paired by doc_id; over several seeds, "
        "each item's score is its mean over seeds).",
        ["cell", "metric", "diff", "low", "high", "items", "verdict"],
        rows=rows,
    )


def _setting_value(value) -> Value:
    """A setting as an entry: the number for machine formats, its own short text for people (24, not 24.0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Value(float(value), text=_fmt_setting(value))
    return Value(text=_fmt_setting(value))


def _fmt_setting(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def _sweep_lang(records: list[dict]) -> str | None:
    """The language with the most distinct settings of pivot-method runs (Thai in the paper)."""
    distinct: dict[str, set] = {}
    for r in records:
        if is_pivot_method(r["method"]):
            distinct.setdefault(r["lang"], set()).add(r["settings_id"])
    if not distinct:
        return None
    return max(sorted(distinct), key=lambda lang: (len(distinct[lang]), lang == "th"))


def _table4(
    records: list[dict], selection: Selection, lang: str | None, compare: str | None, measure: str = "language-aware"
) -> Table:
    latest = latest_records(records)  # already prepared (aggregated over seeds) by build_tables
    lang = lang or _sweep_lang(latest) or "th"
    if lang not in LANGUAGES:
        raise UserError(f"unknown language '{lang}' for Table 4; valid: {', '.join(LANGUAGES)}")
    qa_cells = measure_cells(measure)[0]
    cells = [c for c in MGSM_CELLS if c.lang == lang] + [c for c in qa_cells if c.lang == lang]
    on_lang = [r for r in latest if r["lang"] == lang and r["task"] in {c.task for c in cells}]
    pivot_rows = [r for r in on_lang if is_pivot_method(r["method"])]
    extra_keys = sorted({k for r in pivot_rows for k in r["settings"]} - {k for k, _ in SWEEP_KEYS} - {"regulation"})
    extra_keys = [k for k in extra_keys if len({repr(r["settings"].get(k)) for r in pivot_rows}) > 1]
    columns = [sym for _, sym in SWEEP_KEYS] + extra_keys
    groups_top = [("", len(columns))]
    for cell in cells:
        columns += [METRIC_LABEL[m] for m in cell.metrics]
        groups_top.append((f"{BENCH_LABEL[cell.benchmark]}", len(cell.metrics)))
    table = Table(
        "4",
        f"Table 4: hyperparameter sweep on {lang}"
        + ("" if measure == "language-aware" else f" ({MEASURE_TITLE[measure]})"),
        f"Scores (%) on {LANGUAGES[lang].name} ({lang}) for each setting of n (pivot layer), α (label "
        "smoothing) and λ (pivot loss weight); trained baselines first. –: no record."
        + _measure_caption(measure, compare == "paper" and PAPER_MODEL not in models_in(on_lang)),
        columns,
        [groups_top],
        stub="run",
    )
    models = models_in(on_lang)
    several = len(models) > 1

    def add_rows(
        source_records: list[dict], sel: Selection, model: str, prefix: str, source: str, row_cells: list[Cell]
    ) -> None:
        by_run: dict[tuple[str, str], dict[str, dict]] = {}
        for r in source_records:
            if r["model"] == model:
                by_run.setdefault((r["method"], r["settings_id"]), {})[r["task"]] = r

        def varied(method: str, settings: dict) -> list[int]:
            """Indices into SWEEP_KEYS (then extra keys) where a run differs from its method's main run."""
            if not sel.main_is_clear.get((model, method)):
                return []  # a pure sweep: no main run to compare with
            main_sid = sel.main_settings.get((model, method))
            main = next(
                (
                    r["settings"]
                    for r in sel.chosen.values()  # the main run may be on other languages
                    if r["model"] == model and r["method"] == method and r["settings_id"] == main_sid
                ),
                settings,
            )
            keys = [k for k, _ in SWEEP_KEYS] + extra_keys
            return [i for i, k in enumerate(keys) if repr(settings.get(k)) != repr(main.get(k))]

        def order(key):
            method, _ = key
            settings = next(iter(by_run[key].values()))["settings"]
            diff = varied(method, settings)
            # The paper's order: baselines, the main run, then one block per varied setting.
            return (
                is_pivot_method(method),
                method_rank(method),
                len(diff) > 0,
                diff,
                [_number(settings.get(k)) for k, _ in SWEEP_KEYS],
            )

        for method, sid in sorted(by_run, key=order):
            if not is_pivot_method(method) and method not in ("t", BASELINE):
                continue
            if not is_pivot_method(method) and sel.main_settings.get((model, method)) != sid:
                continue
            runs = by_run[(method, sid)]
            settings = next(iter(runs.values()))["settings"]
            label = method_label(method, model)
            if is_pivot_method(method) and sel.main_is_clear.get((model, method)):
                diff = varied(method, settings)
                symbols = [sym for _, sym in SWEEP_KEYS] + extra_keys
                label += " (main)" if not diff else ": " + ", ".join(symbols[i] for i in diff) + " varied"
            label = f"{prefix}{model} · {label}" if several and not prefix else f"{prefix}{label}"
            values = [
                _setting_value(settings.get(k)) if is_pivot_method(method) else Value(text="") for k, _ in SWEEP_KEYS
            ]
            values += [_setting_value(settings.get(k)) for k in extra_keys]
            for cell in row_cells:
                record = runs.get(cell.task)
                values += [score_value(record, m) for m in cell.metrics]
            table.rows.append(Row(label, values, source, model, method, sid))

    for model in models:
        add_rows(on_lang, selection, model, "", "run", cells)
    table.caption += _model_caption(models) + _flags_caption(table, len(cells))
    if compare == "paper" and PAPER_MODEL not in models:
        paper_recs = [r for r in paper.paper_records() if r["lang"] == lang]
        if paper_recs:
            paper_cells = list(_paper_row_cells(tuple(cells), measure))
            add_rows(paper_recs, select(paper.paper_records()), PAPER_MODEL, "paper: ", "paper", paper_cells)
    if not table.rows:
        table.notes.append(f"no records on {lang}")
    table.notes += measure_notes(on_lang, tuple(cells))
    return table


def build_tables(
    records: list[dict],
    table: str = "all",
    *,
    compare: str | None = None,
    significant: bool = False,
    lang: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    include_limited: bool = False,
    metric: str | None = None,
) -> list[Table]:
    """Tables 1-4 (or one of them) from records, as data.

    Args:
        records: result records (``results.load_records``); several models and settings may mix.
        table: "1", "2", "3", "4", "control" (the English cells) or "all" (the control only where it has records).
        compare: "paper" adds the paper's numbers beside ours; None for none.
        significant: Table 3 counts only significant wins/losses (paired bootstrap), and a table of the
            intervals follows it.
        lang: the language of Table 4 (default: the one with the most pivot-method settings).
        resamples, seed: of the bootstrap.
        include_limited: also show smoke tests (``--limit`` records), flagged ‡ (see ``prepare``).
        metric: the QA measure: "language-aware" (primary), "paper" (the paper's harness) or "both" (Table 3
            then comes once per measure); None: "paper" with ``compare="paper"``, else "language-aware".
    """
    keys = parse_table(table)
    measure = parse_measure(metric, compare)
    qa_cells = measure_cells(measure)[0]
    prepared = prepare(records, include_limited=include_limited)
    records = prepared.records
    selection = select(records)
    paper_sel = _compare_selection(compare)
    out: list[Table] = []
    extra_qa, extra_mgsm = extra_cells(records)
    for key in keys:
        if key == "1":
            # cells beyond the paper's (a declared language's) join their benchmark's columns, in this measure
            extra = tuple(Cell(c.task, c.benchmark, c.lang, qa_cells[0].metrics) for c in extra_qa)
            order = list(BENCHMARKS)
            cells = tuple(sorted(qa_cells + extra, key=lambda c: order.index(c.benchmark)))
            out.append(_score_table("1", cells, selection, paper_sel, measure))
        elif key == "2":
            out.append(_score_table("2", MGSM_CELLS + extra_mgsm, selection, paper_sel, measure))
        elif key == "3":
            for single in ("language-aware", "paper") if measure == "both" else (measure,):
                cells = measure_cells(single)[1]
                out.append(_table3(selection, paper_sel, significant, resamples, seed, cells, single))
                if significant:
                    ci = ci_table(selection, resamples=resamples, seed=seed, cells=cells)
                    if ci is not None:
                        ci.key += "" if single == "language-aware" else "-paper"
                        ci.title += f" ({MEASURE_TITLE[single]})"
                        out.append(ci)
        elif key == "control":
            control_tasks = {c.task for c in CONTROL_CELLS}
            if table != "all" or any(task in control_tasks for _, _, task in selection.chosen):
                out.append(_control_table(selection))
        else:
            out.append(_table4(records, selection, lang, compare, measure))
    for built in out:
        built.notes[:0] = prepared.notes
    return out
