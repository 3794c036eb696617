"""Negative interference: cosine similarity of English and target-language gradients in the last block.

The paper's Figure 2 (after Wang et al. 2020): for a batch of English instructions and a batch of their
target-language translations, take the gradient of the same final-layer cross-entropy (Alpaca prompt masked,
response + EOS supervised; the trainer's formatting) with respect to the last decoder block's parameters,
flatten each in fp32 and take their cosine. Low similarity = conflicting gradients = high interference.
Averaged over K batch pairs (mean and 95% band, 1.96 sd / sqrt(K)), along the checkpoints of a training run,
so t+e and PROM can be compared step by step. The batches are parallel (the same instruction ids in both
languages), so the two gradients differ by language, not by content. The loss is the same for every method
(PROM's layer-n term is not part of it), so checkpoints of different methods are measured alike.

Weights accepted: ``None`` (the base model), a peft adapter folder, a full model folder, a trainer output
folder (``adapter/`` or ``model/`` inside), or a trainer checkpoint ``checkpoints/step-N`` (accelerate state:
trainable weights only, LoRA rebuilt from its ``train_config.json``). LoRA is merged before measuring, so
every checkpoint is measured on the same parameters: the last block's full weight matrices.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prom_bench.errors import UserError
from prom_bench.models import ModelRef, load_weights
from prom_bench.paths import demo_data_dir

if TYPE_CHECKING:  # torch loads on first measurement, so the CLI reads InterferenceConfig without it
    import torch

# --- settings -------------------------------------------------------------------------------------------


@dataclass
class InterferenceConfig:
    """Settings of the gradient-similarity measurement."""

    pairs: int = field(default=8, metadata={"help": "K: English/target batch pairs per checkpoint"})
    batch_size: int = field(default=4, metadata={"help": "examples per batch"})
    max_length: int = field(
        default=640,
        metadata={
            "help": "tokens per example (prompt + response + EOS), cut on the right; the "
            "default fits every demo example in SmolLM2's vocabulary, so "
            "English and target responses are supervised in full"
        },
    )
    data: str = field(
        default="demo",
        metadata={
            "help": "instructions: 'demo' (prom_bench/demo_data/instructions) or a folder "
            "with en.jsonl and {lang}.jsonl sharing ids"
        },
    )
    seed: int = field(
        default=0, metadata={"help": "seed of the batch sampling (the same batches for every checkpoint)"}
    )

    def validate(self) -> None:
        for name in ("pairs", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise UserError(f"interference {name} {getattr(self, name)} must be >= 1")
        if self.data != "demo" and not Path(self.data).expanduser().is_dir():
            raise UserError(
                f"interference data '{self.data}' is not a folder; give 'demo' or a folder with en.jsonl and "
                "{lang}.jsonl"
            )


# --- data ------------------------------------------------------------------------------------------------


def parallel_examples(lang: str, source: str = "demo") -> tuple[list[dict], list[dict]]:
    """English and target-language instruction examples with the same ids, in the same order."""
    root = demo_data_dir() / "instructions" if source == "demo" else Path(source).expanduser()
    files = {code: root / f"{code}.jsonl" for code in ("en", lang)}
    for code, path in files.items():
        if not path.is_file():
            raise UserError(
                f"no instructions for '{code}' at {path}; give 'demo' or a folder with en.jsonl and {lang}.jsonl"
            )
    rows = {
        code: {r["id"]: r for r in map(json.loads, filter(None, path.read_text(encoding="utf-8").splitlines()))}
        for code, path in files.items()
    }
    ids = [i for i in rows["en"] if i in rows[lang]]
    if not ids:
        raise UserError(f"en.jsonl and {lang}.jsonl in {root} share no id; they must be translations of each other")
    english = [{**rows["en"][i], "role": "english"} for i in ids]
    target = [{**rows[lang][i], "role": "target"} for i in ids]
    return english, target


def batch_pairs(n_items: int, cfg: InterferenceConfig) -> list[list[int]]:
    """K lists of item indices; pair k uses the same indices in both languages. Items are reused across pairs
    only when K x batch exceeds the data (each pass is a fresh permutation)."""
    rng = random.Random(cfg.seed)
    order: list[int] = []
    while len(order) < cfg.pairs * cfg.batch_size:
        perm = list(range(n_items))
        rng.shuffle(perm)
        order += perm
    return [order[k * cfg.batch_size : (k + 1) * cfg.batch_size] for k in range(cfg.pairs)]


# --- gradients -------------------------------------------------------------------------------------------


def last_block_params(model) -> list[torch.nn.Parameter]:
    """The last decoder block's parameters; everything else is frozen so backward stops at that block."""
    from prom_bench.probe.lens import decoder_parts_or_error

    _, blocks, _ = decoder_parts_or_error(model)
    for p in model.parameters():
        p.requires_grad_(False)
    params = list(blocks[-1].parameters())
    for p in params:
        p.requires_grad_(True)
    return params


def batch_gradient(model, params: list[torch.nn.Parameter], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Flattened fp32 gradient of the token-mean final-layer cross-entropy w.r.t. ``params``.

    Args:
        batch: the trainer's collated batch (``input_ids``, ``attention_mask``, ``targets`` [b, s], shifted).

    Returns:
        shape: [P], P = number of parameters in ``params``.
    """
    import torch

    from prom_bench.probe.lens import decoder_parts_or_error

    decoder, _, _ = decoder_parts_or_error(model)
    head = model.get_output_embeddings()
    hidden = decoder(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    mask = batch["targets"] != -100
    logits = head(hidden[mask]).float()  # shape: [t, v]; only supervised positions go through the head
    loss = torch.nn.functional.cross_entropy(logits, batch["targets"][mask])
    grads = torch.autograd.grad(loss, params)
    return torch.cat([g.detach().float().reshape(-1) for g in grads])


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos(a, b) of two flat vectors, accumulated in float64."""
    a, b = a.double(), b.double()
    return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-30))


def gradient_similarity(
    model,
    tokenizer,
    english: list[dict],
    target: list[dict],
    cfg: InterferenceConfig,
    on_pair: Callable[[int], None] | None = None,
) -> list[float]:
    """cos(g_en, g_target) for each of the K batch pairs (see ``batch_pairs``)."""
    from trainer.formatting import collate, encode

    params = last_block_params(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def collated(examples: list[dict]) -> dict[str, torch.Tensor]:
        rows = [e for e in (encode(ex, tokenizer, cfg.max_length) for ex in examples) if e is not None]
        if not rows:
            raise UserError(f"max_length {cfg.max_length} leaves no response token in a batch; raise it")
        return collate(rows, pad)

    sims = []
    for k, indices in enumerate(batch_pairs(len(english), cfg)):
        g_en = batch_gradient(model, params, collated([english[i] for i in indices]))
        g_t = batch_gradient(model, params, collated([target[i] for i in indices]))
        sims.append(cosine(g_en, g_t))
        if on_pair:
            on_pair(k + 1)
    return sims


def mean_band(values: list[float]) -> tuple[float, float]:
    """Mean and 95% half-width 1.96 * sd / sqrt(K) (sd with K-1; 0 for K < 2)."""
    k = len(values)
    mean = sum(values) / k
    if k < 2:
        return mean, 0.0
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    return mean, 1.96 * sd / math.sqrt(k)


# --- weights along a run ---------------------------------------------------------------------------------


def series_from(
    lang: str, *, run: Path | None = None, methods: list[str] = (), checkpoints: list[str] | None = None
) -> dict[str, list[tuple[int, Path | None]]]:
    """The series to measure, each ``[(step, weights)]`` from step 0 (the base model, ``None``): one per method
    of a ``prom-bench run`` folder, and one per ``LABEL=PATH`` item (an adapter, a model, a trainer output
    folder with all its checkpoints, or ``checkpoints/step-N``; items sharing a label form one series)."""
    series: dict[str, list] = {}
    if run is not None:
        if not Path(run).is_dir():
            raise UserError(f"run folder '{run}' does not exist")
        for name in methods:
            series[name] = [(0, None), *run_checkpoints(Path(run), name, lang)]
    for item in checkpoints or []:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise UserError(f"--checkpoint '{item}' is not LABEL=PATH")
        folder = Path(path).expanduser()
        if not folder.exists():
            raise UserError(f"--checkpoint path '{path}' does not exist")
        points = series.setdefault(label, [(0, None)])
        if (folder / "checkpoints").is_dir():
            points += trainer_points(folder)
        else:
            step = (
                int(folder.name.split("-")[1])
                if folder.name.startswith("step-") and folder.name[5:].isdigit()
                else len(points)
            )
            points.append((step, folder))
    return series


def run_checkpoints(run_dir: Path, method: str, lang: str) -> list[tuple[int, Path]]:
    """``[(step, weights)]`` of one unit of a ``prom-bench run`` folder: its checkpoints, then its final weights.

    The unit's marker (``units/<method>/<lang>.json``) lists its result records; their provenance names the
    adapter, whose parent is the trainer's output folder. ``run_dir`` is the run's ``out`` or ``out/<model>``.
    """
    markers = [
        p
        for p in (run_dir / "units" / method / f"{lang}.json", *run_dir.glob(f"*/units/{method}/{lang}.json"))
        if p.is_file()
    ]
    if not markers:
        raise UserError(
            f"no finished unit {method}/{lang} under {run_dir} (looked for units/{method}/{lang}.json); "
            "give explicit weights with --checkpoint LABEL=PATH"
        )
    weights = None
    for record_path in json.loads(markers[0].read_text()).get("records", []):
        record = json.loads(Path(record_path).read_text())
        weights = (record.get("provenance", {}).get("config", {}) or {}).get("adapter")
        if weights:
            break
    if not weights:
        raise UserError(
            f"unit {method}/{lang} in {run_dir} records no trained weights (is '{method}' a training method?)"
        )
    return trainer_points(Path(weights).parent)


def trainer_points(train_dir: Path) -> list[tuple[int, Path]]:
    """``[(step, weights)]`` of a trainer output folder: each ``checkpoints/step-N``, then the final weights."""
    train_dir = Path(train_dir)
    steps = sorted(
        (
            (int(p.name.split("-")[1]), p)
            for p in (train_dir / "checkpoints").glob("step-*")
            if (p / "trainer_state.json").is_file()
        ),
        key=lambda point: point[0],
    )
    final = next((train_dir / name for name in ("adapter", "model") if (train_dir / name).is_dir()), None)
    if final is None:
        if not steps:
            raise UserError(f"'{train_dir}' has neither adapter/, model/ nor checkpoints/step-N")
        return steps
    final_step = None  # the run's step count: from train_result.json (launch, pipeline), else max_steps
    for name, key in (("train_result.json", "steps"), ("train_config.json", "max_steps")):
        if final_step is None and (train_dir / name).is_file():
            value = json.loads((train_dir / name).read_text()).get(key)
            final_step = value if isinstance(value, int) and value > 0 else None
    if final_step is None:  # unknown: place the final weights one step after the last checkpoint
        final_step = steps[-1][0] + 1 if steps else 1
    if not steps or steps[-1][0] != final_step:
        steps.append((final_step, final))
    return steps


def interference(
    base: ModelRef,
    lang: str,
    series: dict[str, list[tuple[int, str | None]]],
    cfg: InterferenceConfig,
    *,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Gradient similarity along each labelled series of ``(step, weights)`` points (weights None = base).

    Returns a JSON-able dict: ``{"lang", "config", "series": {label: [{"step", "weights", "mean", "band",
    "values"}]}}``. ``progress`` receives ``{"label", "step", "pair", "pairs"}`` after each batch pair.
    """
    if cfg.pairs < 1 or cfg.batch_size < 1:
        raise UserError("interference pairs and batch_size must be >= 1")
    english, target = parallel_examples(lang, cfg.data)
    out: dict[str, Any] = {"model": base.display, "lang": lang, "config": dataclasses.asdict(cfg), "series": {}}
    cache: dict[str | None, dict[str, Any]] = {}
    for label, points in series.items():
        rows = []
        for step, weights in points:
            key = str(weights) if weights else None
            if key not in cache:  # step 0 (the base model) is shared by every series
                model, tokenizer = load_weights(base, weights)
                report = (
                    (
                        lambda k, label=label, step=step: progress(
                            {"label": label, "step": step, "pair": k, "pairs": cfg.pairs}
                        )
                    )
                    if progress
                    else None
                )
                values = gradient_similarity(model, tokenizer, english, target, cfg, on_pair=report)
                mean, band = mean_band(values)
                cache[key] = {"mean": mean, "band": band, "values": values}
                del model
            rows.append({"step": step, "weights": key, **cache[key]})
        out["series"][label] = rows
    return out


def plot_interference(result: dict[str, Any], path: Path) -> Path:
    """Figure 2: cosine similarity over training steps, one line per series with its 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prom_bench import languages
    from prom_bench.probe.plots import save_figure

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, rows in result["series"].items():
        steps = [r["step"] for r in rows]
        mean = [r["mean"] for r in rows]
        ax.plot(steps, mean, marker="o", label=label)
        ax.fill_between(
            steps, [m - r["band"] for m, r in zip(mean, rows)], [m + r["band"] for m, r in zip(mean, rows)], alpha=0.2
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("cos(g_en, g_target), last block")
    ax.set_title(
        f"{result['model']}: gradient similarity, English vs {languages.get(result['lang']).name}", fontsize=10
    )
    ax.legend(fontsize=8)
    return save_figure(fig, path)
