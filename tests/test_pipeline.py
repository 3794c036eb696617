"""The study end to end on the tiny model: records, reuse, resume, force, and parallel units."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prom_bench import config as cfg
from prom_bench import evaluation, pipeline
from prom_bench.results import load_records


def _config(tmp_path, **flags):
    overrides = [
        "train.max_steps=2",
        "eval.limit=2",
        "workers=1",
        "regulation=paper",
        "eval.max_gen_toks=8",
        "controls=[]",
    ]
    return cfg.load(
        "demo",
        overrides=overrides + flags.pop("overrides", []),
        flags={"model": "tiny", "out": str(tmp_path / "runs"), "results": str(tmp_path / "results"), **flags},
    )


@pytest.fixture
def count_evaluations(monkeypatch):
    calls = []
    real = evaluation.evaluate

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", counting)
    return calls


def test_run_records_reuse_and_force(tmp_path, count_evaluations, monkeypatch):
    config = _config(tmp_path, langs="ar", methods="base,t,prom")
    records = pipeline.run(config)
    # ar has two cells (XQuAD, MLQA); three methods -> six records, also on disk
    assert sorted((r["method"], r["task"]) for r in records) == sorted(
        (m, t) for m in ("base", "t", "prom") for t in ("prom_xquad_ar", "prom_mlqa_ar")
    )
    assert len(load_records([tmp_path / "results"])) == 6
    by_method = {r["method"]: r for r in records}
    # the paper's regulation for ar: no English pivot, so PROM is t exactly and shares its training
    prom, t = by_method["prom"], by_method["t"]
    assert prom["settings"]["pivot_weight"] == 0.0
    assert prom["provenance"]["config"]["adapter"] == t["provenance"]["config"]["adapter"]
    assert prom["metrics"] == t["metrics"]
    assert len(count_evaluations) == 2  # PROM's evaluation is t's: same model, same adapter, same tasks

    # a rerun with the same config does no work at all
    def refuse(*_args, **_kwargs):
        raise AssertionError("a finished unit was run again")

    monkeypatch.setattr("trainer.train", refuse)
    monkeypatch.setattr(evaluation, "evaluate", refuse)
    again = pipeline.run(config)
    assert sorted(r["metrics"]["f1"] for r in again) == sorted(r["metrics"]["f1"] for r in records)


def test_a_changed_setting_reruns_only_what_it_changes(tmp_path, count_evaluations):
    pipeline.run(_config(tmp_path, langs="ar", methods="base,t"))
    assert len(count_evaluations) == 2
    pipeline.run(_config(tmp_path, langs="ar", methods="base,t", overrides=["train.lr=0.01"]))
    assert len(count_evaluations) == 3  # base is untouched by a training setting


def test_interrupted_run_continues_where_it_stopped(tmp_path, monkeypatch):
    real = evaluation.evaluate
    calls = []

    def fail_second(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", fail_second)
    config = _config(tmp_path, langs="el,th", methods="base")
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(config)
    assert len(load_records([tmp_path / "results"])) == 1  # el finished, th did not

    calls.clear()
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: (calls.append(a[1]), real(*a, **k))[1])
    records = pipeline.run(config)
    assert calls == [["prom_xquad_th", "prom_mgsm_th"]]  # only the unit that had not finished
    assert {r["task"] for r in records} == {"prom_xquad_el", "prom_xquad_th", "prom_mgsm_th"}

    calls.clear()
    pipeline.run(config, force=True)
    assert len(calls) == 2


def test_parallel_workers_give_the_same_records(tmp_path):
    serial = pipeline.run(_config(tmp_path / "a", langs="el,sw", methods="base"))
    parallel = pipeline.run(_config(tmp_path / "b", langs="el,sw", methods="base", overrides=["workers=2"]))
    key = lambda r: r["task"]  # noqa: E731
    assert [(r["task"], r["metrics"], r["samples"]) for r in sorted(serial, key=key)] == [
        (r["task"], r["metrics"], r["samples"]) for r in sorted(parallel, key=key)
    ]


def test_sweep_renders_table_4_from_a_grid(tmp_path, monkeypatch, capsys):
    from prom_bench.cli import main

    monkeypatch.chdir(tmp_path)
    args = [
        "sweep",
        "--lang",
        "th",
        "--grid",
        "train.pivot_weight=0.1,0.3",
        "--method",
        "prom-noreg",
        "--set",
        "model=tiny",
        "--set",
        "train.max_steps=1",
        "--set",
        "eval.limit=1",
        "--set",
        "workers=1",
        "--set",
        "eval.max_gen_toks=4",
        "--set",
        "out=runs",
        "--set",
        "results=results",
    ]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "Table 4" in out and "0.3" in out
    records = load_records([tmp_path / "results"])
    weights = sorted({r["settings"].get("pivot_weight") for r in records if r["method"] == "prom-noreg"})
    assert weights == [0.1, 0.3]
    assert {r["method"] for r in records} == {"t", "prom-noreg"}


# n is one setting: the regulation decision reads the block the unit trains at (the trainer's resolver).
RUN_FAST = ["--set", "train.max_steps=1", "--set", "eval.limit=1", "--set", "eval.max_gen_toks=4"]
RUN_FAST += ["--set", "probe.n_examples=4", "--set", "out=runs", "--set", "results=results"]


def _trained_block(record: dict) -> int:
    """The block the trainer resolved for this record's training (its saved train_config.json)."""
    import json
    from pathlib import Path

    adapter = Path(record["provenance"]["config"]["adapter"])
    return json.loads((adapter.parent / "train_config.json").read_text())["pivot_layer_resolved"]


@pytest.mark.parametrize("pivot_layer, block", [("2", 2), ("0.75", 3)])  # 0.75 of the tiny model's 4 blocks
def test_regulation_is_decided_at_the_block_the_unit_trains_at(tmp_path, monkeypatch, pivot_layer, block):
    from prom_bench.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["run", "--model", "tiny", "--methods", "prom", "--langs", "th", "--set", f"train.pivot_layer={pivot_layer}"]
    with pytest.raises(SystemExit) as done:
        main(args + RUN_FAST)
    assert done.value.code == 0
    records = [r for r in load_records([tmp_path / "results"]) if r["lang"] == "th"]  # not the English controls
    assert {r["task"] for r in records} == {"prom_xquad_th", "prom_mgsm_th"}
    for record in records:
        decision = record["provenance"]["config"]["regulation"]
        assert decision["source"] == "probe" and decision["layer"] == block and decision["num_layers"] == 4
        assert decision["pivots"], decision  # else lambda = 0 and the unit would not train at any block
        assert record["settings"]["pivot_weight"] == 0.1 and _trained_block(record) == block


def test_a_sweep_over_n_decides_regulation_at_each_n(tmp_path, monkeypatch, capsys):
    from prom_bench.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["sweep", "--lang", "th", "--grid", "train.pivot_layer=2,3", "--baseline", "base", "--set", "model=tiny"]
    with pytest.raises(SystemExit) as done:
        main(args + RUN_FAST)
    assert done.value.code == 0
    assert "Table 4" in capsys.readouterr().out
    prom = [r for r in load_records([tmp_path / "results"]) if r["method"] == "prom" and r["lang"] == "th"]
    decisions = {r["settings"]["pivot_layer"]: r["provenance"]["config"]["regulation"] for r in prom}
    assert sorted(decisions) == [2, 3]  # two points, two decisions
    assert {n: d["layer"] for n, d in decisions.items()} == {2: 2, 3: 3}
    assert {n: _trained_block(r) for r in prom for n in [r["settings"]["pivot_layer"]]} == {2: 2, 3: 3}


def test_seeds_give_mean_sd_and_count_per_cell(tmp_path, monkeypatch, capsys):
    # `prom-bench run --model tiny --langs th --methods t,prom --seeds 0,1` (short training, short answers)
    from prom_bench.cli import main
    from prom_bench.report import build_tables

    monkeypatch.chdir(tmp_path)
    args = ["run", "--model", "tiny", "--langs", "th", "--methods", "t,prom", "--seeds", "0,1"]
    args += ["--set", "train.max_steps=2", "--set", "eval.max_gen_toks=8", "--set", "regulation=paper"]
    args += ["--set", "workers=1", "--set", "controls=[]", "--out", "runs", "--results", "results"]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0
    out = capsys.readouterr().out
    records = load_records([tmp_path / "results"])
    assert sorted({(r["method"], r["seed"]) for r in records}) == [("prom", 0), ("prom", 1), ("t", 0), ("t", 1)]
    assert all(not r["limited"] for r in records)
    # each seed trained its own adapter (the seed is the trainer's seed too)
    adapters = {(r["method"], r["seed"]): r["provenance"]["config"]["adapter"] for r in records}
    assert adapters[("t", 0)] != adapters[("t", 1)]
    for key in ("1", "2"):
        table = build_tables(records, key)[0]
        for row in table.rows:
            for value in row.values:
                if not value.missing:
                    assert value.seeds == 2 and value.sd is not None, (key, row.label)
    cell = build_tables(records, "2")[0].rows[0].values[1]  # MGSM th of the first row
    assert "(n=2)" in out and "±" in out and "mean and sample standard deviation over k seeds" in out
    assert cell.seeds == 2


def test_a_seed_and_rank_change_is_a_new_result_beside_the_original(tmp_path):
    from prom_bench.report import build_tables

    first = pipeline.run(_config(tmp_path, langs="el", methods="t", overrides=["eval.limit=null"]))
    again = pipeline.run(
        _config(
            tmp_path,
            langs="el",
            methods="t",
            overrides=["eval.limit=null", "seed=1", "train.seed=1", "train.lora_r=2"],
        )
    )
    assert first[0]["settings"]["lora_r"] == 8 and again[0]["settings"]["lora_r"] == 2
    assert first[0]["seed"] == 0 and again[0]["seed"] == 1
    assert first[0]["settings_id"] != again[0]["settings_id"]
    table = build_tables(load_records([tmp_path / "results"]), "1")[0]
    column = table.flat_columns().index("XQuAD el f1")
    rows = {row.label: row.values[column].number for row in table.rows}
    assert rows == {"t [lora_r=8]": first[0]["metrics"]["f1"], "t [lora_r=2]": again[0]["metrics"]["f1"]}


def test_a_limited_run_after_a_full_one_leaves_the_table_unchanged(tmp_path):
    from prom_bench.report import render_tables

    records_dir = tmp_path / "results"
    pipeline.run(_config(tmp_path, langs="el", methods="base", overrides=["eval.limit=null"]))
    before = render_tables(load_records([records_dir]), "1", "csv")
    smoke = pipeline.run(_config(tmp_path, langs="el", methods="base", overrides=["eval.limit=2"]))
    assert smoke[0]["limited"] and smoke[0]["n"] == 2
    after = render_tables(load_records([records_dir]), "1", "csv")
    assert after == before
    flagged = render_tables(load_records([records_dir]), "1", "markdown", include_limited=True)
    assert "‡" in flagged and r"base \[eval.limit=2\]" in flagged  # markdown escapes the brackets


def test_every_unit_leaves_a_card_and_a_train_log(tmp_path):
    records = pipeline.run(_config(tmp_path, langs="el", methods="t"))
    adapter = Path(records[0]["provenance"]["config"]["adapter"])
    card = json.loads((adapter / "card.json").read_text())
    assert card["method"] == "t" and card["lang"] == "el" and card["kind"] == "LoRA adapter"
    assert set(card["parts"]) == {"s_t", "s_e2t"} and all(p["examples"] > 0 for p in card["parts"].values())
    assert card["settings"]["lora_r"] == 8 and card["scores"][0]["task"] == "prom_xquad_el"
    readme = (adapter / "README.md").read_text()
    assert "base_model:" in readme and "## Scores" in readme and "prom_xquad_el" in readme
    log = [json.loads(line) for line in (adapter.parent / "train_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2]
