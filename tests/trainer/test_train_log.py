"""The trainer leaves its history: train_log.jsonl, one JSON line per optimizer step, whatever the tracker."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
from test_trainer_loop import BASE, make_examples

from trainer import TrainConfig, train
from trainer.loop import LOG_FILE

FIELDS = {"step", "total", "loss", "loss_pivot", "loss_target", "lr", "grad_norm", "tokens", "tokens_per_s", "seconds"}
FIELDS |= {"supervised_english", "supervised_target"}


def read_log(folder):
    return [json.loads(line) for line in (folder / LOG_FILE).read_text().splitlines()]


def test_one_log_line_per_step_with_each_loss_term(tiny_path, tmp_path):
    cfg = TrainConfig(objective="pivot", pivot_layer=2, per_device_batch_size=2, max_steps=3, **BASE)
    result = train(cfg, tiny_path, make_examples(4), tmp_path / "run", progress=lambda r: None)
    log = read_log(tmp_path / "run")
    assert [entry["step"] for entry in log] == [1, 2, 3]
    assert all(set(entry) == FIELDS for entry in log)
    assert log == json.loads(json.dumps(result.history))  # the same records the progress callback saw
    for entry in log:
        # the objective is lambda * L_n,e + L_N,t, each term logged on its own
        assert entry["loss"] == pytest.approx(cfg.pivot_weight * entry["loss_pivot"] + entry["loss_target"])
        assert entry["grad_norm"] > 0 and math.isfinite(entry["grad_norm"]) and entry["tokens"] > 0


def test_grad_norm_is_measured_before_clipping(tiny_path, tmp_path):
    examples = make_examples(4)
    common = dict(per_device_batch_size=2, max_steps=1, **BASE)
    free = train(TrainConfig(max_grad_norm=0.0, **common), tiny_path, examples, tmp_path / "a", progress=None)
    norm = read_log(tmp_path / "a")[0]["grad_norm"]
    clipped = TrainConfig(max_grad_norm=norm / 4, **common)
    train(clipped, tiny_path, examples, tmp_path / "b", progress=lambda r: None)
    assert read_log(tmp_path / "b")[0]["grad_norm"] == pytest.approx(norm, rel=1e-6)
    assert free.steps == 1


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None, reason="tensorboard is installed here")
def test_a_tracker_that_is_not_installed_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from prom_bench.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["run", "--model", "tiny", "--langs", "th", "--methods", "t", "--set", "train.logging=tensorboard"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs the tensorboard package, which is not installed" in err
    assert not (tmp_path / "runs").exists()  # nothing started
    with pytest.raises(ValueError, match="needs the tensorboard package"):
        TrainConfig(logging="tensorboard").validate()
