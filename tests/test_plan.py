"""Units as plans: decided once, plain JSON, the same on every side; the multi-node launch command per node."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from prom_bench import config as cfg
from prom_bench import pipeline
from prom_bench.launching import Machines, command
from prom_bench.plan import UnitPlan


def _plans(tmp_path, *overrides):
    config = cfg.load(
        "demo",
        overrides=["regulation=paper", *overrides],
        flags={"model": "tiny", "langs": "th,ar", "methods": "base,t,prom,prom-noreg", "out": str(tmp_path)},
    )
    return {p.name: p for p in pipeline.plan_study(config)}


def test_a_plan_is_plain_json_and_round_trips(tmp_path):
    for plan in _plans(tmp_path).values():
        text = plan.to_json()
        json.loads(text)  # plain JSON, nothing else
        assert UnitPlan.from_json(text) == plan


def test_prom_with_lambda_zero_is_t_decided_in_the_plan(tmp_path):
    plans = _plans(tmp_path)
    # the paper's regulation: ar does not pivot (lambda = 0), th does
    assert plans["prom/ar"].pivot_weight == 0.0 and plans["prom/th"].pivot_weight == 0.1
    assert plans["prom/ar"].regulation == {"source": "paper (LLaMA2-7B)", "pivots": False}
    assert plans["prom/ar"].train.id == plans["t/ar"].train.id
    assert plans["prom/ar"].data.parts == plans["t/ar"].data.parts == ["s_t", "s_e2t"]
    assert plans["prom/ar"].train.settings["objective"] == "sft"
    assert plans["prom/ar"].eval.adapter == plans["t/ar"].eval.adapter
    # where the model pivots, PROM and its no-regulation ablation are the same training
    assert plans["prom/th"].train.id == plans["prom-noreg/th"].train.id != plans["t/th"].train.id
    assert plans["prom/th"].train.settings["objective"] == "pivot"
    assert plans["base/th"].train is None and plans["base/th"].eval.adapter is None
    # the records still tell the methods apart
    assert plans["prom/ar"].record_settings["regulated"] is True
    assert plans["prom-noreg/ar"].record_settings["pivot_weight"] == 0.1


def test_more_processes_are_another_training(tmp_path):
    one = _plans(tmp_path / "a")
    two = _plans(tmp_path / "b", "cluster.gpus_per_unit=2")
    assert two["t/th"].train.processes == 2
    assert two["t/th"].train.id != one["t/th"].train.id  # a larger global batch at the same per-device batch
    assert two["base/th"].unit_id == one["base/th"].unit_id  # evaluation alone is unchanged


def test_each_node_of_a_multi_node_training_gets_its_own_rank():
    cfgs = [
        command(Path("c.json"), "m", Path("d"), Path("o"), 16, "fsdp", Machines(2, rank, "node-a", 29511), gpus=True)
        for rank in (0, 1)
    ]
    for rank, (cmd, _env) in enumerate(cfgs):
        args = dict(itertools.pairwise(cmd))
        assert args["--num_processes"] == "16" and args["--num_machines"] == "2"
        assert args["--machine_rank"] == str(rank) and args["--main_process_ip"] == "node-a"
        assert args["--main_process_port"] == "29511" and args["-m"] in ("accelerate.commands.launch", "trainer.launch")
    cpu, env = command(Path("c.json"), "m", Path("d"), Path("o"), 4, None, Machines(2, 1, "node-a", 29511), gpus=False)
    args = dict(itertools.pairwise(cpu))
    assert args["--nproc_per_node"] == "2" and args["--node_rank"] == "1" and env["ACCELERATE_USE_CPU"] == "true"
