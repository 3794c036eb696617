"""Reporting: the paper's Tables 1-4 (with win/loss counts and paired-bootstrap significance) from result
records, rendered as rich, markdown, csv, latex or html, and a self-contained HTML report.

    from prom_bench.results import load_records
    from prom_bench.report import render_tables
    print(render_tables(load_records([Path("leaderboards/results")]), table="all", fmt="markdown", compare="paper"))
"""

from prom_bench.report.render import FORMATS, render, render_tables, tables_renderable
from prom_bench.report.tables import TABLE_KEYS, Table, build_tables, parse_table

__all__ = [
    "FORMATS",
    "TABLE_KEYS",
    "Table",
    "build_tables",
    "parse_table",
    "render",
    "render_tables",
    "tables_renderable",
]
