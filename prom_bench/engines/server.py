"""An OpenAI-compatible completions server someone already runs (vLLM, SGLang, TGI), through lm-eval's
``local-completions`` model.

Requests go as token ids made by the base model's tokenizer (as the ``hf`` and ``vllm`` backends make them,
BOS included when that tokenizer adds one), greedy, with each task's stop sequences and token budget. Which
weights answer is the server's business: a LoRA adapter is served under a name (``vllm serve BASE
--enable-lora --lora-modules NAME=PATH``) and picked with ``--eval-model NAME``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from prom_bench.errors import UserError, unknown


def api_root(url: str) -> str:
    """``http://host:port`` from a server URL given with or without ``/v1`` or ``/v1/completions``."""
    root = url.strip().rstrip("/")
    for tail in ("/v1/completions", "/completions", "/v1"):
        if root.endswith(tail):
            root = root[: -len(tail)]
            break
    if not root.startswith(("http://", "https://")):
        raise UserError(f"--eval-url '{url}' is not an http(s) URL; give e.g. http://127.0.0.1:8000/v1")
    return root


def served_models(url: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The server's ``/v1/models`` entries; one line when nothing (or no such API) answers there."""
    root = api_root(url)
    try:
        with urllib.request.urlopen(f"{root}/v1/models", timeout=timeout) as response:
            payload = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise UserError(
            f"--eval-url {url}: {root}/v1/models answered HTTP {exc.code}; give an OpenAI-compatible server"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"--eval-url {url}: nothing answers there ({reason}); start an OpenAI-compatible server "
            "(e.g. vllm serve MODEL --host 127.0.0.1) or give another URL"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"--eval-url {url}: {root}/v1/models is not JSON; give an OpenAI-compatible server") from None
    models = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(models, list) or not models:
        raise UserError(f"--eval-url {url}: the server lists no model under /v1/models")
    return models


class CompletionsServer:
    """An engine that is a running server; ``lm`` gives lm-eval's ``local-completions`` model for it.

    Args:
        url: the server (``http://127.0.0.1:8000``, ``.../v1`` or ``.../v1/completions``); checked at once.
        served_model: the model name to request; None takes the server's only model.
        num_concurrent: requests in flight at once.

    The ``model_path`` given to ``lm`` names the tokenizer (the served model's base model).
    """

    name = "openai-completions"

    def __init__(self, url: str, served_model: str | None, *, num_concurrent: int = 8) -> None:
        models = served_models(url)
        ids = [str(m.get("id")) for m in models]
        if served_model is None:
            if len(ids) != 1:
                raise UserError(
                    f"--eval-url {url} serves {len(ids)} models; pick one with --eval-model ({', '.join(ids)})"
                )
            served_model = ids[0]
        elif served_model not in ids:
            raise unknown(f"model at {url}", served_model, ids)
        self.url, self.served_model = api_root(url), served_model
        self.tokenizer: str | None = None
        self.num_concurrent = num_concurrent
        entry = models[ids.index(served_model)]
        self.max_model_len = entry.get("max_model_len")
        self._lm: Any = None

    def lm(self, model_path: str, adapter: str | None) -> tuple[Any, dict[str, Any]]:
        if adapter is not None:
            raise UserError(
                "--adapter with --eval-url: the server decides the weights; serve the adapter under a name "
                "(vllm serve BASE --enable-lora --lora-modules NAME=PATH) and give --eval-model NAME"
            )
        if self._lm is None or self.tokenizer != str(model_path):
            self.tokenizer = str(model_path)
            self._lm = self._build()
        backend = {
            "name": self.name,
            "lm_eval_model": "local-completions",
            "url": self.url,
            "served_model": self.served_model,
            "tokenizer": self.tokenizer,
            "max_length": self._lm.max_length + 1,
        }
        return self._lm, backend

    def _build(self):
        from lm_eval.models.openai_completions import LocalCompletionsAPI
        from transformers import AutoConfig, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.tokenizer)
        ids = tokenizer("a").input_ids
        adds_bos = tokenizer.bos_token_id is not None and bool(ids) and ids[0] == tokenizer.bos_token_id
        max_length = self.max_model_len
        if not max_length:
            try:
                max_length = getattr(AutoConfig.from_pretrained(self.tokenizer), "max_position_embeddings", None)
            except (OSError, ValueError):
                max_length = None
        return LocalCompletionsAPI(
            base_url=f"{self.url}/v1/completions",
            model=self.served_model,
            tokenizer=self.tokenizer,
            tokenizer_backend="huggingface",
            tokenized_requests=True,
            add_bos_token=adds_bos,
            max_length=int(max_length or 2048),
            num_concurrent=self.num_concurrent,
            max_retries=3,
            batch_size=1,
            seed=1234,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._lm = None
