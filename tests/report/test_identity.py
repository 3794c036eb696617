"""A result is never silently shown for another: identity, smoke tests, models with one name, seeds.

The records here are built with ``results.record_from`` (the one way records are made) from synthetic
scores, so each test states exactly which setting differs and what the table must then show.
"""

from __future__ import annotations

import csv
import io
import statistics

import numpy as np
import pytest

from prom_bench.report import build_tables, render_tables
from prom_bench.report.bootstrap import compare_records, paired_bootstrap
from prom_bench.report.prepare import prepare
from prom_bench.report.render import show
from prom_bench.results import load_records, record_from, record_key, write_record

MODEL = "SmolLM2-135M-Instruct"
MODEL_ID = {"name": MODEL, "source": "local", "content_hash": "a" * 64, "key": "aaaaaaaaaa"}
T_SETTINGS = {"objective": "sft", "lora_r": 8, "lora_alpha": 16, "eval.limit": None, "eval.max_gen_toks": 24}


def make(method, task, f1, *, settings=None, seed=0, limit=None, n=6, date="2026-01-01T00:00:00+00:00", **kw):
    samples = [{"doc_id": i, "exact_match": 0, "f1": f1 / 100} for i in range(n)]
    return record_from(
        task=task,
        model=MODEL,
        method=method,
        metrics={"exact_match": 0.0, "f1": f1},
        n=n,
        samples=samples,
        settings=dict(T_SETTINGS if settings is None else settings),
        seed=seed,
        limit=limit,
        model_id=kw.pop("model_id", MODEL_ID),
        date=date,
        **kw,
    )


def table1_rows(records, **kwargs):
    table = build_tables(records, "1", **kwargs)[0]
    columns = table.flat_columns()
    return table, {row.label: row.values[columns.index("XQuAD ar f1")] for row in table.rows}


def test_a_seed_and_rank_change_does_not_replace_the_original(tmp_path):
    # The newcomer's case: --set seed=1 --set train.seed=1 --set train.lora_r=2 after the seed-0, rank-8 run.
    original = make("t", "prom_xquad_ar", 9.7, seed=0)
    changed = make("t", "prom_xquad_ar", 23.1, seed=1, settings={**T_SETTINGS, "lora_r": 2}, date="2026-01-02")
    assert record_key(original) != record_key(changed) and original["settings_id"] != changed["settings_id"]
    for record in (original, changed):
        write_record(tmp_path, record)
    table, rows = table1_rows(load_records([tmp_path]))
    assert rows == {"t [lora_r=8]": rows["t [lora_r=8]"], "t [lora_r=2]": rows["t [lora_r=2]"]}
    assert rows["t [lora_r=8]"].number == 9.7  # the original, unchanged, in a row of its own
    assert rows["t [lora_r=2]"].number == 23.1


def test_a_rerun_on_fewer_cells_is_named_in_a_note_not_mixed_in():
    original = [make("t", task, 9.7) for task in ("prom_xquad_ar", "prom_mlqa_ar")]
    changed = make("t", "prom_xquad_ar", 23.1, settings={**T_SETTINGS, "lora_r": 2}, date="2026-01-02")
    table, rows = table1_rows([*original, changed])
    assert [r.label for r in table.rows] == ["t"] and rows["t"].number == 9.7
    assert any("lora_r 8→2" in note and "prom_xquad_ar" in note for note in table.notes)


def test_a_limited_eval_after_a_full_one_stays_out_and_is_flagged_when_asked():
    # The newcomer's case: --limit 2 after a 6-item evaluation (XQuAD ar F1 9.7 became 23.1).
    full = make("base", "prom_xquad_ar", 9.7, settings={"eval.limit": None}, n=6)
    smoke = make("base", "prom_xquad_ar", 23.1, settings={"eval.limit": 2}, limit=2, n=2, date="2026-01-02")
    assert smoke["limited"] and not full["limited"]
    table, rows = table1_rows([full, smoke])
    assert [r.label for r in table.rows] == ["base"] and rows["base"].number == 9.7 and not rows["base"].limited
    assert any("1 limited record(s)" in note and "--include-limited" in note for note in table.notes)
    markdown = render_tables([full, smoke], "1", "markdown")
    assert "23.1" not in markdown and "9.7" in markdown

    table, rows = table1_rows([full, smoke], include_limited=True)
    assert rows["base [eval.limit=–]"].number == 9.7 and not rows["base [eval.limit=–]"].limited
    assert rows["base [eval.limit=2]"].limited and show(rows["base [eval.limit=2]"]) == "23.1‡"
    assert "‡: a smoke test" in table.caption


def test_only_limited_records_are_shown_flagged_rather_than_nothing():
    smoke = make("base", "prom_xquad_ar", 23.1, settings={"eval.limit": 2}, limit=2, n=2)
    table, rows = table1_rows([smoke])
    assert rows["base"].limited and any("only limited records" in n for n in table.notes)


def test_a_limit_larger_than_the_set_is_not_a_smoke_test():
    whole = make("base", "prom_xquad_ar", 9.7, settings={"eval.limit": 100}, limit=100, n=6)
    assert not whole["limited"]


def test_two_models_with_one_name_are_kept_apart():
    other_id = {**MODEL_ID, "content_hash": "b" * 64, "key": "bbbbbbbbbb"}
    a = make("base", "prom_xquad_ar", 9.7)
    b = make("base", "prom_xquad_ar", 30.0, model_id=other_id, date="2026-01-02")
    table, rows = table1_rows([a, b])
    assert {v.number for v in rows.values()} == {9.7, 30.0}
    assert set(rows) == {f"{MODEL} [aaaaaa] · base", f"{MODEL} [bbbbbb] · base"}
    assert any("names 2 different models" in n for n in table.notes)


def test_a_new_task_version_replaces_the_cell_with_a_note():
    old = make("base", "prom_xquad_ar", 9.7, task_settings={"task_version": 1.0, "data": "local:x"})
    new = make("base", "prom_xquad_ar", 12.0, task_settings={"task_version": 2.0, "data": "local:x"}, date="2026-02")
    table, rows = table1_rows([old, new])
    assert rows["base"].number == 12.0
    assert any("2 versions of the task" in n and "task_version 1→2" in n for n in table.notes)


def test_seeds_are_aggregated_mean_sd_and_count():
    scores = {0: 10.0, 1: 14.0, 2: 15.0}
    records = [make("t", "prom_xquad_ar", f1, seed=seed) for seed, f1 in scores.items()]
    table, rows = table1_rows(records)
    value = rows["t"]
    # independent reference: numpy's sample standard deviation
    assert value.number == pytest.approx(np.mean(list(scores.values())))
    assert value.sd == pytest.approx(np.std(list(scores.values()), ddof=1))
    assert value.seeds == 3 and show(value) == "13.0 ±2.6 (n=3)"
    assert "mean and sample standard deviation over k seeds" in table.caption


def test_seed_aggregates_pair_items_by_their_mean_over_seeds():
    # PROM's two seeds differ per item; the paired bootstrap runs on the per-item means over seeds
    def with_items(method, seed, scores):
        record = make(method, "prom_xquad_ar", 100 * statistics.fmean(scores), seed=seed, n=len(scores))
        record["samples"] = [{"doc_id": i, "exact_match": s, "f1": s} for i, s in enumerate(scores)]
        record["metrics"] = {"exact_match": 100 * statistics.fmean(scores), "f1": 100 * statistics.fmean(scores)}
        return record

    prom = [with_items("prom", 0, [1, 0, 1, 1, 0, 1]), with_items("prom", 1, [1, 1, 0, 1, 0, 1])]
    base = [with_items("t+e", 0, [0, 0, 1, 0, 0, 0])]
    aggregates = {r["method"]: r for r in prepare(prom + base).records}
    assert [s["f1"] for s in aggregates["prom"]["samples"]] == [1, 0.5, 0.5, 1, 0, 1]
    [diff, _em] = compare_records(aggregates["prom"], aggregates["t+e"], ("f1", "exact_match"), resamples=300)
    reference = paired_bootstrap(
        np.array([1, 0.5, 0.5, 1, 0, 1]) * 100, np.array([0, 0, 1, 0, 0, 0]) * 100, resamples=300
    )
    assert (diff.diff, diff.low, diff.high) == pytest.approx(reference)
    assert diff.diff == pytest.approx(aggregates["prom"]["metrics"]["f1"] - aggregates["t+e"]["metrics"]["f1"])


def test_csv_tables_read_as_numbers_in_pandas(fixture_runs):
    pd = pytest.importorskip("pandas")
    seeded = [make("t", "prom_xquad_ar", f1, seed=s) for s, f1 in ((0, 9.7), (1, 12.0))]
    smoke = make("base", "prom_mgsm_sw", 5.0, settings={"eval.limit": 2}, limit=2, n=2)
    smoke["metrics"], smoke["samples"] = (
        {"accuracy": 50.0},
        [{"doc_id": 0, "accuracy": 1}, {"doc_id": 1, "accuracy": 0}],
    )
    sources = {"fixture runs": load_records([fixture_runs]), "seeds and a smoke test": seeded + [smoke]}
    text_columns = {"method", "run", "model", "method_id", "note", "cell", "metric", "verdict"}
    for name, records in sources.items():
        for key in ("1", "2", "3", "4"):
            for table in build_tables(records, key, include_limited=True, significant=key == "3", resamples=200):
                text = render_tables(records, key, "csv", include_limited=True) if table.key != "3-ci" else None
                if text is None:
                    from prom_bench.report.render import to_csv

                    text = to_csv(table)
                frame = pd.read_csv(io.StringIO(text))
                for column in frame.columns:
                    if column in text_columns or frame[column].isna().all():
                        continue
                    assert pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]), (
                        name,
                        table.key,
                        column,
                        frame[column].tolist(),
                    )
    # the flags are columns of their own
    header = next(csv.reader(io.StringIO(render_tables(seeded, "1", "csv"))))
    assert {"XQuAD ar f1", "XQuAD ar f1 sd", "XQuAD ar f1 seeds", "avg f1 partial"} <= set(header)


def test_json_format_holds_plain_numbers(fixture_runs):
    import json

    data = json.loads(render_tables(load_records([fixture_runs]), "2", "json"))
    row = data[0]["rows"][0]
    assert data[0]["key"] == "2" and isinstance(row["MGSM accuracy th"], float)
    assert row["MGSM accuracy avg partial"] in (True, False)


def test_long_export_has_one_row_per_record_and_metric(tmp_path, fixture_runs):
    pd = pytest.importorskip("pandas")
    from prom_bench.report.export import write_export

    records = load_records([fixture_runs])
    path, rows = write_export(records, tmp_path / "all.csv")
    frame = pd.read_csv(path)
    assert rows == len(frame) == sum(len(r["metrics"]) for r in records)
    assert pd.api.types.is_float_dtype(frame["value"]) and pd.api.types.is_bool_dtype(frame["limited"])
    pivot = frame[frame.task == "prom_xquad_th"].pivot_table(
        index=["method", "settings_id"], columns="metric", values="value"
    )
    prom_main = next(
        r
        for r in records
        if r["method"] == "prom"
        and r["task"] == "prom_xquad_th"
        and r["settings"] == {"pivot_layer": 24, "label_smoothing": 0.1, "pivot_weight": 0.1}
    )
    assert pivot.loc[("prom", prom_main["settings_id"]), "f1"] == prom_main["metrics"]["f1"]
    if pytest.importorskip("pyarrow"):
        path, _ = write_export(records, tmp_path / "all.parquet")
        assert len(pd.read_parquet(path)) == rows


def test_one_run_over_languages_is_one_row_though_each_language_has_its_own_data():
    # Every language's mixture has its own content, so data.sha256 differs across the cells of one run: found
    # on the demo's output, where each language of a trained method had become a run (a row) of its own.
    th = {**T_SETTINGS, "data.sha256": "1" * 16}
    ar = {**T_SETTINGS, "data.sha256": "2" * 16}
    records = [make("t", "prom_xquad_th", 11.9, settings=th), make("t", "prom_xquad_ar", 12.5, settings=ar)]
    records += [make("t", "prom_mlqa_ar", 3.0, settings=ar)]
    table = build_tables(records, "1")[0]
    columns = table.flat_columns()
    assert [r.label for r in table.rows] == ["t"]
    (row,) = table.rows
    assert row.values[columns.index("XQuAD th f1")].number == 11.9
    assert row.values[columns.index("XQuAD ar f1")].number == 12.5
    assert row.values[columns.index("MLQA ar f1")].number == 3.0
    assert not any("setting" in note for note in table.notes), table.notes


def test_seeds_whose_mixtures_differ_are_still_one_cell_over_seeds():
    records = [
        make("t", "prom_xquad_ar", f1, seed=seed, settings={**T_SETTINGS, "data.sha256": sha * 16})
        for seed, f1, sha in ((0, 10.0, "1"), (1, 20.0, "2"))
    ]
    (aggregate,) = prepare(records).records
    assert aggregate["n_seeds"] == 2 and aggregate["metrics"]["f1"] == 15.0


def test_a_rerun_on_changed_data_keeps_both_records_and_shows_the_newest_with_a_note(tmp_path):
    old = make("t", "prom_xquad_ar", 9.7, settings={**T_SETTINGS, "data.sha256": "1" * 16})
    new = make("t", "prom_xquad_ar", 23.1, settings={**T_SETTINGS, "data.sha256": "2" * 16}, date="2026-01-02")
    assert record_key(old) != record_key(new)  # a change of data never replaces a result on disk
    for record in (old, new):
        write_record(tmp_path, record)
    assert len(load_records([tmp_path])) == 2
    table, rows = table1_rows(load_records([tmp_path]))
    assert list(rows) == ["t"] and rows["t"].number == 23.1
    assert any("prom_xquad_ar" in note and "several versions of its data" in note for note in table.notes)
