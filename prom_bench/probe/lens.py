"""The language probe (logit lens): how much mass the English and the target answer get at each layer.

Per layer i and cloze example, p_i = softmax(lm_head(final_norm(h_i[:, -1]))) in fp32, and P_lang is the mass
of the answer word's token set (``tokens``). Only the last position of each block's output is kept
(forward hooks on the decoder layers); the full-sequence head is never computed, so memory is bounded by
``batch_size x vocab`` per layer. Curves are means over examples with a 95% band, 1.96 sd / sqrt(N).

The regulation decision (``decision``) reads these curves at the block the unit trains at. Curves are cached per
model in ``cache_dir()/probe/<model slug>-<hash>/decisions.json``, one slot per setting (everything in
``ProbeConfig`` but ``batch_size`` and ``layer``), each language with its curve and its decisions per block.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from prom_bench.errors import UserError
from prom_bench.fileio import read_json_checked, shape, write_json_atomic
from prom_bench.models import ModelRef
from prom_bench.paths import cache_dir
from prom_bench.probe.config import ProbeConfig
from prom_bench.probe.data import build_prompts, load_cloze
from prom_bench.probe.decision import Decision, decide, decision_block
from prom_bench.probe.tokens import TokenSets

# --- the logit lens --------------------------------------------------------------------------------------


def decoder_parts_or_error(model) -> tuple[Any, Any, torch.nn.Module]:
    """(decoder, its list of blocks, its final norm): the trainer's lookup, with its error as a UserError."""
    from trainer.config import SettingsError
    from trainer.model import decoder_parts

    try:
        decoder, blocks, norm, _head = decoder_parts(model)
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    return decoder, blocks, norm


class _Stop(Exception):
    """Raised by the hook of the last block needed, so the forward does not run the blocks above it."""


@torch.no_grad()
def lens_probs(
    model,
    tokenizer,
    prompts: list[str],
    token_sets: list[list[list[int]]],
    *,
    batch_size: int = 8,
    max_layer: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Logit-lens mass of each token set, per prompt and layer, at the last position.

    Args:
        prompts: N prompt strings.
        token_sets: per prompt, S lists of token ids (e.g. [English set, target set]).
        max_layer: stop the forward after this 1-based block (None = all).
        on_batch: called with the number of prompts done after each batch.

    Returns:
        fp32 tensor of shape [N, L, S] (L = max_layer or the number of blocks; index 0 = block 1).
    """
    decoder, blocks, norm = decoder_parts_or_error(model)
    num = max_layer or len(blocks)
    head = model.get_output_embeddings()
    head_weight = head.weight.detach().float()  # shape: [v, d]
    head_bias = head.bias.detach().float() if getattr(head, "bias", None) is not None else None
    norm32 = copy.deepcopy(norm).float()
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output, index: int) -> None:
        hidden = output[0] if isinstance(output, tuple) else output  # shape: [b, s, d]
        captured.append(hidden[:, -1].detach().float())
        if index + 1 == num and num < len(blocks):
            raise _Stop

    handles = [blocks[i].register_forward_hook(lambda m, a, o, i=i: hook(m, a, o, i)) for i in range(num)]
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"  # last position = last real token
    out = torch.zeros(len(prompts), num, len(token_sets[0]))
    # Batches of similar length waste little compute on padding (5-shot Thai prompts vary by hundreds of tokens).
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: lengths[i])
    try:
        for start in range(0, len(prompts), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer([prompts[i] for i in rows], return_tensors="pt", padding=True)
            captured.clear()
            try:
                decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
            except _Stop:
                pass
            for layer, last in enumerate(captured):  # last: [b, d]
                logits = torch.nn.functional.linear(norm32(last), head_weight, head_bias)  # shape: [b, v]
                probs = logits.log_softmax(-1).exp()
                for row, index in enumerate(rows):
                    for s, ids in enumerate(token_sets[index]):
                        out[index, layer, s] = probs[row, ids].sum()
            if on_batch:
                on_batch(min(start + batch_size, len(prompts)))
    finally:
        for handle in handles:
            handle.remove()
        tokenizer.padding_side = padding_side
    return out


def mean_band(values: torch.Tensor) -> tuple[list[float], list[float]]:
    """Mean over dim 0 and the 95% half-width 1.96 * sd / sqrt(N) (sd with N-1; 0 when N < 2). Input: [N, L]."""
    n = values.shape[0]
    mean = values.mean(0)
    band = values.std(0, unbiased=True) * 1.96 / math.sqrt(n) if n > 1 else torch.zeros_like(mean)
    return mean.tolist(), band.tolist()


# --- probing a model -------------------------------------------------------------------------------------


def probe_language(
    model,
    tokenizer,
    lang: str,
    cfg: ProbeConfig,
    *,
    token_sets: TokenSets | None = None,
    max_layer: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Curves of P_en and P_target over layers for ``lang``'s cloze set.

    Examples whose English or target token set is empty, or whose two sets share a token, are dropped.
    Returns a JSON-able dict: p_en, p_en_band, p_target, p_target_band (lists over blocks 1..L), n, dropped,
    num_layers, words.
    """
    token_sets = token_sets or TokenSets(tokenizer)
    items = load_cloze(lang, cfg.data, cfg.translate)
    prompts = build_prompts(items, cfg.shots, cfg.seed)
    kept, sets, dropped = [], [], 0
    for item, prompt in zip(items, prompts):
        en, target = token_sets.of(item.word_en), token_sets.of(item.word)
        if not en or not target or set(en) & set(target):
            dropped += 1
            continue
        kept.append((item, prompt))
        sets.append([en, target])
    if cfg.n_examples:
        kept, sets = kept[: cfg.n_examples], sets[: cfg.n_examples]
    if not kept:
        raise UserError(f"no usable cloze example for '{lang}' ({dropped} dropped: empty or overlapping token sets)")
    probs = lens_probs(
        model,
        tokenizer,
        [p for _, p in kept],
        sets,
        batch_size=cfg.batch_size,
        max_layer=max_layer,
        on_batch=(lambda done: on_batch(done, len(kept))) if on_batch else None,
    )
    p_en, p_en_band = mean_band(probs[:, :, 0])
    p_t, p_t_band = mean_band(probs[:, :, 1])
    return {
        "lang": lang,
        "p_en": p_en,
        "p_en_band": p_en_band,
        "p_target": p_t,
        "p_target_band": p_t_band,
        "n": len(kept),
        "dropped": dropped,
        "num_layers": len(decoder_parts_or_error(model)[1]),
        "words": [[item.word_en, item.word] for item, _ in kept],
    }


def probe(
    model_ref: ModelRef,
    langs: list[str],
    cfg: ProbeConfig,
    *,
    pivot_layer: int | float | None = None,
    adapter: str | None = None,
    progress=None,
    force: bool = False,
) -> dict[str, dict[str, Any]]:
    """Curves and decisions for ``langs`` on a model (optionally with a peft adapter), through the cache.

    The decision reads block n = ``decision_block(cfg, pivot_layer, N)``: the block training uses for
    ``pivot_layer`` (``cfg.layer`` overrides it in a standalone probe). Curves cover every block, so a
    sweep over n measures once and decides at each n; each decision is cached under its block.
    Returns ``{lang: {"curve": {...}, "decision": Decision}}``. ``progress`` is a callable receiving dicts
    ``{"lang", "done", "total"}``; when None a rich progress bar is shown.
    """
    cfg.validate()
    folder = probe_cache_dir(model_ref, adapter)
    path = folder / "decisions.json"
    cached = read_json_checked(path, _decisions_problem, what="probe decisions") or {}
    by_config = cached.get("by_config", {})
    # One slot per measurement setting, so a 2-shot demo run and a 5-shot probe of the same model do not evict
    # each other; the block n is not part of it (one curve serves every n).
    slot = by_config.setdefault(_config_id(cfg), {"config": _slot_settings(cfg), "langs": {}})
    missing = [lang for lang in langs if force or "curve" not in slot["langs"].get(lang, {})]
    display = model_ref.display + (f" + {Path(adapter).name}" if adapter else "")

    def save() -> None:
        write_json_atomic(
            path, {"model": display, "model_path": model_ref.path, "adapter": adapter, "by_config": by_config}
        )

    if missing:
        model, tokenizer = load_probe_model(model_ref, adapter)
        sets = TokenSets(tokenizer)
        with _progress(progress) as report:
            for lang in missing:
                curve = probe_language(
                    model,
                    tokenizer,
                    lang,
                    cfg,
                    token_sets=sets,
                    on_batch=lambda done, total, lang=lang: report({"lang": lang, "done": done, "total": total}),
                )
                slot["langs"][lang] = {"curve": curve, "decisions": {}}
                save()
    out, changed = {}, False
    for lang in langs:
        entry = slot["langs"][lang]
        block = decision_block(cfg, pivot_layer, entry["curve"]["num_layers"])
        decisions = entry.setdefault("decisions", {})
        if str(block) not in decisions:
            decisions[str(block)] = dataclasses.asdict(decide(lang, entry["curve"], block, cfg, display))
            changed = True
        out[lang] = {"curve": entry["curve"], "decision": Decision(**decisions[str(block)])}
    if changed:
        save()
    return out


def regulation(
    model: ModelRef, langs: list[str], cfg: ProbeConfig, pivot_layer: int | float | None = None, *, progress=None
) -> dict[str, Decision]:
    """The regulation decision per language for ``model`` at the block ``pivot_layer`` trains at, measured once
    and cached (the pipeline's entry)."""
    return {
        lang: result["decision"]
        for lang, result in probe(model, langs, cfg, pivot_layer=pivot_layer, progress=progress).items()
    }


def _decisions_problem(data: Any) -> str | None:
    """The shape ``probe`` writes: ``{"by_config": {id: {"config": {...}, "langs": {lang: {"curve": {...},
    "decisions": {block: Decision}}}}}}``."""
    problem = shape(data, dict, by_config=dict)
    if problem:
        return problem
    fields = {f.name for f in dataclasses.fields(Decision)}
    required = {f.name for f in dataclasses.fields(Decision) if f.default is dataclasses.MISSING}
    for slot in data["by_config"].values():
        problem = shape(slot, dict, config=dict, langs=dict)
        if problem:
            return problem
        for lang, entry in slot["langs"].items():
            problem = shape(entry, dict, curve=dict, decisions=dict)
            if problem:
                return f"{lang}: {problem}"
            for block, decision in entry["decisions"].items():
                if not str(block).isdigit() or not isinstance(decision, dict):
                    return f"{lang}: decision at block {block!r} is not a Decision"
                if not required <= set(decision) <= fields:
                    return f"{lang}: the decision's fields at block {block} are not a Decision's"
    return None


def load_probe_model(model_ref: ModelRef, adapter: str | None = None):
    """``(model, tokenizer)`` in eval mode; an adapter (or trainer output) is merged into the base weights."""
    from prom_bench.models import load_weights

    return load_weights(model_ref, adapter)


def probe_cache_dir(model_ref: ModelRef, adapter: str | None = None) -> Path:
    """``cache_dir()/probe/<slug>-<hash>``: the hash covers the model's path and weight files (size, mtime)."""
    identity = [model_ref.path]
    for root in filter(None, (model_ref.path, adapter)):
        folder = Path(root)
        if folder.is_dir():
            identity += [
                f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                for p in sorted(folder.iterdir())
                if p.suffix in (".safetensors", ".bin", ".json")
            ]
    if adapter:
        identity.append(str(Path(adapter).resolve()))
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:10]
    return cache_dir() / "probe" / f"{model_ref.slug}-{digest}"


def _slot_settings(cfg: ProbeConfig) -> dict[str, Any]:
    """The settings a cached slot stands for: all but the batch size (speed only) and the block (one curve serves
    every block)."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("batch_size", "layer")}


def _config_id(cfg: ProbeConfig) -> str:
    return hashlib.sha256(json.dumps(_slot_settings(cfg), sort_keys=True).encode()).hexdigest()[:12]


class _progress:
    """A context giving a ``report(event)`` callable: the caller's, or a rich bar per language."""

    def __init__(self, callback) -> None:
        self.callback, self.bar, self.tasks = callback, None, {}

    def __enter__(self):
        if self.callback is not None:
            return self.callback
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("probe {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.bar.start()
        return self._report

    def _report(self, event: dict[str, Any]) -> None:
        lang = event["lang"]
        if lang not in self.tasks:
            self.tasks[lang] = self.bar.add_task(lang, total=event["total"])
        self.bar.update(self.tasks[lang], completed=event["done"], total=event["total"])

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
