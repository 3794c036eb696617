"""What vLLM accepts of a peft LoRA adapter, read from its ``adapter_config.json``.

vLLM serves LoRA ranks from a fixed list only (its ``max_lora_rank`` must be one of them and an adapter's rank
one of them too) and rejects adapters that also train full modules (``modules_to_save``, e.g. an embedding
or ``lm_head``). Such adapters are merged into their base model first (``engines.merge``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from prom_bench.errors import UserError

# The LoRA ranks vLLM accepts (vllm.config.lora: ``possible_max_ranks``).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter as vLLM sees it.

    Attributes:
        path: the adapter folder.
        ranks: every LoRA rank in it (``r`` and the values of ``rank_pattern``).
        modules_to_save: fully trained modules saved beside the LoRA weights.
        base: ``base_model_name_or_path`` from the config (may be empty).
    """

    path: Path
    ranks: tuple[int, ...]
    modules_to_save: tuple[str, ...]
    base: str

    @property
    def rank(self) -> int:
        return max(self.ranks)

    @property
    def merge_reason(self) -> str | None:
        """Why vLLM cannot serve this adapter as LoRA (then it is merged), or None when it can."""
        if self.modules_to_save:
            return f"modules_to_save ({', '.join(self.modules_to_save)}) are not served by vLLM's LoRA"
        bad = sorted(r for r in set(self.ranks) if r not in VLLM_LORA_RANKS)
        if bad:
            valid = ", ".join(map(str, VLLM_LORA_RANKS))
            return f"LoRA rank {', '.join(map(str, bad))} is not one vLLM serves ({valid})"
        return None


def read_adapter(path: str | Path) -> AdapterInfo:
    """The ranks and extra modules of the peft adapter in ``path`` (one line naming the folder when it is none)."""
    folder = Path(path)
    config_file = folder / "adapter_config.json"
    if not config_file.is_file():
        raise UserError(f"adapter '{path}' has no adapter_config.json; give the adapter folder a training run wrote")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"adapter config {config_file} is not valid JSON ({exc})") from None
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise UserError(f"adapter '{path}' is a {config.get('peft_type')} adapter; vLLM serves LoRA adapters only")
    ranks = [int(config.get("r") or 0)] + [int(v) for v in (config.get("rank_pattern") or {}).values()]
    ranks = [r for r in ranks if r > 0]
    if not ranks:
        raise UserError(f"adapter config {config_file} names no LoRA rank ('r')")
    return AdapterInfo(
        path=folder.resolve(),
        ranks=tuple(ranks),
        modules_to_save=tuple(config.get("modules_to_save") or ()),
        base=str(config.get("base_model_name_or_path") or ""),
    )


def max_lora_rank(adapters: list[AdapterInfo], given: int | None) -> int:
    """The engine's ``max_lora_rank``: ``given`` when set (checked), else the largest rank among ``adapters``.

    Raises:
        UserError: ``given`` is not a rank vLLM accepts, or is below an adapter's rank.
    """
    valid = ", ".join(map(str, VLLM_LORA_RANKS))
    largest = max((a.rank for a in adapters), default=VLLM_LORA_RANKS[0])
    if given is None:
        return min(r for r in VLLM_LORA_RANKS if r >= largest)
    if given not in VLLM_LORA_RANKS:
        raise UserError(f"eval.max_lora_rank = {given} is not a rank vLLM accepts; valid: {valid}")
    if given < largest:
        raise UserError(f"eval.max_lora_rank = {given} is below the rank {largest} of an adapter to evaluate")
    return given
