"""One self-contained HTML page: the tables, the bootstrap intervals, a results chart, and whatever plots
(PNG) and summaries (JSON) the probe and interference analyses left in their folders.

Self-contained means no network and no side files: CSS is inline and every image is a base64 data URI,
so the page can be mailed or attached to a paper review as one file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime, timezone
from pathlib import Path

from prom_bench.errors import UserError
from prom_bench.fileio import check_destination, output
from prom_bench.report.cells import ALL_CELLS, BENCH_LABEL, method_label, models_in, select
from prom_bench.report.prepare import prepare
from prom_bench.report.render import to_html
from prom_bench.report.tables import build_tables, ci_table
from prom_bench.report.training import loss_curves, training_logs

MAX_JSON_CHARS = 20_000  # a JSON summary longer than this is cut (the file itself stays beside the plots)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1d1d1f; background: #ffffff; padding: 0 1rem; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #2b5797; padding-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; color: #2b5797; }
table.results { border-collapse: collapse; margin: 1rem 0; font-size: .85rem; }
table.results caption { caption-side: bottom; text-align: left; font-size: .8rem; color: #444; padding-top: .4rem;
                        max-width: 1100px; }
table.results th, table.results td { border: 1px solid #c8c8d0; padding: .25rem .5rem; text-align: right; }
table.results thead th { background: #e8eef8; text-align: center; }
table.results tbody th { text-align: left; white-space: nowrap; }
table.results tr.paper { color: #666; font-style: italic; background: #fafafa; }
table.results td.missing { color: #999; }
table.results td.text { text-align: left; }
p.note { font-size: .8rem; color: #8a5a00; margin: .2rem 0; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .8rem; color: #444; }
details pre { background: #f5f5f7; padding: .6rem; overflow-x: auto; font-size: .75rem; }
.meta { color: #555; font-size: .85rem; }
"""


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def results_chart(records: list[dict]) -> bytes | None:
    """A grouped bar chart per model: F1 of each QA cell and accuracy of each MGSM cell, one bar per method.

    Returns:
        PNG bytes, or None when no cell has a score.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    selection = select(records)
    models = models_in(list(selection.chosen.values()))
    panels = []
    for model in models:
        methods = selection.methods(model)
        cells = [c for c in ALL_CELLS if any(selection.get(model, m, c.task) for m in methods)]
        if cells:
            panels.append((model, methods, cells))
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.2 * len(panels)), squeeze=False)
    for ax, (model, methods, cells) in zip(axes[:, 0], panels):
        width = 0.8 / len(methods)
        for i, method in enumerate(methods):
            heights, xs = [], []
            for j, cell in enumerate(cells):
                record = selection.get(model, method, cell.task)
                metric = "f1" if "f1" in cell.metrics else cell.metrics[0]
                value = None if record is None else record["metrics"].get(metric)
                if value is not None:  # a missing cell gets no bar, not a zero bar
                    xs.append(j + (i - (len(methods) - 1) / 2) * width)
                    heights.append(value)
            ax.bar(xs, heights, width=width, label=method_label(method, model))
        ax.set_xticks(range(len(cells)))
        ax.set_xticklabels(
            [f"{BENCH_LABEL[c.benchmark]}\n{c.lang} ({'F1' if 'f1' in c.metrics else 'acc'})" for c in cells],
            fontsize=8,
        )
        ax.set_ylabel("score (%)")
        ax.set_title(model, fontsize=10)
        ax.legend(fontsize=8, ncols=min(len(methods), 5))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _artifacts(folder: Path | None, name: str) -> str:
    """The PNG plots and JSON summaries in an analysis folder, embedded; a note when there are none."""
    if folder is None:
        return ""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{name} folder '{folder}' does not exist; give the folder the {name} analysis wrote")
    parts = [f"<h2>{html.escape(name.capitalize())}</h2>"]

    def visible(path: Path) -> bool:  # leave out hidden files and a writer's unfinished ``*.tmp.*``
        return not any(part.startswith(".") for part in path.relative_to(folder).parts) and ".tmp" not in path.name

    pngs = sorted(p for p in folder.rglob("*.png") if visible(p))
    jsons = sorted(p for p in folder.rglob("*.json") if visible(p))
    for png in pngs:
        caption = html.escape(str(png.relative_to(folder)))
        parts.append(
            f'<figure><img alt="{caption}" src="{_png_data_uri(png.read_bytes())}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    for path in jsons:
        try:
            text = json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=1, ensure_ascii=False)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            text = f"(not readable as JSON: {exc})"
        if len(text) > MAX_JSON_CHARS:
            text = text[:MAX_JSON_CHARS] + f"\n... ({len(text) - MAX_JSON_CHARS} more characters in the file)"
        parts.append(
            f"<details><summary>{html.escape(str(path.relative_to(folder)))}</summary>"
            f"<pre>{html.escape(text)}</pre></details>"
        )
    if not pngs and not jsons:
        parts.append(f'<p class="note">no PNG or JSON files in the {html.escape(name)} folder</p>')
    return "\n".join(parts)


def _training_section(records: list[dict]) -> str:
    """Loss curves of every trained unit (both PROM terms apart), from the logs beside their weights."""
    trained = {f"{r['model']} · {r['method']}/{r['lang']}" for r in records if r["method"] != "base"}
    if not trained:
        return ""
    logs = training_logs(records)
    parts = ["<h2>Training</h2>"]
    png = loss_curves(logs)
    if png is not None:
        parts.append(
            f'<figure><img alt="loss curves" src="{_png_data_uri(png)}"><figcaption>Loss by optimizer step for '
            f"each of the {len(logs)} trained unit(s): L_N,t on target data at the last layer and, for PROM, "
            "L_n,e on English data at layer n, each the mean its gradient was normalised by.</figcaption></figure>"
        )
    missing = sorted(trained - set(logs))
    if missing:
        parts.append(
            '<p class="note">no training log (train_log.jsonl) beside the weights of: '
            f"{html.escape(', '.join(missing))}</p>"
        )
    return "\n".join(parts)


def build_report(
    records: list[dict],
    *,
    probe_dir: Path | None = None,
    interference_dir: Path | None = None,
    compare: str | None = "paper",
    title: str = "prom-bench report",
    include_limited: bool = False,
    metric: str | None = None,
) -> str:
    """The whole page as one HTML string (smoke tests left out unless ``include_limited``, as in the tables).
    ``metric``: the QA measure of the tables (default: both beside the paper, so the primary language-aware
    scores stay on the page; else language-aware)."""
    tables = build_tables(
        records,
        "all",
        compare=compare,
        include_limited=include_limited,
        metric=metric or ("both" if compare else None),
    )
    shown = prepare(records, include_limited=include_limited).records
    ci = ci_table(select(shown))
    chart = results_chart(shown)
    models = ", ".join(models_in(records))
    methods = ", ".join(sorted({method_label(r["method"], r["model"]) for r in records}))
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{len(records)} records · models: {html.escape(models)} · methods: '
        f"{html.escape(methods)} · generated {generated}</p>",
    ]
    for table in tables:
        body.append(f"<h2>{html.escape(table.title)}</h2>")
        body.append(to_html(table))
    if ci is not None:
        body.append(f"<h2>{html.escape(ci.title)}</h2>")
        body.append(to_html(ci))
    if chart is not None:
        body.append("<h2>Scores per cell</h2>")
        body.append(
            f'<figure><img alt="scores per cell" src="{_png_data_uri(chart)}">'
            "<figcaption>F1 for QA cells, accuracy for MGSM cells; a missing bar is a missing record."
            "</figcaption></figure>"
        )
    body.append(_training_section(records))
    body.append(_artifacts(probe_dir, "probe"))
    body.append(_artifacts(interference_dir, "interference"))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(p for p in body if p)
        + "\n</body>\n</html>\n"
    )


def write_report(records: list[dict], out: Path, *, overwrite: bool = False, **kwargs) -> Path:
    """Build the page and write it to ``out`` through a stage (``fileio.output``); returns ``out``.

    ``out`` is checked before the page is built: an existing file is replaced only with ``overwrite``; a
    symlink, a device or a missing folder is one clear error.
    """
    out = Path(out)
    check_destination(out, kind="file", overwrite=overwrite)
    page = build_report(records, **kwargs)
    with output(out, kind="file", overwrite=overwrite) as staged:
        staged.write_text(page, encoding="utf-8")
    return out
