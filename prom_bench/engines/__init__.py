"""Where generations come from: the evaluation backends behind ``evaluation.evaluate``.

An engine gives, for a model path and an optional adapter, an lm-eval model (``lm``) and a description of
itself for the record (``provenance.backend``). The tasks, prompts, stop sequences and scoring are lm-eval's
and ``tasks/``'s whatever the engine, so a score means the same under each; only the generator changes.

- ``hf``: lm-eval's Hugging Face model, the reference (``engines.hf``).
- ``vllm``: lm-eval's vLLM model; one engine per base model, a study's LoRA adapters swapped on it
  (``engines.vllm``).
- ``openai-completions``: an OpenAI-compatible server someone runs, via ``--eval-url`` (``engines.server``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BACKENDS = ("hf", "vllm")


def check_backend(settings: Any) -> None:
    """Fail early, with one line, when ``settings.backend`` cannot run here (before any training starts)."""
    if settings.backend == "vllm":
        from prom_bench.engines.vllm import require_vllm

        require_vllm()


def open_engine(
    settings: Any, plan: list[tuple[str, str | None]] | None = None, log: Callable[[str], None] = print
) -> Any:
    """The engine ``settings.backend`` names (``config.EvalConfig``); ``plan`` lists the (model, adapter) pairs
    to come, so that a vLLM engine is started once for all of them."""
    from prom_bench.errors import unknown

    if settings.backend == "hf":
        from prom_bench.engines.hf import HFEngine

        return HFEngine(batch_size=settings.batch_size)
    if settings.backend == "vllm":
        from prom_bench.engines.vllm import VLLMEngine

        return VLLMEngine(settings, plan, log=log)
    raise unknown("evaluation backend", str(settings.backend), BACKENDS)
