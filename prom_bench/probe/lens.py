"""The language probe (logit lens) and the regulation decision it makes: does a language pivot through English?

Per layer i and cloze example, p_i = softmax(lm_head(final_norm(h_i[:, -1]))) in fp32, and P_lang is the mass
of the answer word's token set (``tokens``). Only the last position of each block's output is kept
(forward hooks on the decoder layers); the full-sequence head is never computed, so memory is bounded by
``batch_size x vocab`` per layer. Curves are means over examples with a 95% band, 1.96 sd / sqrt(N).

Regulation (the paper's "R"): at layer n, lambda = 0 where mean P_en < mean P_target. The decision carries its
evidence, and is ``undetermined`` when the two bands overlap or both means sit below a floor; then
``ProbeConfig.undetermined`` says what applies (default: keep the pivot, see ``UNDETERMINED_DEFAULT``).
Decisions are cached per model in ``cache_dir()/probe/<model slug>-<hash>/decisions.json``, one slot per
setting (everything in ``ProbeConfig`` but ``batch_size``), each with its curves.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from prom_bench import languages
from prom_bench.errors import UserError
from prom_bench.fileio import write_json_atomic
from prom_bench.models import ModelRef
from prom_bench.paths import cache_dir
from prom_bench.probe.config import UNDETERMINED_DEFAULT, UNDETERMINED_POLICIES, ProbeConfig  # noqa: F401 (re-exported)
from prom_bench.probe.data import build_prompts, load_cloze
from prom_bench.probe.tokens import TokenSets


def resolve_layer(layer: float, num_layers: int) -> int:
    """The 1-based block n; a fraction f of depth maps to round(f * N) half up, exactly as the trainer does."""
    if isinstance(layer, float) and float(layer).is_integer() and layer >= 1:
        layer = int(layer)  # 24.0 from a YAML file means block 24
    if isinstance(layer, float):
        n = max(1, math.floor(layer * num_layers + 0.5))
    else:
        n = int(layer)
    if not 1 <= n <= num_layers:
        raise UserError(
            f"probe layer {layer} gives block {n}, outside 1..{num_layers} for this {num_layers}-block model"
        )
    return n


# --- the logit lens --------------------------------------------------------------------------------------


def decoder_parts_or_error(model) -> tuple[Any, Any, torch.nn.Module]:
    """(decoder, its list of blocks, its final norm): the trainer's lookup, with its error as a UserError."""
    from trainer.model import decoder_parts

    try:
        decoder, blocks, norm, _head = decoder_parts(model)
    except ValueError as exc:
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


# --- the decision ----------------------------------------------------------------------------------------


@dataclass
class Decision:
    """Whether ``lang`` pivots through English at layer ``layer``, with the evidence.

    ``pivots`` is what training uses: the measured verdict, or for ``undetermined`` the policy's answer.
    Probabilities are means over ``n`` cloze examples; ``*_band`` are 95% half-widths.
    """

    lang: str
    pivots: bool
    status: str  # "pivots" | "no-pivot" | "undetermined"
    p_en: float
    p_en_band: float
    p_target: float
    p_target_band: float
    n: int
    layer: int  # 1-based block n
    num_layers: int
    floor: float
    reason: str
    policy: str | None = None  # the undetermined policy applied, when status is "undetermined"
    model: str = ""

    def pivot_weight(self, lam: float) -> float:
        """lambda for this language: ``lam`` where it pivots, else 0.0."""
        return float(lam) if self.pivots else 0.0

    @property
    def p_en_interval(self) -> tuple[float, float]:
        return self.p_en - self.p_en_band, self.p_en + self.p_en_band

    @property
    def p_target_interval(self) -> tuple[float, float]:
        return self.p_target - self.p_target_band, self.p_target + self.p_target_band


def verdict(p_en: float, p_en_band: float, p_target: float, p_target_band: float, floor: float) -> tuple[str, str]:
    """``(status, reason)`` from the two means and their 95% half-widths at layer n."""
    if max(p_en, p_target) < floor:
        return "undetermined", f"both means below the floor {floor:g}"
    if p_en - p_en_band <= p_target + p_target_band and p_target - p_target_band <= p_en + p_en_band:
        return "undetermined", "the 95% bands overlap"
    if p_en > p_target:
        return "pivots", "P_en above P_target, bands apart"
    return "no-pivot", "P_en below P_target, bands apart (lambda = 0)"


def decide(lang: str, curve: dict[str, Any], layer: int, cfg: ProbeConfig, model: str = "") -> Decision:
    """The decision for ``lang`` from its probe curve (``probe_language``'s output) read at 1-based ``layer``."""
    i = layer - 1
    p_en, p_en_band = curve["p_en"][i], curve["p_en_band"][i]
    p_t, p_t_band = curve["p_target"][i], curve["p_target_band"][i]
    status, reason = verdict(p_en, p_en_band, p_t, p_t_band, cfg.floor)
    policy = None
    if status == "undetermined":
        policy = cfg.undetermined
        if policy == "paper":
            pivots = languages.get(lang).pivots_llama2_7b is not False
        else:
            pivots = policy == "pivot"
        reason += f"; default applied: {policy}"
    else:
        pivots = status == "pivots"
    return Decision(
        lang,
        pivots,
        status,
        p_en,
        p_en_band,
        p_t,
        p_t_band,
        curve["n"],
        layer,
        curve["num_layers"],
        cfg.floor,
        reason,
        policy,
        model,
    )


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
    items = load_cloze(lang, cfg.data)
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
    adapter: str | None = None,
    progress=None,
    force: bool = False,
) -> dict[str, dict[str, Any]]:
    """Curves and decisions for ``langs`` on a model (optionally with a peft adapter), through the cache.

    Returns ``{lang: {"curve": {...}, "decision": Decision}}``. ``progress`` is a callable receiving dicts
    ``{"lang", "done", "total"}``; when None a rich progress bar is shown.
    """
    cfg.validate()
    folder = probe_cache_dir(model_ref, adapter)
    path = folder / "decisions.json"
    cached = json.loads(path.read_text()) if path.is_file() else {}
    by_config = cached.get("by_config", {})
    config_id = _config_id(cfg)
    # One slot per setting, so a 2-shot demo run and a 5-shot probe of the same model do not evict each other.
    slot = by_config.setdefault(
        config_id, {"config": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "batch_size"}, "langs": {}}
    )
    missing = [lang for lang in langs if force or lang not in slot["langs"]]
    display = model_ref.display + (f" + {Path(adapter).name}" if adapter else "")
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
                layer = resolve_layer(cfg.layer, curve["num_layers"])
                decision = decide(lang, curve, layer, cfg, display)
                slot["langs"][lang] = {"curve": curve, "decision": dataclasses.asdict(decision)}
                write_json_atomic(
                    path, {"model": display, "model_path": model_ref.path, "adapter": adapter, "by_config": by_config}
                )
    return {
        lang: {"curve": slot["langs"][lang]["curve"], "decision": Decision(**slot["langs"][lang]["decision"])}
        for lang in langs
    }


def regulation(model: ModelRef, langs: list[str], cfg: ProbeConfig, *, progress=None) -> dict[str, Decision]:
    """The regulation decision per language for ``model``, measured once and cached (the pipeline's entry)."""
    return {lang: result["decision"] for lang, result in probe(model, langs, cfg, progress=progress).items()}


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


def _config_id(cfg: ProbeConfig) -> str:
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "batch_size"}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


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
