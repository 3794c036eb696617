"""``prom-bench train``: a mixture folder in, an adapter out; trainer errors as one line, exit 2."""

from __future__ import annotations

import json

import pytest

from prom_bench.cli import main


def _mixture(tmp_path):
    folder = tmp_path / "th-prom"
    folder.mkdir()
    rows = [
        {
            "id": f"{role}{i}",
            "instruction": f"Repeat {i}.",
            "input": "",
            "output": f"{i} {i}",
            "role": role,
            "part": "s_e" if role == "english" else "s_t",
            "lang": "th",
        }
        for i in range(3)
        for role in ("english", "target")
    ]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "stats.json").write_text(json.dumps({"method": "prom"}))
    return folder


def _run(args):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


def test_trains_the_mixture_method_in_process(tmp_path, capsys):
    mixture = _mixture(tmp_path)
    code = _run(
        ["train", str(mixture), "--model", "tiny", "--out", str(tmp_path / "out"), "--set", "train.max_steps=1"]
    )
    assert code in (0, None)
    config = json.loads((tmp_path / "out" / "train_config.json").read_text())
    assert config["objective"] == "pivot" and config["max_steps"] == 1  # the method came from stats.json
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").is_file()
    # the weights say what they are, and the training left its history
    card = json.loads((tmp_path / "out" / "adapter" / "card.json").read_text())
    assert card["method"] == "prom" and card["kind"] == "LoRA adapter" and card["settings"]["max_steps"] == 1
    assert "base_model: tiny-llama" in (tmp_path / "out" / "adapter" / "README.md").read_text()
    assert len((tmp_path / "out" / "train_log.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--set", "train.pivot_layer=4"],
            "error: train settings: pivot_layer 4 gives block 4, outside 1..3 for this 4-block model",
        ),
        (["--set", "train.pivot_weight=-1"], "error: train settings: pivot_weight (lambda) -1"),
        (["--method", "base"], "error: method 'base' does not train"),
        (["--accelerate-config", "fsdpp"], "error: unknown accelerate config 'fsdpp' (did you mean 'fsdp'?)"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    code = _run(["train", str(_mixture(tmp_path)), "--model", "tiny", "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(message) and "\n" not in err


def test_an_unexpected_error_inside_training_keeps_its_traceback(tmp_path, monkeypatch):
    import trainer

    def broken(*_args, **_kwargs):
        raise ValueError("a bug deep inside training")  # not a SettingsError: not the user's fault

    monkeypatch.setattr(trainer, "train", broken)
    with pytest.raises(ValueError, match="a bug deep inside training"):
        main(["train", str(_mixture(tmp_path)), "--model", "tiny", "--out", str(tmp_path / "out")])
