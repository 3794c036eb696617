"""lm-eval's own files both ways: a plain `lm_eval --log_samples` folder renders in `prom-bench table` with
the numbers lm-eval printed, and `prom-bench eval --lm-eval-output` writes files that read back the same."""

from __future__ import annotations

import json
import re

import pytest
from test_lm_eval_plain import ROOT, run_lm_eval

from prom_bench.lm_eval_files import load_all
from prom_bench.report.render import fmt_number


def printed_scores(stdout: str, task: str) -> dict[str, float]:
    """The scores in lm-eval's printed results table (``|prom_xquad_th|1|none|0|f1|↑|0.0123|±|...``)."""
    scores, current = {}, None
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7:
            continue
        current = cells[0] or current
        if current == task and cells[4] in ("exact_match", "f1", "accuracy"):
            scores[cells[4]] = float(cells[6])
    return scores


@pytest.mark.slow
def test_a_plain_lm_eval_folder_renders_with_lm_evals_numbers(tmp_path, tiny_model, cli_main, capsys):
    out = tmp_path / "OUT"
    args = ["--model", "hf", "--model_args", f"pretrained={tiny_model}", "--include_path", "tasks/"]
    args += ["--tasks", "prom_xquad_th", "--limit", "3", "--log_samples", "--output_path", str(out)]
    args += ["--metadata", json.dumps({"data_dir": "prom_bench/demo_data/eval"}), "--device", "cpu"]
    proc = run_lm_eval(*args, cwd=ROOT)
    printed = printed_scores(proc.stdout, "prom_xquad_th")
    assert set(printed) == {"exact_match", "f1"}, proc.stdout[-2000:]
    [results_file] = out.glob("**/results_*.json")
    assert list(results_file.parent.glob("samples_prom_xquad_th_*.jsonl"))

    [record] = load_all([out])
    assert record["task"] == "prom_xquad_th" and record["method"] == "base" and record["n"] == 3
    assert record["limited"] and record["limit"] == 3 and record["seed"] is None
    stored = json.loads(results_file.read_text())["results"]["prom_xquad_th"]
    for metric, value in printed.items():
        assert record["metrics"][metric] == pytest.approx(100 * stored[f"{metric},none"])
        assert abs(record["metrics"][metric] - 100 * value) <= 0.005  # lm-eval prints 4 decimals
    assert record["task_settings"]["data"].startswith("local:")
    for sample in record["samples"]:
        assert sample["prompt"].startswith("บริบท:") and sample["gold"] and isinstance(sample["response"], str)

    code, stdout = cli_main("table", str(out), "--table", "1", "--format", "markdown")
    assert code == 0
    row = next(line for line in stdout.splitlines() if line.startswith("| base"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == [fmt_number(100 * printed["exact_match"]) + "‡", fmt_number(100 * printed["f1"]) + "‡"]
    assert "only limited records" in stdout


def test_eval_writes_lm_eval_files_that_read_back_as_its_records(tmp_path, tiny_model, cli_main):
    from prom_bench.results import load_records, record_key

    args = ["eval", "--model", "tiny", "--langs", "th", "--limit", "2", "--max-gen-toks", "8"]
    args += ["--results", str(tmp_path / "records"), "--lm-eval-output", str(tmp_path / "lm")]
    code, _ = cli_main(*args)
    assert code == 0
    ours = sorted(load_records([tmp_path / "records"]), key=lambda r: r["task"])
    theirs = sorted(load_all([tmp_path / "lm"]), key=lambda r: r["task"])
    assert [r["task"] for r in theirs] == ["prom_mgsm_th", "prom_xquad_th"]
    for a, b in zip(ours, theirs):
        assert record_key(a)[1:] == record_key(b)[1:]  # same model identity, settings, task version, seed
        assert a["metrics"] == b["metrics"] and a["n"] == b["n"]
        assert [(s["doc_id"], s["prompt"], s["gold"], s["response"]) for s in a["samples"]] == [
            (s["doc_id"], s["prompt"], s["gold"], s["response"]) for s in b["samples"]
        ]
    assert re.search(r"results_.*\.json", " ".join(p.name for p in (tmp_path / "lm").rglob("*")))


def test_results_files_are_read_as_percent_with_their_samples(tmp_path, tiny_model, cli_main):
    # lm-eval's layout (as a plain run writes it, values changed to be non-zero): fractions -> percent
    folder = tmp_path / "OUT" / "model"
    folder.mkdir(parents=True)
    stamp = "2026-01-01T00-00-00.000000"
    results = {
        "results": {
            "prom_xquad_th": {"alias": "prom_xquad_th", "exact_match,none": 0.25, "f1,none": 0.4567},
            "prom_qa": {"exact_match,none": 0.25, "f1,none": 0.4567},  # a group: skipped
        },
        "configs": {"prom_xquad_th": {"dataset_path": "google/xquad", "dataset_kwargs": {"split": "validation"}}},
        "versions": {"prom_xquad_th": 1.0},
        "n-samples": {"prom_xquad_th": {"original": 1190, "effective": 4}},
        "config": {"model": "hf", "model_args": {"pretrained": tiny_model}, "limit": None, "gen_kwargs": {}},
        "date": 1767225600.0,
    }
    (folder / f"results_{stamp}.json").write_text(json.dumps(results))
    lines = [
        {
            "doc_id": i,
            "doc": {"answers": {"text": [f"gold {i}", "other"]}},
            "target": f"gold {i}",
            "arguments": {"gen_args_0": {"arg_0": f"prompt {i}", "arg_1": {"until": ["\n"]}}},
            "filtered_resps": [f"answer {i}"],
            "exact_match": float(i == 0),
            "f1": [1.0, 0.5, 0.3268, 0.0][i],
        }
        for i in range(4)
    ]
    (folder / f"samples_prom_xquad_th_{stamp}.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    [record] = load_all([tmp_path / "OUT"])
    assert record["metrics"] == {"exact_match": 25.0, "f1": 45.67} and record["n"] == 4 and not record["limited"]
    assert record["samples"][1] == {
        "doc_id": 1,
        "exact_match": 0,
        "f1": 0.5,
        "prompt": "prompt 1",
        "gold": ["gold 1", "other"],
        "response": "answer 1",
    }
    assert record["task_settings"]["data"] == "hub:google/xquad@None"
    code, stdout = cli_main("table", str(tmp_path / "OUT"), "--table", "1", "--format", "csv")
    assert code == 0 and stdout.splitlines()[1].startswith("base,tiny-llama,base,25.0,45.67,")
    code, _ = cli_main("table", str(tmp_path / "OUT" / "model" / f"results_{stamp}.json"), "--table", "1")
    assert code == 0  # one results file named directly
    code, _ = cli_main("report", str(tmp_path / "OUT"), "--out", str(tmp_path / "r.html"), "--compare", "none")
    assert code == 0 and "<td>45.7</td>" in (tmp_path / "r.html").read_text()
