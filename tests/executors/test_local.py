"""``--executor local`` on a machine without GPUs: ``gpus_per_unit: 2`` trains in 2 gloo processes and gives the
records of 1 process at the same global batch."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from prom_bench import config as cfg
from prom_bench import pipeline


def _config(tmp_path, *overrides):
    sets = ["train.max_steps=3", "eval.limit=2", "eval.max_gen_toks=8", "regulation=paper", "workers=1", "controls=[]"]
    # LoRA dropout draws its masks per process: the trainer's equivalence (tests/trainer) is of a training
    # without it, and so is this one
    sets.append("train.lora_dropout=0")
    return cfg.load(
        "demo",
        overrides=sets + list(overrides),
        flags={
            "model": "tiny",
            "langs": "th",
            "methods": "t",
            "out": str(tmp_path / "runs"),
            "results": str(tmp_path / "r"),
        },
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path: gloo processes stand in for GPUs")
def test_local_two_processes_equal_one_at_the_same_global_batch(tmp_path):
    one = pipeline.run(_config(tmp_path / "one", "train.per_device_batch_size=4"))
    two = pipeline.run(
        _config(tmp_path / "two", "executor=local", "cluster.gpus_per_unit=2", "train.per_device_batch_size=2")
    )
    key = lambda r: r["task"]  # noqa: E731
    assert [(r["task"], r["metrics"], r["samples"]) for r in sorted(one, key=key)] == [
        (r["task"], r["metrics"], r["samples"]) for r in sorted(two, key=key)
    ]
    adapters = [load_file(f"{r[0]['provenance']['config']['adapter']}/adapter_model.safetensors") for r in (one, two)]
    assert set(adapters[0]) == set(adapters[1])
    for name in adapters[0]:
        torch.testing.assert_close(adapters[0][name], adapters[1][name], rtol=1e-4, atol=1e-6, msg=name)
    # the second really trained in two processes
    import json
    from pathlib import Path

    config = json.loads((Path(two[0]["provenance"]["config"]["adapter"]).parent / "train_config.json").read_text())
    assert config["world_size"] == 2
