"""`prom-bench eval` and `evaluation.evaluate`: all eleven paper cells offline, percent metrics, records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prom_bench.cli import evaluate as _eval_commands  # noqa: F401  (registers `eval` on the app)
from prom_bench.cli.app import app
from prom_bench.errors import UserError
from prom_bench.evaluation import evaluate
from prom_bench.paths import demo_data_dir

PAPER_CELLS = {
    "prom_xquad_th",
    "prom_xquad_ar",
    "prom_xquad_el",
    "prom_mlqa_ar",
    "prom_indicqa_ta",
    "prom_indicqa_mr",
    "prom_indicqa_ml",
    "prom_mgsm_sw",
    "prom_mgsm_th",
    "prom_mgsm_bn",
    "prom_mgsm_te",
}


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory, request):
    """`prom-bench eval --model tiny --langs all --limit 5` once: on the bundled demo data (its default) when
    present, else on ../shared/data plus the MLQA/IndicQA fixtures."""
    results = tmp_path_factory.mktemp("results")
    args = [
        "eval",
        "--model",
        "tiny",
        "--langs",
        "all",
        "--limit",
        "5",
        "--results",
        str(results),
        "--max-gen-toks",
        "8",
    ]
    if not (demo_data_dir() / "eval").is_dir():
        args += ["--data-dir", str(request.getfixturevalue("local_data"))]
    outcome = CliRunner().invoke(app, args)
    return outcome, results


def test_eval_runs_all_eleven_paper_cells(eval_run):
    outcome, results = eval_run
    assert outcome.exit_code == 0, outcome.output
    records = [json.loads(p.read_text()) for p in results.glob("**/*.record.json")]
    assert {r["task"] for r in records} == PAPER_CELLS
    for record in records:
        assert record["method"] == "base" and record["model"] == "tiny-llama"
        assert 1 <= record["n"] <= 5 and record["n"] == len(record["samples"])
        assert record["provenance"]["dataset"]["source"] == "local"
        assert Path(record["provenance"]["dataset"]["path"]).is_file()
        assert record["provenance"]["task_version"] == (1.0 if record["benchmark"] == "mgsm" else 2.0)
        if record["benchmark"] != "mgsm":  # both measures, per item and as means
            assert set(record["metrics"]) == {"exact_match", "f1", "paper_exact_match", "paper_f1"}
            assert all({"paper_exact_match", "paper_f1"} <= set(s) for s in record["samples"])
        # metrics are percent means of the per-item fractions
        for metric, value in record["metrics"].items():
            assert value == pytest.approx(100 * sum(s[metric] for s in record["samples"]) / record["n"])
    for task in PAPER_CELLS:
        assert task in outcome.output


def test_evaluate_rejects_unknown_task_with_suggestion(tiny_model):
    with pytest.raises(UserError, match="did you mean 'prom_xquad_th'"):
        evaluate(tiny_model, ["prom_xquad_thh"])


def test_evaluate_names_missing_local_file(tiny_model, tmp_path):
    (tmp_path / "xquad").mkdir()
    with pytest.raises(UserError, match=r"prom_xquad_el: .*xquad\.el\.json"):
        evaluate(tiny_model, ["prom_xquad_el"], data_dir=tmp_path, limit=1)


def test_eval_adapter_needs_method(tmp_path):
    outcome = CliRunner().invoke(app, ["eval", "--model", "tiny", "--adapter", str(tmp_path), "--langs", "th"])
    assert outcome.exit_code != 0
    assert isinstance(outcome.exception, UserError) and "--method" in str(outcome.exception)


def test_unreachable_hub_is_one_line(tiny_model, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'juletxara/mgsm' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.delenv("PROM_BENCH_DATA_DIR", raising=False)
    with pytest.raises(UserError, match=r"prom_mgsm_sw: its hub data could not be loaded .*--data-dir"):
        evaluate(tiny_model, ["prom_mgsm_sw"], limit=1)


def test_in_memory_model_gives_the_same_results_as_its_path(tiny_model, local_data):
    from prom_bench.models import ModelRef, load

    model, tokenizer = load(ModelRef("tiny", tiny_model, "tiny-llama"))
    kwargs = dict(data_dir=local_data, limit=2, max_gen_toks=4)
    from_path = evaluate(tiny_model, ["prom_mgsm_th", "prom_indicqa_ml"], **kwargs)
    in_memory = evaluate(model, ["prom_mgsm_th", "prom_indicqa_ml"], tokenizer=tokenizer, **kwargs)
    assert [(r.task, r.metrics, r.samples) for r in from_path] == [(r.task, r.metrics, r.samples) for r in in_memory]
    assert [r.n for r in in_memory] == [2, 2]
    responses = [s["response"] for r in in_memory for s in r.samples]
    assert all(isinstance(text, str) for text in responses) and any(text.strip() for text in responses)


def test_a_table_of_demo_results_shows_both_measures(eval_run):
    """The records `prom-bench eval` wrote on the demo data, as Table 1 with --metric both: every QA cell's
    language-aware and paper EM/F1, each equal to the record's."""
    import csv
    import io

    from prom_bench.cli import report as _report_commands  # noqa: F401  (registers `table`)

    outcome, results = eval_run
    assert outcome.exit_code == 0, outcome.output
    # --limit 5 made them smoke tests, which tables show only when asked
    args = ["table", str(results), "--table", "1", "--metric", "both", "--format", "csv", "--include-limited"]
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0, shown.output
    [row] = list(csv.DictReader(io.StringIO(shown.output)))
    assert row["method"] == "base"
    records = {r["task"]: r for r in (json.loads(p.read_text()) for p in results.glob("**/*.record.json"))}
    names = {"exact_match": "em", "f1": "f1", "paper_exact_match": "paper em", "paper_f1": "paper f1"}
    for task, bench, lang in [(t, *t.split("_")[1:]) for t in sorted(PAPER_CELLS) if "_mgsm_" not in t]:
        label = {"xquad": "XQuAD", "mlqa": "MLQA", "indicqa": "IndicQA"}[bench]
        for metric, name in names.items():
            assert float(row[f"{label} {lang} {name}"]) == pytest.approx(records[task]["metrics"][metric], abs=0.05)
