"""What vLLM accepts of an adapter, read from adapter_config.json; the engine's max_lora_rank."""

from __future__ import annotations

import json

import pytest

from prom_bench.engines.lora import VLLM_LORA_RANKS, max_lora_rank, read_adapter
from prom_bench.errors import UserError


def _adapter(tmp_path, **config):
    folder = tmp_path / "a"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", **config}))
    return folder


def test_ranks_vllm_serves_need_no_merge(tmp_path):
    for rank in (8, 16, 512):
        info = read_adapter(_adapter(tmp_path, r=rank, modules_to_save=None))
        assert info.rank == rank and info.merge_reason is None


def test_other_ranks_and_modules_to_save_are_merged(tmp_path):
    assert "rank 4" in read_adapter(_adapter(tmp_path, r=4)).merge_reason
    assert "rank 12" in read_adapter(_adapter(tmp_path, r=8, rank_pattern={"q_proj": 12})).merge_reason
    reason = read_adapter(_adapter(tmp_path, r=8, modules_to_save=["lm_head"])).merge_reason
    assert "modules_to_save" in reason and "lm_head" in reason


def test_max_lora_rank_is_the_largest_adapter_rank_unless_given(tmp_path):
    small = read_adapter(_adapter(tmp_path, r=8))
    big = read_adapter(_adapter(tmp_path / "big", r=64))
    assert max_lora_rank([small, big], None) == 64
    assert max_lora_rank([small], None) == 8
    assert max_lora_rank([small], 32) == 32
    with pytest.raises(UserError, match="below the rank 64"):
        max_lora_rank([big], 16)
    with pytest.raises(UserError, match="not a rank vLLM accepts"):
        max_lora_rank([small], 12)
    assert set(VLLM_LORA_RANKS) == {1, 8, 16, 32, 64, 128, 256, 320, 512}


def test_not_an_adapter_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no adapter_config.json"):
        read_adapter(tmp_path)
    with pytest.raises(UserError, match="LoRA adapters only"):
        read_adapter(_adapter(tmp_path, peft_type="IA3"))
