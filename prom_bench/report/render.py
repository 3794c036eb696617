"""Renderers for ``Table``: rich (terminal), markdown, csv, latex and html.

Numbers print with one decimal, rounded half up like the paper; ``*`` marks lambda = 0, ``†`` an
average over only some cells; a missing entry prints as ``–`` (empty in csv, ``--`` in LaTeX), never 0.
"""

from __future__ import annotations

import csv
import html
import io
from decimal import ROUND_HALF_UP, Decimal

from rich.console import Console, Group
from rich.table import Table as RichTable
from rich.text import Text

from prom_bench.errors import unknown
from prom_bench.report.bootstrap import DEFAULT_RESAMPLES
from prom_bench.report.tables import Table, Value, build_tables

FORMATS = ("rich", "markdown", "csv", "latex", "html")
MISSING = "–"


def fmt_number(number: float) -> str:
    """One decimal, half up (2.25 -> 2.3), from the shortest repr so 0.1-style floats round as printed."""
    return str(Decimal(repr(float(number))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def show(value: Value, missing: str = MISSING) -> str:
    """The text of one entry."""
    if value.missing:
        return missing
    text = value.text if value.number is None else fmt_number(value.number)
    return text + ("*" if value.star else "") + ("†" if value.partial else "")


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
    writer.writerow([_csv_cell(c) for c in [table.stub, *table.flat_columns()]])
    for row in table.rows:
        writer.writerow([_csv_cell(c) for c in [row.label, *(show(v, missing="") for v in row.values)]])
    return buffer.getvalue()


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
            records, table, compare=compare, significant=significant, lang=lang, resamples=resamples, seed=seed
        ),
        fmt,
    )


def tables_renderable(
    records: list[dict], table: str = "all", compare: str | None = None, significant: bool = False, **kwargs
) -> Group:
    """The tables as one rich renderable (colours and dimmed paper rows), for ``console.print``."""
    tables = build_tables(records, table, compare=compare, significant=significant, **kwargs)
    return Group(*(part for t in tables for part in (to_rich(t), Text(""))))
