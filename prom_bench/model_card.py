"""The card beside trained weights (``README.md`` + ``card.json`` in ``adapter/`` or ``model/``): what they are.

A card names the base model, the method and language, the data parts with their sizes and sources, the
resolved training settings, and, once evaluated, the scores: enough to publish the folder as it is.
``card.json`` holds the same facts as data (``models.local_display`` names a trained folder from it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prom_bench import methods
from prom_bench.fileio import write_json_atomic, write_text_atomic
from prom_bench.languages import get as get_language

CARD_JSON = "card.json"


def _base_id(base: Any) -> str:
    """The base model's hub id where known (the default model is the hub's SmolLM2, dequantised from a wheel)."""
    source = Path(base.path) / "prom_bench_source.json"
    if source.is_file():
        try:
            return json.loads(source.read_text(encoding="utf-8"))["hub_equivalent"]
        except (OSError, KeyError, json.JSONDecodeError):
            pass
    return base.path if not Path(base.path).is_dir() else base.display


def _method_of(parts: list[str], objective: str) -> str:
    """The method these weights were trained as (PROM with lambda = 0 trains exactly ``t``)."""
    for method in methods.METHODS.values():
        if (
            set(method.mixture) == set(parts)
            and method.trains
            and (method.objective == "pivot") == (objective == "pivot")
        ):
            return method.name
    return next(m.name for m in methods.METHODS.values() if set(m.mixture) == set(parts))


def write(
    weights: Path,
    *,
    base: Any,
    lang: str,
    train: dict[str, Any],
    mixture_dir: Path | None,
    method: str | None = None,
) -> Path:
    """Write the card of freshly trained ``weights`` (an ``adapter/`` or ``model/`` folder); keeps known scores.

    ``method`` defaults to the method whose mixture and objective the training used (PROM with lambda = 0 is
    ``t``'s training, so its card says ``t``).
    """
    weights = Path(weights)
    stats = {}
    if mixture_dir is not None and (Path(mixture_dir) / "stats.json").is_file():
        stats = json.loads((Path(mixture_dir) / "stats.json").read_text(encoding="utf-8"))
    resolved = {}
    config_file = weights.parent / "train_config.json"
    if config_file.is_file():
        resolved = json.loads(config_file.read_text(encoding="utf-8"))
    method = method or _method_of(list(train.get("parts", [])), str(train.get("objective")))
    old = read(weights) or {}
    card = {
        "schema": 1,
        "kind": "LoRA adapter" if (weights / "adapter_config.json").is_file() else "full fine-tune",
        "base_model": _base_id(base),
        "base_model_name": base.display,
        "method": method,
        "method_paper_name": methods.get(method).paper_name,
        "lang": lang,
        "parts": {
            part: {
                "examples": info.get("count"),
                "sources": [
                    {k: src.get(k) for k in ("source", "location", "revision", "license", "count")}
                    for src in info.get("sources", [])
                ],
            }
            for part, info in (stats.get("parts") or {}).items()
        },
        "examples": stats.get("total"),
        "settings": {"parts": train.get("parts"), **resolved} if resolved else train,
        "scores": old.get("scores", []),
    }
    return _save(weights, card)


def add_scores(weights: Path, records: list[dict]) -> Path | None:
    """Add (or replace) the scores of ``records`` in the card of ``weights``; None when there is no card."""
    card = read(weights)
    if card is None:
        return None
    keyed = {(s["task"], s.get("settings_id"), s.get("seed")): s for s in card.get("scores", [])}
    for record in records:
        keyed[(record["task"], record["settings_id"], record.get("seed"))] = {
            "task": record["task"],
            "metrics": record["metrics"],
            "n": record["n"],
            "limited": bool(record.get("limited")),
            "seed": record.get("seed"),
            "settings_id": record["settings_id"],
            "evaluated_as": record["method"],
        }
    card["scores"] = sorted(keyed.values(), key=lambda s: (s["task"], str(s.get("seed"))))
    return _save(Path(weights), card)


def read(weights: Path) -> dict | None:
    path = Path(weights) / CARD_JSON
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _save(weights: Path, card: dict) -> Path:
    write_json_atomic(weights / CARD_JSON, card, indent=2)
    write_text_atomic(weights / "README.md", render(card))
    return weights / "README.md"


def render(card: dict) -> str:
    """Markdown with a Hugging Face-style YAML header."""
    lang = get_language(card["lang"])
    adapter = card["kind"] == "LoRA adapter"
    lines = [
        "---",
        f"base_model: {card['base_model']}",
        *(["library_name: peft"] if adapter else []),
        f"language: [en, {card['lang']}]",
        f"tags: [prom-bench, {card['method']}]",
        "---",
        "",
        f"# {card['base_model_name']} + {card['method']} ({lang.name}): {card['kind']}",
        "",
        f"Trained by prom-bench with the method `{card['method']}` (the paper's {card['method_paper_name']}): "
        f"{methods.get(card['method']).description}.",
        f"Base model: `{card['base_model']}`. Target language: {lang.name} (`{card['lang']}`). "
        f"{card.get('examples') or '?'} training examples.",
        "",
        "## Data",
        "",
        "| part | examples | sources (location @ revision, license) |",
        "|---|---|---|",
    ]
    for part, info in card["parts"].items():
        sources = "; ".join(
            f"{s['source']} ({s.get('location')} @ {s.get('revision') or '-'}, {s.get('license')})"
            for s in info["sources"]
        )
        lines.append(f"| {part} | {info['examples']} | {sources} |")
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    for key, value in sorted(card["settings"].items()):
        lines.append(f"| {key} | {json.dumps(value) if not isinstance(value, str) else value} |")
    lines += ["", "## Scores", ""]
    if not card["scores"]:
        lines.append("Not evaluated yet.")
    else:
        lines += ["| task | seed | metrics (%) | items | evaluated as |", "|---|---|---|---|---|"]
        for score in card["scores"]:
            metrics = ", ".join(f"{k} {v:.1f}" for k, v in score["metrics"].items())
            flag = " (limited: a smoke test)" if score.get("limited") else ""
            lines.append(
                f"| {score['task']} | {score.get('seed')} | {metrics} | {score['n']}{flag} | {score['evaluated_as']} |"
            )
    return "\n".join(lines) + "\n"
