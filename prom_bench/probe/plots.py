"""Figures of the language probe: P_en and P_target over layers with 95% bands (the paper's Figures 1, 3, 4).

Matplotlib with the Agg backend (no display needed). Each plot function writes one PNG and returns its path;
``save_outputs`` writes all of a probe's figures with its JSON summaries.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from prom_bench import languages

EN_COLOR, TARGET_COLOR = "tab:blue", "tab:orange"


def _draw(
    ax, curve: dict[str, Any], *, style: str = "-", label_suffix: str = "", layer: int | None = None, log: bool = False
) -> None:
    layers = list(range(1, len(curve["p_en"]) + 1))
    target = languages.get(curve["lang"]).name
    for key, color, name in (("p_en", EN_COLOR, "English"), ("p_target", TARGET_COLOR, target)):
        mean, band = curve[key], curve[f"{key}_band"]
        # On a log axis a band reaching below 0 is drawn down to a hundredth of the mean, not to an arbitrary floor.
        low = [max(m - b, m / 100 if log else 0.0) for m, b in zip(mean, band)]
        high = [min(m + b, 1.0) for m, b in zip(mean, band)]
        ax.plot(layers, mean, style, color=color, label=f"{name}{label_suffix}", linewidth=1.5)
        ax.fill_between(layers, low, high, color=color, alpha=0.2, linewidth=0)
    if layer:
        ax.axvline(layer, color="grey", linestyle=":", linewidth=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("probability")


def plot_language(
    curve: dict[str, Any], path: Path, *, model: str = "", layer: int | None = None, log: bool = False
) -> Path:
    """P_en vs P_target over layers for one language (Figures 1 and 4), layer n dotted."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    _draw(ax, curve, layer=layer, log=log)
    ax.set_title(f"{model}: {languages.get(curve['lang']).name} cloze (N={curve['n']})", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_grid(
    curves: dict[str, dict[str, Any]], path: Path, *, model: str = "", layer: int | None = None, log: bool = False
) -> Path:
    """All languages side by side, three per row."""
    cols = min(3, len(curves))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3 * rows), squeeze=False)
    for ax, (lang, curve) in zip(axes.flat, curves.items()):
        _draw(ax, curve, layer=layer, log=log)
        ax.set_title(f"{languages.get(lang).name} (N={curve['n']})", fontsize=10)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(curves) :]:
        ax.axis("off")
    fig.suptitle(f"{model}: logit lens, P(English answer) vs P(target answer)", fontsize=11)
    return save_figure(fig, path)


def plot_compare(
    before: dict[str, Any],
    after: dict[str, Any],
    path: Path,
    *,
    names: tuple[str, str] = ("before", "after"),
    layer: int | None = None,
    log: bool = False,
) -> Path:
    """One language on two models (Figure 3): solid = ``names[0]``, dashed = ``names[1]``."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    _draw(ax, before, style="-", label_suffix=f" ({names[0]})", layer=layer, log=log)
    _draw(ax, after, style="--", label_suffix=f" ({names[1]})", log=log)
    ax.set_title(f"{languages.get(before['lang']).name} cloze: {names[0]} vs {names[1]}", fontsize=10)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def save_figure(fig, path: Path) -> Path:
    """Save ``fig`` as PNG atomically (temp file, then rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def save_outputs(
    results: list[dict[str, dict]],
    folder: Path,
    *,
    model: str,
    compare: tuple[str, str] | None = None,
    log: bool = False,
) -> list[Path]:
    """Figures and JSON summaries of ``probe()`` results in ``folder``; returns the figures' paths.

    One model: ``probe-<lang>.png``, ``probe-grid.png``, ``decisions.json``, ``curves.json``. A comparison
    (``compare`` = the two model specs, ``results`` = their two results): ``compare-<lang>.png``, ``compare.json``.
    """
    paths = []
    if compare:
        names = tuple(Path(spec).name or spec for spec in compare)
        for lang in results[0]:
            before, after = results[0][lang], results[1][lang]
            paths.append(
                plot_compare(
                    before["curve"],
                    after["curve"],
                    folder / f"compare-{lang}.png",
                    names=names,
                    layer=before["decision"].layer,
                    log=log,
                )
            )
    else:
        curves = {lang: r["curve"] for lang, r in results[0].items()}
        layer_n = next(iter(results[0].values()))["decision"].layer
        paths += [
            plot_language(c, folder / f"probe-{lang}.png", model=model, layer=layer_n, log=log)
            for lang, c in curves.items()
        ]
        paths.append(plot_grid(curves, folder / "probe-grid.png", model=model, layer=layer_n, log=log))
    folder.mkdir(parents=True, exist_ok=True)
    decisions = [{lang: dataclasses.asdict(r["decision"]) for lang, r in result.items()} for result in results]
    curves = [{lang: r["curve"] for lang, r in result.items()} for result in results]
    if compare:
        (folder / "compare.json").write_text(
            json.dumps(
                [{"model": spec, "decisions": d, "curves": c} for spec, d, c in zip(compare, decisions, curves)],
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        (folder / "decisions.json").write_text(json.dumps(decisions[0], ensure_ascii=False, indent=1))
        (folder / "curves.json").write_text(json.dumps(curves[0], ensure_ascii=False, indent=1))
    return paths
