"""The two commands end to end on the tiny model, and the decision cache the pipeline reads."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

import prom_bench.cli  # noqa: F401  (registers the commands)
from prom_bench.cli.app import app
from prom_bench.probe import lens as probe_module
from prom_bench.probe.config import ProbeConfig
from prom_bench.probe.lens import regulation


@pytest.fixture(autouse=True)
def _home(probe_home):
    return probe_home


def test_probe_command_writes_plots_and_cached_decisions(tiny_ref, tmp_path, monkeypatch):
    out = tmp_path / "plots"
    result = CliRunner().invoke(
        app,
        ["probe", "--model", tiny_ref.path, "--langs", "th,sw", "--n-examples", "4", "--shots", "2", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "probe-th.png",
        "probe-sw.png",
        "probe-grid.png",
        "decisions.json",
        "curves.json",
    }
    decisions = json.loads((out / "decisions.json").read_text())
    assert decisions["th"]["n"] == 4 and decisions["th"]["layer"] == 3  # 0.75 of 4 blocks
    assert len(json.loads((out / "curves.json").read_text())["th"]["p_en"]) == 4
    # The pipeline's entry reads the same cache without loading the model again.
    monkeypatch.setattr(probe_module, "load_probe_model", lambda *a, **k: pytest.fail("model loaded despite the cache"))
    cached = regulation(tiny_ref, ["th", "sw"], ProbeConfig(n_examples=4, shots=2))
    assert cached["th"].p_en == decisions["th"]["p_en"]
    assert cached["sw"].pivot_weight(0.1) == (0.1 if decisions["sw"]["pivots"] else 0.0)


def test_probe_bad_values_are_one_line(tiny_ref):
    result = CliRunner().invoke(app, ["probe", "--model", tiny_ref.path, "--langs", "th", "--layer", "nine"])
    assert result.exit_code != 0 and "layer 'nine'" in str(result.exception)


def test_interference_command_on_an_adapter(tiny_ref, tiny, tmp_path):
    from peft import LoraConfig, get_peft_model

    model, _ = tiny
    peft_model = get_peft_model(
        copy.deepcopy(model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path / "step-5")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "interference",
            "--model",
            tiny_ref.path,
            "--lang",
            "th",
            "--pairs",
            "2",
            "--batch-size",
            "2",
            "--max-length",
            "256",
            "--checkpoint",
            f"lora={tmp_path / 'step-5'}",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "interference.json").read_text())
    assert [row["step"] for row in data["series"]["lora"]] == [0, 5]
    assert (out / "interference-th.png").is_file()


def test_probe_compare_base_and_adapter(tiny_ref, tiny, tmp_path):
    from peft import LoraConfig, get_peft_model

    model, _ = tiny
    peft_model = get_peft_model(
        copy.deepcopy(model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path / "run" / "adapter")  # a trainer output folder holds adapter/
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        app,
        [
            "probe",
            "--model",
            tiny_ref.path,
            "--langs",
            "th",
            "--n-examples",
            "3",
            "--shots",
            "1",
            "--compare",
            tiny_ref.path,
            str(tmp_path / "run"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    before, after = json.loads((out / "compare.json").read_text())
    assert before["curves"]["th"]["p_en"] != after["curves"]["th"]["p_en"]  # the adapter changed the model
    assert (out / "compare-th.png").is_file()


def test_cache_keeps_one_slot_per_setting(tiny_ref, monkeypatch):
    two = regulation(tiny_ref, ["th"], ProbeConfig(n_examples=3, shots=2))
    one = regulation(tiny_ref, ["th"], ProbeConfig(n_examples=3, shots=1))
    assert two["th"].p_en != one["th"].p_en  # different prompts, different measurement
    monkeypatch.setattr(probe_module, "load_probe_model", lambda *a, **k: pytest.fail("model loaded despite the cache"))
    assert regulation(tiny_ref, ["th"], ProbeConfig(n_examples=3, shots=2, batch_size=1))["th"] == two["th"]


def test_one_measurement_serves_every_block_and_each_decision_is_cached_per_block(tiny_ref, monkeypatch):
    cfg = ProbeConfig(n_examples=3, shots=1)
    at_2 = regulation(tiny_ref, ["th"], cfg, 2)["th"]
    monkeypatch.setattr(probe_module, "load_probe_model", lambda *a, **k: pytest.fail("model loaded despite the cache"))
    at_3 = regulation(tiny_ref, ["th"], cfg, 0.75)["th"]  # 0.75 of 4 blocks: block 3, from the same curve
    assert (at_2.layer, at_3.layer) == (2, 3)
    result = probe_module.probe(tiny_ref, ["th"], cfg, pivot_layer=2)["th"]
    curve = result["curve"]
    assert (at_2.p_en, at_3.p_en) == (curve["p_en"][1], curve["p_en"][2])
    cache = json.loads((probe_module.probe_cache_dir(tiny_ref) / "decisions.json").read_text())
    (slot,) = [s for s in cache["by_config"].values() if s["config"]["shots"] == 1 and s["config"]["n_examples"] == 3]
    assert sorted(slot["langs"]["th"]["decisions"]) == ["2", "3"]
