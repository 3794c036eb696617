"""`--metric`: which QA measure the tables show (language-aware, the paper's, both), what their titles and
captions say, and the warnings when records of different task versions, or without a measure, meet."""

from __future__ import annotations

import copy

import pytest

from prom_bench.errors import UserError
from prom_bench.report import build_tables
from prom_bench.report.render import show
from prom_bench.results import load_records


@pytest.fixture(scope="module")
def runs(fixture_runs):
    """Task-version-1 records: language-aware EM/F1 only (they predate the paper's measure)."""
    return load_records([fixture_runs])


def with_paper_scores(records: list[dict], version: float = 2.0) -> list[dict]:
    """The same records as a version-2 evaluation writes them: paper_* beside EM/F1, per item and as means
    (the paper's value here: a fixed, different number per item, so the two measures are told apart)."""
    out = copy.deepcopy(records)
    for record in out:
        if record["benchmark"] == "mgsm":
            continue
        for sample in record["samples"]:
            sample["paper_exact_match"] = 0
            sample["paper_f1"] = round(sample["f1"] / 2, 6)
        n = len(record["samples"])
        record["metrics"]["paper_exact_match"] = 0.0
        record["metrics"]["paper_f1"] = 100 * sum(s["paper_f1"] for s in record["samples"]) / n
        record["provenance"]["task_version"] = version
    return out


def column(table, name):
    return table.flat_columns().index(name)


def test_default_is_language_aware_and_compare_paper_switches_to_the_papers(runs):
    [default] = build_tables(runs, "1")
    assert default.title.endswith("(language-aware)") and "language-aware EM/F1" in default.caption
    [compared] = build_tables(runs, "1", compare="paper")
    assert compared.title.endswith("(paper metric)")
    assert "'paper:' rows are always in the paper's measure as well: like is compared with like" in compared.caption
    # these records have no paper_* scores: their cells are missing and a note says why
    prom = next(r for r in compared.rows if r.label == "PROM")
    assert prom.values[column(compared, "XQuAD th paper em")].missing
    assert any("task version < 2.0" in n for n in compared.notes)
    paper_prom = next(r for r in compared.rows if r.label == "paper: PROM")
    assert show(paper_prom.values[column(compared, "XQuAD th paper em")]) == "10.7"


def test_language_aware_beside_the_paper_says_the_measures_differ(runs):
    [table] = build_tables(runs, "1", compare="paper", metric="language-aware")
    assert "NOT the measure of the rows above" in table.caption
    paper_prom = next(r for r in table.rows if r.label == "paper: PROM")
    assert show(paper_prom.values[column(table, "XQuAD th em")]) == "10.7"  # the paper's own measure, flagged


def test_both_measures_side_by_side(runs):
    records = with_paper_scores(runs)
    [table] = build_tables(records, "1", metric="both")
    assert table.title.endswith("(both measures)")
    assert table.flat_columns()[:4] == ["XQuAD th em", "XQuAD th f1", "XQuAD th paper em", "XQuAD th paper f1"]
    assert table.flat_columns()[-4:] == ["avg em", "avg f1", "avg paper em", "avg paper f1"]
    prom = next(r for r in table.rows if r.label == "PROM")
    record = next(
        r for r in records if (r["method"], r["task"]) == ("prom", "prom_xquad_th") and r["settings_id"] == "c69af21c52"
    )
    for metric, name in (
        ("exact_match", "em"),
        ("f1", "f1"),
        ("paper_exact_match", "paper em"),
        ("paper_f1", "paper f1"),
    ):
        assert prom.values[column(table, f"XQuAD th {name}")].number == record["metrics"][metric]
    assert not any("WARNING" in n for n in table.notes)


def test_table3_on_either_measure_says_which(runs):
    records = with_paper_scores(runs)
    language_aware, paper = build_tables(records, "3", metric="both")
    assert language_aware.title == "Table 3: wins and losses against t+e (language-aware)"
    assert paper.title == "Table 3: wins and losses against t+e (paper metric)" and paper.key == "3-paper"
    assert "QA cells compared on language-aware EM/F1" in language_aware.caption
    assert "QA cells compared on the paper's EM/F1" in paper.caption
    counts = lambda t: {r.label: show(r.values[1]) for r in t.rows}  # noqa: E731
    # with paper EM 0 everywhere, only paper F1 can decide a QA cell: the counts may differ, both are computed
    assert set(counts(language_aware)) == set(counts(paper)) and "PROM" in counts(paper)
    [significant, ci] = build_tables(records, "3", metric="paper", significant=True, resamples=200)
    assert ci.key == "3-ci-paper" and {show(r.values[1]) for r in ci.rows} <= {"paper EM", "paper F1", "acc"}


def test_mixed_task_versions_are_never_shown_without_a_warning(runs):
    records = with_paper_scores(runs)
    old = [r for r in runs if r["method"] == "base" and r["task"] == "prom_xquad_th"]
    mixed = [r for r in records if not (r["method"] == "base" and r["task"] == "prom_xquad_th")] + old
    for table in build_tables(mixed, "all", metric="language-aware"):
        if table.key in ("1", "3", "4"):
            assert any(
                n.startswith("WARNING XQuAD th: records of task versions 1, 2.0 side by side") for n in table.notes
            ), table.key
    assert not any("WARNING" in n for t in build_tables(records, "all") for n in t.notes)


def test_unknown_metric_is_one_clear_error(runs):
    with pytest.raises(UserError, match="unknown metric 'f1'; valid: language-aware, paper, both"):
        build_tables(runs, "1", metric="f1")
