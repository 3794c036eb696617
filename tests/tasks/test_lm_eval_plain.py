"""The tasks under plain lm-eval: no prom-bench import, listed by its index, runnable on a local data dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "tasks"
PAPER_TASKS = [
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
]
EXTRA_TASKS = ["prom_xquad_en", "prom_mgsm_en", "prom_indicqa_hi", "prom_indicqa_bn", "prom_indicqa_te"]
GROUPS = ["prom_qa", "prom_mgsm"]
QA_KEYS = ["exact_match,none", "f1,none", "paper_exact_match,none", "paper_f1,none"]

# Runs lm-eval's own CLI in a fresh interpreter and reports whether anything imported prom_bench.
_RUNNER = """
import atexit, runpy, sys
atexit.register(lambda: print("PROM_BENCH_IMPORTED=%s" % any(m == "prom_bench" or m.startswith("prom_bench.") for m in sys.modules)))
sys.argv = ["lm_eval", *sys.argv[1:]]
runpy.run_module("lm_eval", run_name="__main__")
"""


# The same through lm-eval's Python API, indexing only tasks/ (the CLI always indexes lm-eval's ~10k
# upstream YAMLs too, which takes a minute on a busy 2-core machine): listing, then a run.
_API_RUNNER = """
import atexit, json, sys
atexit.register(lambda: print("PROM_BENCH_IMPORTED=%s" % any(m == "prom_bench" or m.startswith("prom_bench.") for m in sys.modules)))
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager
tasks_dir, data_dir, model, names, out = sys.argv[1:]
manager = TaskManager(include_path=tasks_dir, include_defaults=False, metadata={"data_dir": data_dir})
print("INDEXED=" + ",".join(manager.all_tasks))
results = simple_evaluate(model="hf", model_args={"pretrained": model}, device="cpu", batch_size=8,
                          tasks=names.split(","), task_manager=manager, limit=2, bootstrap_iters=0,
                          gen_kwargs={"max_gen_toks": 8})
json.dump({k: results[k] for k in ("results", "n-samples", "configs")}, open(out, "w"), default=str)
"""


def _env() -> dict:
    return {
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
    }


def run_lm_eval(*args: str, cwd: Path, runner: str = _RUNNER) -> subprocess.CompletedProcess:
    env = _env()
    proc = subprocess.run(
        [sys.executable, "-c", runner, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "PROM_BENCH_IMPORTED=False" in proc.stdout
    return proc


def check_results(results: dict) -> None:
    for name in PAPER_TASKS + EXTRA_TASKS:
        metrics = results["results"][name]
        keys = ["accuracy,none"] if "_mgsm_" in name else QA_KEYS
        for key in keys:
            assert 0.0 <= metrics[key] <= 1.0, (name, key)
        assert results["n-samples"][name]["effective"] == 2
        # 2.0: the QA tasks report the paper's measure (paper_*) beside the language-aware one
        assert results["configs"][name]["metadata"]["version"] == (1.0 if "_mgsm_" in name else 2.0)
    assert set(QA_KEYS) <= set(results["results"]["prom_qa"])
    # the group's paper_* are the macro means of its cells' paper_*, as its language-aware EM/F1 are
    qa_cells = [name for name in PAPER_TASKS if "_mgsm_" not in name]
    for key in QA_KEYS:
        mean = sum(results["results"][name][key] for name in qa_cells) / len(qa_cells)
        assert results["results"]["prom_qa"][key] == pytest.approx(mean), key
    assert "accuracy,none" in results["results"]["prom_mgsm"]


def test_lm_eval_api_lists_and_runs_every_task(tmp_path, local_data, tiny_model):
    out = tmp_path / "results.json"
    proc = run_lm_eval(
        str(TASKS),
        str(local_data),
        tiny_model,
        ",".join(GROUPS + EXTRA_TASKS),
        str(out),
        cwd=tmp_path,
        runner=_API_RUNNER,
    )
    indexed = next(line for line in proc.stdout.splitlines() if line.startswith("INDEXED=")).split("=", 1)[1].split(",")
    assert set(PAPER_TASKS + EXTRA_TASKS + GROUPS) <= set(indexed)
    check_results(json.loads(out.read_text()))


@pytest.mark.slow
def test_lm_eval_cli_lists_every_task_and_group(tmp_path):
    # lm-eval 0.4.13 lists with `lm_eval ls tasks` (`--tasks list` of older releases is gone).
    proc = run_lm_eval("ls", "tasks", "--include_path", str(TASKS), cwd=tmp_path)
    for name in PAPER_TASKS + EXTRA_TASKS + GROUPS:
        assert f"|{name} " in proc.stdout.replace("| ", "|"), name


@pytest.mark.slow
def test_lm_eval_cli_runs_every_task_on_local_data(tmp_path, local_data, tiny_model):
    out = tmp_path / "out"
    run_lm_eval(
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model}",
        "--device",
        "cpu",
        "--batch_size",
        "8",
        "--include_path",
        str(TASKS),
        "--tasks",
        ",".join(GROUPS + EXTRA_TASKS),
        "--limit",
        "2",
        "--metadata",
        json.dumps({"data_dir": str(local_data)}),
        "--output_path",
        str(out),
        cwd=tmp_path,
    )
    [results_file] = list(out.glob("**/results_*.json"))
    check_results(json.loads(results_file.read_text()))


@pytest.mark.parametrize("family", ["xquad", "mlqa", "indicqa", "mgsm"])
def test_generated_yamls_are_up_to_date(family, tmp_path):
    """The checked-in YAMLs are exactly what the family's generator writes."""
    import shutil

    copy = tmp_path / family
    shutil.copytree(TASKS / family, copy)
    shutil.copytree(TASKS / "_prom_shared", tmp_path / "_prom_shared")
    for path in copy.glob("prom_*.yaml"):
        path.unlink()
    subprocess.run([sys.executable, str(copy / "_generate_configs.py")], check=True, cwd=tmp_path)
    written = sorted(p.name for p in copy.glob("prom_*.yaml"))
    assert written == sorted(p.name for p in (TASKS / family).glob("prom_*.yaml"))
    for name in written:
        assert (copy / name).read_text(encoding="utf-8") == (TASKS / family / name).read_text(encoding="utf-8"), name


# prom-bench's own evaluation path and plain lm-eval, on the same items with the same budget.
_SAME_ITEMS_RUNNER = """
import atexit, json, sys
atexit.register(lambda: print("PROM_BENCH_IMPORTED=%s" % any(m == "prom_bench" or m.startswith("prom_bench.") for m in sys.modules)))
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager
tasks_dir, data_dir, model, name, out = sys.argv[1:]
manager = TaskManager(include_path=tasks_dir, include_defaults=False, metadata={"data_dir": data_dir})
results = simple_evaluate(model="hf", model_args={"pretrained": model, "dtype": "float32"}, device="cpu",
                          batch_size=8, tasks=[name], task_manager=manager, limit=4, bootstrap_iters=0,
                          log_samples=True)
samples = [{"doc_id": s["doc_id"], "f1": s["f1"], "exact_match": s["exact_match"]} for s in results["samples"][name]]
json.dump({"f1": results["results"][name]["f1,none"], "samples": samples}, open(out, "w"))
"""


@pytest.mark.slow
def test_demo_scores_equal_plain_lm_eval_on_the_same_items(tmp_path):
    # The demo's base XQuAD-th cell (the default model; the demo keeps each task's own budget) against plain
    # lm-eval: the same per-item EM/F1, so the demo understates nothing. The default model scores above 0 here.
    from prom_bench.evaluation import evaluate
    from prom_bench.models import resolve
    from prom_bench.paths import demo_data_dir

    model, data = resolve("default").path, demo_data_dir() / "eval"
    out = tmp_path / "plain.json"
    run_lm_eval(str(TASKS), str(data), model, "prom_xquad_th", str(out), cwd=tmp_path, runner=_SAME_ITEMS_RUNNER)
    plain = json.loads(out.read_text())
    assert plain["f1"] > 0
    ours = evaluate(model, ["prom_xquad_th"], data_dir=data, limit=4, budget="task")[0]
    assert ours.max_gen_toks == 64  # the task's own budget, as plain lm-eval runs it
    assert ours.metrics["f1"] == pytest.approx(100 * plain["f1"], abs=1e-3)  # metrics are rounded to 4 places
    by_doc = {s["doc_id"]: s for s in plain["samples"]}
    assert [(s["exact_match"], s["f1"]) for s in ours.samples] == [
        (by_doc[s["doc_id"]]["exact_match"], by_doc[s["doc_id"]]["f1"]) for s in ours.samples
    ]
