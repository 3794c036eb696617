"""The trainer's data plan (trainer/data.py): batches per role, ranks and epochs."""

from __future__ import annotations

from trainer.data import BatchPlan
from trainer.formatting import Encoded


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
