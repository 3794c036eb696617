"""Training made visible: each trained unit's loss curves, read from the log its training left.

Every training writes ``train_log.jsonl`` beside its adapter (or full model): one JSON object per optimizer
step with ``step``, ``loss`` and, separately, the two PROM terms ``loss_pivot`` (L_n,e, English at layer n;
null without the pivot objective) and ``loss_target`` (L_N,t, target data at the last layer). A record names
the weights it was evaluated with (``provenance.config.adapter``), so the log is found from the records
alone. Plotting the terms apart shows that training moved the loss even where a small model's scores do not.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

TRAIN_LOG = "train_log.jsonl"  # the trainer's per-step log (trainer.loop.LOG_FILE), beside adapter/ or model/


def training_logs(records: list[dict]) -> dict[str, Path]:
    """``{"<model> · <method>/<lang>": train_log.jsonl}`` for every record of a trained unit whose log exists."""
    logs: dict[str, Path] = {}
    for record in records:
        weights = ((record.get("provenance") or {}).get("config") or {}).get("adapter")
        if not weights:
            continue
        path = Path(weights).parent / TRAIN_LOG
        label = f"{record['model']} · {record['method']}/{record['lang']}"
        if label not in logs and path.is_file():
            logs[label] = path
    return dict(sorted(logs.items()))


def read_log(path: Path) -> list[dict]:
    """The log's steps in order; a line cut by a crash ends the log (the steps before it stay)."""
    steps = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            break
        if isinstance(entry, dict) and isinstance(entry.get("step"), int):
            steps.append(entry)
    return steps


def loss_curves(logs: dict[str, Path], *, columns: int = 4) -> bytes | None:
    """One small panel per trained unit: the target term, the pivot term (when trained) and the total, by step.

    Returns:
        PNG bytes, or None when no log has a step.
    """
    curves = {label: steps for label, path in logs.items() if (steps := read_log(path))}
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(columns, len(curves))
    rows = -(-len(curves) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat[len(curves) :]:
        ax.axis("off")
    for ax, (label, steps) in zip(axes.flat, curves.items()):
        x = [s["step"] for s in steps]
        ax.plot(x, [s["loss_target"] for s in steps], marker=".", label="L_N,t (target, last layer)")
        if any(s.get("loss_pivot") is not None for s in steps):
            ax.plot(x, [s.get("loss_pivot") for s in steps], marker=".", label="L_n,e (English, layer n)")
            ax.plot(x, [s["loss"] for s in steps], linestyle="--", color="grey", label="loss (λ·L_n,e + L_N,t)")
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes.flat), key=lambda hl: len(hl[0]))
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
