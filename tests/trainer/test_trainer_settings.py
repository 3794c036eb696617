"""Bad settings fail before training with one clear line."""

from __future__ import annotations

import pytest

from trainer import TrainConfig, train
from trainer.config import resolve_pivot_layer
from trainer.data import BatchPlan
from trainer.formatting import Encoded

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


def _examples(roles):
    return [Encoded([1, 2, 3], [-100, 2, 3], role) for role in roles]


def test_homogeneous_plan_gives_one_role_per_micro_batch_and_covers_every_example_each_epoch():
    roles = [0] * 7 + [1] * 9
    plan = BatchPlan(_examples(roles), per_device_batch_size=2, world_size=2, grad_accum=1, seed=3, homogeneous=True)
    for epoch in (0, 1):
        batches = plan.epoch(epoch)
        assert sorted(i for b in batches for i in b.rows) == list(range(16))
        for batch in batches:
            assert {roles[i] for i in batch.rows} == {0 if batch.role == "english" else 1}
    assert plan.epoch(0) != plan.epoch(1)


def test_plan_is_the_same_for_one_and_two_ranks_with_the_same_global_batch():
    examples = _examples([0, 1] * 6)
    one = BatchPlan(examples, per_device_batch_size=4, world_size=1, grad_accum=2, seed=0, homogeneous=False)
    two = BatchPlan(examples, per_device_batch_size=2, world_size=2, grad_accum=2, seed=0, homogeneous=False)
    for step in range(4):
        assert (
            one.window(step) == two.window(step)
            and one.counts(one.window(step)).total == two.counts(two.window(step)).total
        )
    batch = two.window(0)[0]
    assert two.local_rows(batch, 0) + two.local_rows(batch, 1) == one.local_rows(batch, 0)


def test_a_rank_left_without_rows_runs_a_fully_masked_copy():
    plan = BatchPlan(_examples([1] * 3), per_device_batch_size=2, world_size=2, grad_accum=1, seed=0, homogeneous=False)
    short = plan.epoch(0)[0]
    assert len(short.rows) == 3  # ranks get 2 and 1
    short = type(short)(short.rows[:1], short.role)
    filler = plan.local_rows(short, 1)
    assert len(filler) == 1 and filler[0].n_supervised == 0
