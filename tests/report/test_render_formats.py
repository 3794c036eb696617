"""Tables from synthetic run records (the shape `prom-bench run` writes): every format, --compare paper,
missing cells, the lambda = 0 asterisk, significance from per-item samples, and Table 4 from a sweep."""

from __future__ import annotations

import csv
import io

import pytest

from prom_bench.errors import UserError
from prom_bench.report import FORMATS, build_tables, render_tables
from prom_bench.report.render import fmt_number, show
from prom_bench.results import load_records

MODEL = "SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def runs(fixture_runs):
    return load_records([fixture_runs])


def by_label(table):
    return {row.label: row for row in table.rows}


def test_every_format_renders_every_table(runs):
    for fmt in FORMATS:
        text = render_tables(runs, "all", fmt, compare="paper")
        first, last = ("tab:prom-bench-1", "tab:prom-bench-4") if fmt == "latex" else ("Table 1", "Table 4")
        assert first in text and last in text, fmt
        assert "MGSM" in text


def test_missing_cells_are_missing_not_zero(runs):
    table1 = build_tables(runs, "1")[0]
    prom = by_label(table1)["PROM"]
    columns = table1.flat_columns()
    el = prom.values[columns.index("XQuAD el em")]
    assert el.missing and show(el) == "–"
    assert prom.values[columns.index("avg em")].partial  # averaged over the cells present, marked †
    markdown = render_tables(runs, "1", "markdown")
    assert "| – |" in markdown and "†" in markdown
    rows = list(csv.DictReader(io.StringIO(render_tables(runs, "1", "csv"))))
    assert next(r for r in rows if r["method"] == "PROM")["XQuAD el em"] == ""


def test_values_match_the_records_and_lambda_zero_is_starred(runs):
    table1 = build_tables(runs, "1")[0]
    columns = table1.flat_columns()
    prom = by_label(table1)["PROM"]
    record = next(r for r in runs if r["method"] == "prom" and r["task"] == "prom_xquad_ar")
    assert record["settings"]["pivot_weight"] == 0
    value = prom.values[columns.index("XQuAD ar em")]
    assert value.star and value.number == record["metrics"]["exact_match"]
    assert not prom.values[columns.index("XQuAD th em")].star


def test_compare_paper_adds_the_papers_rows(runs):
    table2 = build_tables(runs, "2", compare="paper")[0]
    rows = by_label(table2)
    assert [r.label for r in table2.rows][:2] == ["PROM", "paper: PROM"]
    assert " ".join(show(v) for v in rows["paper: PROM"].values) == "5.6 4.4 4.0 0.4* 3.6"
    assert rows["paper: PROM"].source == "paper"
    html = render_tables(runs, "2", "html", compare="paper")
    assert '<tr class="paper"><th scope="row">paper: PROM</th>' in html
    table3 = build_tables(runs, "3", compare="paper")[0]
    prom3 = dict(zip(table3.columns, (show(v) for v in by_label(table3)["PROM"].values)))
    assert (prom3["paper: lose"], prom3["paper: win"]) == ("0/11", "9/11")


def test_table3_from_runs_counts_over_the_cells_present(runs):
    table3 = build_tables(runs, "3")[0]
    rows = {r.label: dict(zip(table3.columns, (show(v) for v in r.values))) for r in table3.rows}
    # SmolLM2's rows are named by prom-bench's methods; the paper's names belong to the paper's model
    assert set(rows) == {"PROM", "t", "base"}
    assert rows["PROM"]["wins t+e"].endswith("/5") and "6 of 11 cells missing" in rows["PROM"]["note"]
    assert "paper: win" not in table3.columns  # no paper columns unless asked, for another model


def test_significant_counts_only_resolved_differences(runs):
    plain = {r.label: r for r in build_tables(runs, "3")[0].rows}
    tables = build_tables(runs, "3", significant=True, resamples=500)
    significant = {r.label: r for r in tables[0].rows}
    wins = lambda row: int(show(row.values[1]).split("/")[0])  # noqa: E731
    assert wins(significant["PROM"]) <= wins(plain["PROM"])
    assert wins(significant["PROM"]) >= 1  # XQuAD th: +50 EM over 40 items
    ci = tables[1]
    assert ci.key == "3-ci"
    th_em = next(
        r for r in ci.rows if r.label == "PROM" and show(r.values[0]) == "XQuAD th" and show(r.values[1]) == "EM"
    )
    low, high = th_em.values[3].number, th_em.values[4].number
    assert 0 < low < th_em.values[2].number < high and show(th_em.values[6]) == "better"


def test_significant_on_records_without_samples_counts_nothing(paper_dir):
    table3 = build_tables(load_records([paper_dir]), "3", significant=True)[0]
    prom = dict(zip(table3.columns, (show(v) for v in by_label(table3)["PROM"].values)))
    assert prom["wins t+e"] == "0/0" and "without per-item scores" in prom["note"]


def test_table4_from_a_sweep(runs):
    table4 = build_tables(runs, "4")[0]
    labels = [r.label for r in table4.rows]
    assert labels == ["t+e", "t", "PROM (main)", "PROM: n varied", "PROM: λ varied"]
    assert table4.columns == ["n", "α", "λ", "acc", "EM", "F1"]
    n_row = by_label(table4)["PROM: n varied"]
    assert [show(v) for v in n_row.values[:3]] == ["20", "0.1", "0.1"]


def test_table1_uses_the_main_run_not_the_sweep(runs):
    table1 = build_tables(runs, "1")[0]
    main = next(
        r
        for r in runs
        if r["method"] == "prom"
        and r["task"] == "prom_xquad_th"
        and r["settings"]["pivot_layer"] == 24
        and r["settings"]["pivot_weight"] == 0.1
    )
    assert by_label(table1)["PROM"].values[0].number == main["metrics"]["exact_match"]
    assert any("more setting" in note for note in table1.notes)


def test_latex_is_escaped_and_balanced(runs):
    latex = render_tables(runs, "1", "latex")
    assert latex.count(r"\begin{table}") == latex.count(r"\end{table}") == 1
    assert r"$^*$" in latex and "--" in latex and r"\multicolumn{6}{c}{XQuAD}" in latex
    assert latex.count("{") == latex.count("}")


def test_rounding_is_half_up_like_the_paper():
    assert [fmt_number(x) for x in (2.25, 0.05, 3.9428, 15.5714, 0.0)] == ["2.3", "0.1", "3.9", "15.6", "0.0"]


def test_unknown_table_format_and_comparison_are_one_line_errors(runs):
    with pytest.raises(UserError, match=r"unknown table '5'; valid: 1, 2, 3, 4, control, all"):
        render_tables(runs, "5")
    with pytest.raises(UserError, match="unknown format 'xls'"):
        render_tables(runs, "1", "xls")
    with pytest.raises(UserError, match="unknown comparison 'arxiv'; valid: paper"):
        render_tables(runs, "1", "markdown", compare="arxiv")


def test_table4_of_a_pure_sweep_has_no_main_run(runs):
    # Only the sweep points (each on the same two Thai cells) and the t baseline: no setting is "the" run.
    sweep = [
        r
        for r in runs
        if r["method"] == "t"
        or (
            r["method"] == "prom"
            and r["lang"] == "th"
            and r["settings"] != {"pivot_layer": 24, "label_smoothing": 0.1, "pivot_weight": 0.1}
        )
    ]
    table4 = build_tables(sweep, "4")[0]
    assert [r.label for r in table4.rows] == ["t", "PROM", "PROM"]
    assert [show(r.values[0]) for r in table4.rows[1:]] == ["20", "24"]
    # Table 1 has no main run to pick either: each sweep point is a row of its own, named by what differs
    labels = [r.label for r in build_tables(sweep, "1")[0].rows]
    assert labels == ["PROM [pivot_layer=20, pivot_weight=0.1]", "PROM [pivot_layer=24, pivot_weight=0.5]", "t"]


def test_record_fields_are_escaped_in_every_text_format(runs):
    """A model name is arbitrary text from a record: it must not become markup, a formula or a broken row."""
    import copy

    hostile = "=HYPERLINK(x)|<b>m_1*</b>\n\\evil & 50%"
    second = [dict(copy.deepcopy(r), model=hostile) for r in runs if r["method"] == "prom"]
    records = runs + second  # two models: rows are labelled "<model> · <method>"
    md = render_tables(records, "2", "markdown")
    row = next(line for line in md.splitlines() if "HYPERLINK" in line)
    assert row.count(" | ") == md.splitlines()[2].count(" | ")  # the pipe did not split the cell
    assert "&lt;b&gt;" in row and "<b>" not in md and "m\\_1\\*" in row and "\n\\evil" not in md
    latex = render_tables(records, "2", "latex")
    assert r"\textbar{}\textless{}b\textgreater{}m\_1$^*$" in latex and r"\& 50\%" in latex
    assert r"\textbackslash{}evil" in latex and "</b>\n" not in latex
    table = list(csv.reader(io.StringIO(render_tables(records, "2", "csv"))))
    labels = [r[0] for r in table[1:]]
    assert any(label.startswith("'=HYPERLINK") for label in labels)
    assert not any(label.startswith("=") for label in labels)
