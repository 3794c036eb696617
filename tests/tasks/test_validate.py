"""`prom-bench tasks validate`: a clean tasks/ passes; broken YAMLs are each named with their problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prom_bench.cli import tasks as _task_commands  # noqa: F401  (registers `tasks validate/list`)
from prom_bench.cli.app import app
from prom_bench.tasks_validate import validate

TASKS = Path(__file__).resolve().parents[2] / "tasks"


def test_bundled_tasks_are_clean(local_data):
    problems, counts = validate(TASKS, data_dir=local_data, docs=2)
    assert [str(p) for p in problems] == []
    assert counts == {"files": 18, "tasks": 16, "groups": 2}


@pytest.fixture()
def broken_tasks(tmp_path) -> Path:
    root = tmp_path / "tasks"
    shutil.copytree(TASKS, root, ignore=shutil.ignore_patterns("__pycache__"))
    el = root / "xquad" / "prom_xquad_el.yaml"
    el.write_text(el.read_text(encoding="utf-8").replace("doc_to_text:", "doc_to_txt:"), encoding="utf-8")
    th = root / "xquad" / "prom_xquad_th.yaml"
    th.write_text(
        th.read_text(encoding="utf-8")
        .replace("บริบท", "Context")
        .replace("คำถาม", "Question")
        .replace("คำตอบ", "Answer"),
        encoding="utf-8",
    )
    (root / "mgsm" / "prom_mgsm_xx.yaml").write_text("task: [prom_mgsm_xx\n", encoding="utf-8")
    group = root / "_prom_mgsm.yaml"
    group.write_text(group.read_text(encoding="utf-8").replace("- prom_mgsm_te", "- prom_mgsm_tel"), encoding="utf-8")
    return root


def test_validate_names_each_broken_file(broken_tasks, local_data):
    outcome = CliRunner().invoke(
        app, ["tasks", "validate", str(broken_tasks), "--data-dir", str(local_data), "--docs", "1"]
    )
    assert outcome.exit_code == 1
    lines = [line for line in outcome.output.splitlines() if line.startswith(str(broken_tasks))]
    by_file = {Path(line.split(": ", 1)[0]).name: line for line in lines}
    assert "unknown task key 'doc_to_txt' (did you mean 'doc_to_text'?)" in by_file["prom_xquad_el.yaml"]
    assert "lm-eval cannot read it" in by_file["prom_mgsm_xx.yaml"] and "line 2" in by_file["prom_mgsm_xx.yaml"]
    assert "expected the script of 'th'" in by_file["prom_xquad_th.yaml"]
    assert "'prom_mgsm_tel' is no task or group (did you mean 'prom_mgsm_te'?)" in by_file["_prom_mgsm.yaml"]
    assert len(lines) == 4


def test_generation_values_of_the_wrong_type_are_problems(tmp_path):
    """lm-eval takes ``max_gen_toks: sixty`` on trust and fails only when it generates; validate names it."""
    from prom_bench.tasks_validate import check_file

    path = tmp_path / "prom_xquad_th.yaml"
    path.write_text(
        "task: prom_xquad_th\noutput_type: generate_until\nnum_fewshot: -1\n"
        "generation_kwargs:\n  max_gen_toks: sixty\n  until: 5\n  do_sample: maybe\nmetadata:\n  version: 1\n",
        encoding="utf-8",
    )
    _, problems = check_file(path)
    messages = [p.message for p in problems]
    assert "generation_kwargs.max_gen_toks: 'sixty' must be a whole number >= 1" in messages
    assert "generation_kwargs.until: 5 must be a string or a list of strings" in messages
    assert "generation_kwargs.do_sample: 'maybe' must be true or false" in messages
    assert "num_fewshot: -1 must be a whole number >= 0" in messages
    outcome = CliRunner().invoke(app, ["tasks", "validate", str(tmp_path)])
    assert outcome.exit_code == 1 and "max_gen_toks: 'sixty'" in outcome.output
