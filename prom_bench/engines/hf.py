"""lm-eval's Hugging Face model (``HFLM``), the reference backend, as an engine: loaded once per (model, adapter)."""

from __future__ import annotations

from typing import Any


class HFEngine:
    """``lm(model, adapter)`` loads lm-eval's ``HFLM`` (kept for the next call with the same weights).

    Args:
        batch_size: generation batch size (explicit: lm-eval's "auto" probes huge batches, slow on CPU).
        tokenizer: the tokenizer of an in-memory model.
    """

    name = "hf"

    def __init__(self, batch_size: int = 8, tokenizer: Any = None) -> None:
        self.batch_size, self.tokenizer = batch_size, tokenizer
        self._key: Any = None
        self._lm: Any = None

    def lm(self, model_path: Any, adapter: str | None) -> tuple[Any, dict[str, Any]]:
        from prom_bench.evaluation import load_hf_lm

        key = (id(model_path) if not isinstance(model_path, str) else model_path, adapter)
        if self._key != key:
            self._lm = load_hf_lm(model_path, adapter=adapter, batch_size=self.batch_size, tokenizer=self.tokenizer)
            self._key = key
        backend = {
            "name": "hf",
            "lm_eval_model": "hf",
            "dtype": str(self._lm.model.dtype).removeprefix("torch."),
            "batch_size": self.batch_size,
        }
        return self._lm, backend

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._lm = self._key = None
