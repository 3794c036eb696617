"""The backend choice as a user meets it: one line and exit 2 for what cannot run, nothing written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from prom_bench import config as cfg
from prom_bench.errors import UserError

from .conftest import vllm_missing

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.mark.skipif(vllm_missing() is None, reason="vLLM is installed here: the missing-extra message cannot show")
@pytest.mark.parametrize("command", ["eval", "run"])
def test_backend_vllm_without_vllm_is_one_line_naming_the_extra(tmp_path, command):
    args = ["--model", "tiny", "--langs", "th", "--limit", "1", "--backend", "vllm", "--results", str(tmp_path / "r")]
    done = _cli(command, *args, *(["--out", str(tmp_path / "o")] if command == "run" else []), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e '.[vllm]'" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()


def test_eval_url_with_nothing_listening_is_one_line_and_writes_nothing(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago, and is closed again
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = _cli(
        "eval", "--model", "tiny", "--langs", "th", "--limit", "1", "--eval-url", f"http://127.0.0.1:{port}/v1",
        "--results", str(tmp_path / "r"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "nothing answers" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_eval_url_and_backend_flags_that_contradict(tmp_path):
    done = _cli("eval", "--model", "tiny", "--eval-url", "http://127.0.0.1:9/v1", "--backend", "vllm", cwd=tmp_path)
    assert done.returncode == 2 and "give one of them" in done.stderr
    done = _cli("eval", "--model", "tiny", "--eval-model", "A", cwd=tmp_path)
    assert done.returncode == 2 and "--eval-url" in done.stderr
    done = _cli("eval", "--model", "tiny", "--backend", "vlm", cwd=tmp_path)
    assert done.returncode == 2 and "did you mean 'vllm'" in done.stderr


def test_vllm_settings_are_documented_and_checked():
    documented = {key: help_ for key, _default, help_ in cfg.describe()}
    for key in ("backend", "tensor_parallel_size", "data_parallel_size", "gpu_memory_utilization", "max_model_len"):
        assert documented[f"eval.{key}"], key
    assert "adapter_config.json" in documented["eval.max_lora_rank"]
    assert cfg.load("demo", overrides=["eval.backend=vllm", "eval.max_lora_rank=64"]).eval.max_lora_rank == 64
    for bad in ("eval.max_lora_rank=4", "eval.tensor_parallel_size=0", "eval.gpu_memory_utilization=1.5"):
        with pytest.raises(UserError, match=bad.split("=")[0]):
            cfg.load("demo", overrides=[bad])


def test_engine_sizing_leaves_content_ids_alone():
    """Parallelism, memory and LoRA slots cannot change an answer: finished units stay valid; the backend can."""
    hf = cfg.EvalConfig()
    sized = cfg.EvalConfig(tensor_parallel_size=4, gpu_memory_utilization=0.5, max_lora_rank=64)
    assert (
        hf.identity() == sized.identity() == {"data_dir": "demo", "limit": None, "batch_size": 8, "max_gen_toks": None}
    )
    assert cfg.EvalConfig(backend="vllm").identity()["backend"] == "vllm"


def test_server_urls_are_read_with_or_without_the_api_path():
    from prom_bench.engines.server import api_root

    for url in ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1/completions"):
        assert api_root(url) == "http://127.0.0.1:8000"
    with pytest.raises(UserError, match="not an http"):
        api_root("127.0.0.1:8000")
