"""The one cell registry: the language table and the benchmark registry agree with tasks/ and its groups."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prom_bench import benchmarks, languages
from prom_bench.errors import UserError
from prom_bench.report.cells import ALL_CELLS, MGSM_CELLS, QA_CELLS

TASKS = Path(__file__).resolve().parents[1] / "tasks"


def _group(name: str) -> dict:
    return yaml.safe_load((TASKS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("group_file, cells", [("_prom_qa.yaml", QA_CELLS), ("_prom_mgsm.yaml", MGSM_CELLS)])
def test_group_yamls_list_the_registry_cells_in_order(group_file, cells):
    group = _group(group_file)
    assert group["task"] == [c.task for c in cells]
    for entry in group["aggregate_metric_list"]:  # an average over a metric every member reports
        assert all(entry["metric"] in benchmarks.BENCHMARKS[c.benchmark].recorded for c in cells), entry


def test_every_cell_has_its_task_yaml_and_every_family_its_folder():
    for lang in languages.LANGUAGES.values():
        for task in lang.tasks:
            family = benchmarks.family_of(task)
            assert (TASKS / family / f"{task}.yaml").is_file(), task
    assert {p.name for p in TASKS.iterdir() if p.is_dir() and not p.name.startswith("_")} == set(benchmarks.BENCHMARKS)


def test_the_paper_columns_are_cells_of_the_language_table():
    for bench in benchmarks.BENCHMARKS.values():
        for code in bench.columns:
            assert f"prom_{bench.family}_{code}" in languages.get(code).tasks


def test_cells_come_from_the_language_table():
    # The tables' cells are the paper's nine languages' (Hindi's IndicQA cell, a built-in language beyond the
    # paper's, joins the tables from its records: tests/test_user_languages.py)
    expected = {(t, lang.code) for lang in languages.LANGUAGES.values() if lang.paper for t in lang.tasks}
    assert {(c.task, c.lang) for c in ALL_CELLS} == expected and len(ALL_CELLS) == 11
    assert [c.task for c in QA_CELLS][:3] == ["prom_xquad_th", "prom_xquad_ar", "prom_xquad_el"]  # the paper's order
    assert all(c.metrics == benchmarks.BENCHMARKS[c.benchmark].metrics for c in ALL_CELLS)


def test_a_task_outside_the_registry_is_one_clear_error():
    assert benchmarks.family_of("prom_indicqa_ta") == "indicqa"
    with pytest.raises(UserError, match=r"task 'prom_squad_th' is not a prom-bench task; valid: prom_<xquad\|mlqa"):
        benchmarks.family_of("prom_squad_th")
