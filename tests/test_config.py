from __future__ import annotations

import pytest

from prom_bench import config as cfg
from prom_bench.errors import UserError


def test_presets_load_and_differ():
    demo, paper = cfg.load("demo"), cfg.load("paper")
    assert demo.model == "default" and demo.eval.data_dir == "demo"
    assert paper.train.lr == 2e-5 and paper.train.warmup_ratio == 0.03 and paper.train.epochs == 3
    assert paper.train.pivot_layer == 24 and paper.train.label_smoothing == 0.1 and paper.train.pivot_weight == 0.1
    assert paper.train.max_length == 1024


def test_layers_file_then_overrides_then_flags(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text("train:\n  lr: 0.001\n  max_steps: 7\nmethods: [t]\n")
    config = cfg.load("demo", user, ["train.max_steps=9", "eval.limit=3"], {"langs": "th,ar"})
    assert config.train.lr == 0.001 and config.train.max_steps == 9 and config.eval.limit == 3
    assert config.methods == ["t"] and config.langs == ["th", "ar"]


def test_values_are_checked_and_coerced():
    config = cfg.load("demo", overrides=["train.lr=1", "methods=prom,t+e", "train.pivot_layer=0.75"])
    assert config.train.lr == 1 and config.methods == ["prom", "t+e"]
    assert config.train.pivot_layer == 0.75
    # an int pivot layer stays an int: a block index, not a fraction of depth
    assert type(cfg.load("demo", overrides=["train.pivot_layer=22"]).train.pivot_layer) is int
    with pytest.raises(UserError, match="workers = 0"):
        cfg.load("demo", overrides=["workers=0"])
    with pytest.raises(UserError, match="KEY=VALUE"):
        cfg.load("demo", overrides=["train.lr"])


def test_fingerprint_is_stable_and_sensitive():
    a, b = cfg.load("demo"), cfg.load("demo", overrides=["train.lr=0.5"])
    assert cfg.fingerprint(a.to_dict()) == cfg.fingerprint(cfg.load("demo").to_dict())
    assert cfg.fingerprint(a.to_dict()) != cfg.fingerprint(b.to_dict())


def test_every_setting_is_described():
    rows = cfg.describe()
    assert all(help_ for _key, _default, help_ in rows), [k for k, _d, h in rows if not h]
    keys = {k for k, _d, _h in rows}
    assert {"model", "methods", "train.lr", "train.pivot_layer", "eval.limit", "probe.shots"} <= keys


def test_a_run_has_one_n_and_probe_layer_is_for_a_standalone_probe():
    with pytest.raises(UserError, match=r"probe.layer = 2 has no effect in a run.*set train.pivot_layer instead"):
        cfg.load("demo", overrides=["probe.layer=2"])
    assert cfg.load("demo").probe.layer is None and cfg.load("paper").probe.layer is None
    assert type(cfg.load("demo", overrides=["train.pivot_layer=0.5"]).train.pivot_layer) is float
