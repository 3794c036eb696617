"""Bad settings fail before training with one clear line."""

from __future__ import annotations

import pytest

from trainer import TrainConfig, train
from trainer.config import resolve_pivot_layer

EXAMPLES = [{"id": "1", "instruction": "Say hi.", "input": "", "output": "Hi.", "role": "target", "part": "s_t"}]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"label_smoothing": 1.0}, r"label_smoothing \(alpha\) 1.0 is outside \[0, 1\)"),
        ({"label_smoothing": -0.1}, r"label_smoothing \(alpha\) -0.1 is outside \[0, 1\)"),
        ({"pivot_weight": -0.1}, r"pivot_weight \(lambda\) -0.1 must be a finite number >= 0"),
        ({"pivot_head": "copyy"}, r"unknown pivot_head 'copyy'; valid: shared, copy, frozen"),
        ({"objective": "prom"}, r"unknown objective 'prom'; valid: sft, pivot"),
        ({"pivot_layer": 1.0}, r"pivot_layer 1.0 as a fraction of depth must be in \(0, 1\)"),
        ({"pivot_layer": 0}, r"pivot_layer 0 is outside 1..N-1"),
        ({"early_exit": True}, r"early_exit needs objective 'pivot'"),
        ({"max_steps": 0}, r"max_steps 0 must be -1"),
    ],
)
def test_config_errors_are_one_line(changes, message):
    with pytest.raises(ValueError, match=message) as info:
        TrainConfig(**changes).validate()
    assert "\n" not in str(info.value)


def test_pivot_layer_resolves_ints_and_fractions_and_rejects_the_last_block():
    assert resolve_pivot_layer(0.75, 32) == 24 and resolve_pivot_layer(24, 32) == 24
    assert resolve_pivot_layer(0.75, 30) == 23 and resolve_pivot_layer(0.01, 4) == 1
    with pytest.raises(ValueError, match=r"pivot_layer 4 gives block 4, outside 1..3 for this 4-block model"):
        resolve_pivot_layer(4, 4)
    assert resolve_pivot_layer(0.99, 4) == 3 and resolve_pivot_layer(0.75, 2) == 1  # fractions fit any depth
    with pytest.raises(ValueError, match=r"outside 1..0 for this 1-block model"):
        resolve_pivot_layer(0.5, 1)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"objective": "pivot", "pivot_layer": 4}, r"pivot_layer 4 gives block 4, outside 1..3"),
        (
            {"lora_target_modules": ["q_proj", "query_key_value"]},
            r"lora_target_modules query_key_value not in this model; its linear modules: ",
        ),
    ],
)
def test_model_dependent_errors_come_before_any_output(tiny_path, tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        train(TrainConfig(max_steps=1, **changes), tiny_path, EXAMPLES, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_from_dict_rejects_unknown_settings():
    with pytest.raises(ValueError, match=r"unknown TrainConfig setting\(s\) lrr"):
        TrainConfig.from_dict({"lrr": 1})
