"""The paper's own numbers (``leaderboards/paper``): its records and the Table 3 counts it prints."""

from __future__ import annotations

import functools
import json

from prom_bench.errors import UserError
from prom_bench.paths import paper_leaderboard_dir
from prom_bench.results import load_records

TABLE3_FILE = "paper_table3.json"


def _folder():
    try:
        folder = paper_leaderboard_dir()
    except FileNotFoundError as exc:
        raise UserError(f"--compare paper needs the paper's leaderboard, which this install lacks ({exc})") from None
    if not folder.is_dir():
        raise UserError(f"--compare paper needs the paper's leaderboard at '{folder}', which does not exist")
    return folder


@functools.lru_cache(maxsize=1)
def _paper_records() -> tuple[dict, ...]:
    return tuple(load_records([_folder()]))


def paper_records() -> list[dict]:
    """The paper's Tables 1, 2 and 4 as records (model ``LLaMA2-7B``, samples empty)."""
    return [dict(r) for r in _paper_records()]


@functools.lru_cache(maxsize=1)
def paper_table3() -> dict:
    """The printed Table 3: ``{"counts": {method: {"lose": int, "win": int}}, "cells": 11, ...}``."""
    path = _folder() / TABLE3_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"the paper's Table 3 counts at '{path}' cannot be read ({exc})") from None
