"""Renderers for ``Table``: rich (terminal), markdown, csv, latex and html.

Numbers print with one decimal, rounded half up like the paper; ``*`` marks lambda = 0, ``†`` an
average over only some cells, ``‡`` a smoke test (``--limit``); over several seeds an entry reads
``mean ±sd (n=k)``. A missing entry prints as ``–`` (``--`` in LaTeX), never 0.

The machine formats (csv, json) hold plain numbers only: a score column is a float column, and each flag
that occurs in a table gets its own column beside the score (``<column> sd``, ``<column> seeds``,
``<column> lambda0``, ``<column> partial``, ``<column> limited``), with ``model`` and ``method_id`` (the
canonical method name) beside the row label, so ``pandas.read_csv`` reads every score as a number.
"""

from __future__ import annotations

import csv
import html
import io
import json
from decimal import ROUND_HALF_UP, Decimal

from rich.console import Console, Group
from rich.table import Table as RichTable
from rich.text import Text

from prom_bench.errors import unknown
from prom_bench.report.bootstrap import DEFAULT_RESAMPLES
from prom_bench.report.tables import Table, Value, build_tables

FORMATS = ("rich", "markdown", "csv", "json", "latex", "html")
MISSING = "–"


def fmt_number(number: float) -> str:
    """One decimal, half up (2.25 -> 2.3), from the shortest repr so 0.1-style floats round as printed."""
    return str(Decimal(repr(float(number))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def show(value: Value, missing: str = MISSING) -> str:
    """The text of one entry."""
    if value.missing:
        return missing
    text = value.text if value.text is not None else fmt_number(value.number)
    if value.sd is not None:
        text += f" ±{fmt_number(value.sd)}"
    if value.seeds is not None and value.seeds > 1:
        text += f" (n={value.seeds})"
    return text + ("*" if value.star else "") + ("†" if value.partial else "") + ("‡" if value.limited else "")


# --------------------------------------------------------------------------------------------------- rich
def to_rich(table: Table) -> Group:
    """A rich renderable: the table (paper rows dimmed) and its notes."""
    out = RichTable(title=table.title, caption=table.caption, caption_justify="left", show_lines=False)
    out.add_column(table.stub, no_wrap=True)
    for head, leaf in zip(table.span_heads(), table.columns):
        out.add_column(f"{head}\n{leaf}" if table.groups else leaf, justify="left" if leaf == "note" else "right")
    for row in table.rows:
        style = "dim italic" if row.source == "paper" else None
        out.add_row(row.label, *(show(v) for v in row.values), style=style)
    parts = [out] + [Text(f"note: {n}", style="yellow") for n in table.notes]
    return Group(*parts)


def rich_text(tables: list[Table], width: int = 220) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False, soft_wrap=False)
    for table in tables:
        console.print(to_rich(table))
        console.print()
    return console.file.getvalue()


# ----------------------------------------------------------------------------------------------- markdown
# Inside a table cell only these start markup (emphasis, code, links, strike, the cell border); '#', '+' or
# '(' mean something only at a line start or after ']', which escaping '[' ']' already rules out.
_MD_SPECIAL = set("\\`*_[]|~")


def _md(text: str) -> str:
    """Escape what markdown would read as markup or HTML (record fields are arbitrary text): a backslash before
    the characters that start markup in a cell, ``&`` and angle brackets as entities, line breaks as spaces (a
    newline would end the table row)."""
    text = " ".join(str(text).splitlines())
    out = []
    for ch in text:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def to_markdown(table: Table) -> str:
    cells = lambda items: "| " + " | ".join(_md(i) for i in items) + " |"  # noqa: E731
    lines = [
        f"**{_md(table.title)}**",
        "",
        cells([table.stub, *table.flat_columns()]),
        "|" + "---|" + "---:|" * len(table.columns),
    ]
    for row in table.rows:
        line = cells([row.label, *(show(v) for v in row.values)])
        lines.append(
            line.replace(f"| {_md(row.label)} |", f"| *{_md(row.label)}* |", 1) if row.source == "paper" else line
        )
    lines += ["", f"*{_md(table.caption)}*"]
    lines += [f"- note: {_md(n)}" for n in table.notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- csv
# Flag columns of the machine formats: suffix -> how a Value gives it (only those present in a table appear).
_FLAGS = (
    ("sd", lambda v: v.sd, lambda v: v.sd is not None),
    ("seeds", lambda v: v.seeds, lambda v: v.seeds is not None and v.seeds > 1),
    ("lambda0", lambda v: v.star, lambda v: v.star),
    ("partial", lambda v: v.partial, lambda v: v.partial),
    ("limited", lambda v: v.limited, lambda v: v.limited),
)


def machine_rows(table: Table) -> tuple[list[str], list[list]]:
    """Header and rows of the machine formats: plain numbers, flags in columns of their own."""
    names = table.flat_columns()
    flags = [
        [(suffix, get) for suffix, get, present in _FLAGS if any(present(row.values[i]) for row in table.rows)]
        for i in range(len(names))
    ]
    header = [table.stub, "model", "method_id"]
    for name, extra in zip(names, flags):
        header += [name, *(f"{name} {suffix}" for suffix, _ in extra)]
    rows = []
    for row in table.rows:
        line: list = [row.label, row.model, row.method]
        for value, extra in zip(row.values, flags):
            line.append(_plain(value))
            for suffix, get in extra:
                got = get(value)
                line.append(bool(got) if suffix in ("lambda0", "partial", "limited") else got)
        rows.append(line)
    return header, rows


def _plain(value: Value):
    """A number as a number, a text as a text, missing as None (an empty csv cell, a JSON null)."""
    if value.number is not None:
        return float(value.number) if not float(value.number).is_integer() or value.seeds else _int(value.number)
    return value.text


def _int(number: float):
    return int(number) if float(number).is_integer() else float(number)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(text: str) -> str:
    """A cell a spreadsheet will not run: text starting like a formula (``=``, ``+``, ``-``, ``@``) gets a
    leading apostrophe (the OWASP rule); numbers such as ``-1.5`` and our ablation labels (``- regulation``,
    a dash then a space, which no spreadsheet evaluates) stay as they are. Quoting is csv's."""
    text = str(text)
    if text.startswith(_FORMULA_START) and not text.startswith("- "):  # "- regulation": a list-like label
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header, rows = machine_rows(table)
    writer.writerow([_csv_cell(c) for c in header])
    for line in rows:
        writer.writerow(
            ["" if cell is None else cell if not isinstance(cell, str) else _csv_cell(cell) for cell in line]
        )
    return buffer.getvalue()


def to_json_data(table: Table) -> dict:
    header, rows = machine_rows(table)
    return {
        "key": table.key,
        "title": table.title,
        "caption": table.caption,
        "notes": list(table.notes),
        "columns": header,
        "rows": [dict(zip(header, line)) for line in rows],
    }


def to_json(tables: list[Table]) -> str:
    return json.dumps([to_json_data(t) for t in tables], ensure_ascii=False, indent=1) + "\n"


# -------------------------------------------------------------------------------------------------- latex
_LATEX = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    "–": "--",
    "·": r"$\cdot$",
    "α": r"$\alpha$",
    "λ": r"$\lambda$",
    "†": r"$^\dagger$",
    "‡": r"$^\ddagger$",
    "±": r"$\pm$",
    "*": r"$^*$",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "\n": " ",  # a blank line ends a paragraph: an error inside tabular
    "\r": " ",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment; group headers become \\multicolumn with \\cmidrule."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{l" + "r" * len(table.columns) + "}",
        r"\toprule",
    ]
    for group_row in table.groups:
        heads, rules, col = [""], [], 2
        for label, span in group_row:
            heads.append(rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(label)}}}" if span > 1 else latex_escape(label))
            if label:
                rules.append(rf"\cmidrule(lr){{{col}-{col + span - 1}}}")
            col += span
        lines.append(" & ".join(heads) + r" \\")
        if rules:
            lines.append(" ".join(rules))
    lines.append(" & ".join(latex_escape(h) for h in [table.stub, *table.columns]) + r" \\")
    lines.append(r"\midrule")
    for row in table.rows:
        label = latex_escape(row.label)
        if row.source == "paper":
            label = rf"\textit{{{label}}}"
        lines.append(" & ".join([label, *(latex_escape(show(v, missing="–")) for v in row.values)]) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{latex_escape(table.title.split(': ', 1)[-1])}. {latex_escape(table.caption)}}}",
    ]
    lines.append(rf"\label{{tab:prom-bench-{table.key}}}")
    lines += [f"% note: {' '.join(n.splitlines())}" for n in table.notes]  # a newline would end the comment
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------- html
def to_html(table: Table) -> str:
    """A ``<table>`` (no styles of its own; the report page supplies CSS classes)."""
    esc = html.escape
    parts = [
        f'<table class="results" id="table-{esc(table.key)}">',
        f"<caption><strong>{esc(table.title)}.</strong> {esc(table.caption)}</caption>",
        "<thead>",
    ]
    rows_above = len(table.groups)
    for i, group_row in enumerate(table.groups):
        stub = f'<th rowspan="{rows_above + 1}">{esc(table.stub)}</th>' if i == 0 else ""
        parts.append(
            "<tr>" + stub + "".join(f'<th colspan="{span}">{esc(label)}</th>' for label, span in group_row) + "</tr>"
        )
    stub = "" if rows_above else f"<th>{esc(table.stub)}</th>"
    parts.append("<tr>" + stub + "".join(f"<th>{esc(c)}</th>" for c in table.columns) + "</tr>")
    parts += ["</thead>", "<tbody>"]
    for row in table.rows:
        tds = "".join(
            f'<td class="missing">{MISSING}</td>'
            if v.missing
            else f'<td class="text">{esc(show(v))}</td>'
            if v.number is None and not _numeric(v.text)
            else f"<td>{esc(show(v))}</td>"
            for v in row.values
        )
        parts.append(f'<tr class="{esc(row.source)}"><th scope="row">{esc(row.label)}</th>{tds}</tr>')
    parts += ["</tbody>", "</table>"]
    parts += [f'<p class="note">note: {esc(n)}</p>' for n in table.notes]
    return "\n".join(parts) + "\n"


def _numeric(text: str | None) -> bool:
    """Counts like ``8/11`` and settings like ``0.03`` align right; prose (notes, verdicts) aligns left."""
    return bool(text) and all(ch.isdigit() or ch in "./-" for ch in text)


_RENDERERS = {"markdown": to_markdown, "csv": to_csv, "latex": to_latex, "html": to_html}


def render(tables: list[Table], fmt: str = "rich") -> str:
    """All tables in one format; csv separates several tables with a blank line and a ``# title`` line."""
    if fmt not in FORMATS:
        raise unknown("format", fmt, FORMATS)
    if fmt == "rich":
        return rich_text(tables)
    if fmt == "json":
        return to_json(tables)
    if fmt == "csv" and len(tables) > 1:
        return "\n".join(f"# {' '.join(t.title.splitlines())}\n{to_csv(t)}" for t in tables)
    return "\n".join(_RENDERERS[fmt](t) for t in tables)


def render_tables(
    records: list[dict],
    table: str = "all",
    fmt: str = "rich",
    compare: str | None = None,
    significant: bool = False,
    *,
    lang: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    include_limited: bool = False,
    metric: str | None = None,
) -> str:
    """The paper's tables from ``records``, as text in ``fmt`` (rich gives plain text; see ``tables_renderable``).

    Args:
        records: result records (``prom_bench.results.load_records``).
        table: "1", "2", "3", "4" or "all".
        fmt: one of rich, markdown, csv, latex, html.
        compare: "paper" puts the paper's numbers beside ours.
        significant: Table 3 counts only significant wins/losses (paired bootstrap over samples).
        lang: language of Table 4 (default: the one with the most pivot-method settings).
    """
    if fmt not in FORMATS:
        raise unknown("format", fmt, FORMATS)
    return render(
        build_tables(
            records,
            table,
            compare=compare,
            significant=significant,
            lang=lang,
            resamples=resamples,
            seed=seed,
            include_limited=include_limited,
            metric=metric,
        ),
        fmt,
    )


def tables_renderable(
    records: list[dict], table: str = "all", compare: str | None = None, significant: bool = False, **kwargs
) -> Group:
    """The tables as one rich renderable (colours and dimmed paper rows), for ``console.print``."""
    tables = build_tables(records, table, compare=compare, significant=significant, **kwargs)
    return Group(*(part for t in tables for part in (to_rich(t), Text(""))))
