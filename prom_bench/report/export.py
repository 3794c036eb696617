"""``prom-bench export``: every result as one tidy long table, one row per record x metric.

Columns (one meaning each, plain values): ``model``, ``model_key`` (the model's identity hash),
``model_source``, ``model_hub_id``, ``model_revision``, ``model_hash``, ``method``, ``lang``, ``task``,
``benchmark``, ``settings_id``, ``task_settings_id``, ``seed``, ``limited``, ``limit``, ``n`` (items),
``metric``, ``value`` (percent), ``lambda_zero``, ``task_version``, ``date``, ``git_commit``, then
``settings.<name>`` for every setting on record (lists and mappings as JSON text). A notebook pivots it::

    df = pd.read_csv("results.csv")
    df[~df.limited].groupby(["model", "method", "settings_id", "task", "metric"]).value.agg(["mean", "std", "count"])
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from prom_bench.errors import UserError
from prom_bench.fileio import write_text_atomic
from prom_bench.report.cells import lambda_zero
from prom_bench.results import is_limited, latest_records, model_key, seed_of, task_settings_id

SUFFIXES = (".csv", ".parquet")


def long_rows(records: list[dict]) -> list[dict]:
    rows = []
    for record in latest_records(records):
        model_id = record.get("model_id") or {}
        provenance = record.get("provenance") or {}
        base = {
            "model": record["model"],
            "model_key": model_key(record),
            "model_source": model_id.get("source"),
            "model_hub_id": model_id.get("hub_id"),
            "model_revision": model_id.get("revision"),
            "model_hash": model_id.get("content_hash"),
            "method": record["method"],
            "lang": record["lang"],
            "task": record["task"],
            "benchmark": record["benchmark"],
            "settings_id": record["settings_id"],
            "task_settings_id": task_settings_id(record),
            "seed": seed_of(record),
            "limited": is_limited(record),
            "limit": record.get("limit"),
            "n": record["n"],
        }
        tail = {
            "lambda_zero": lambda_zero(record),
            "task_version": provenance.get("task_version"),
            "date": provenance.get("date"),
            "git_commit": provenance.get("git_commit"),
            **{
                f"settings.{k}": json.dumps(v) if isinstance(v, (list, dict)) else v
                for k, v in sorted(record["settings"].items())
            },
        }
        for metric, value in record["metrics"].items():
            rows.append({**base, "metric": metric, "value": value, **tail})
    return rows


def write_export(records: list[dict], out: Path, *, include_limited: bool = True) -> tuple[Path, int]:
    """Write the long table to ``out`` (.csv or .parquet); returns the path and the number of rows."""
    out = Path(out)
    if out.suffix not in SUFFIXES:
        raise UserError(f"export file '{out}' must end in .csv or .parquet")
    if out.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UserError(f"writing '{out}' needs pyarrow, which is not installed; pip install pyarrow, or give a .csv")
    import pandas as pd

    if not include_limited:
        records = [r for r in records if not is_limited(r)]
    frame = pd.DataFrame(long_rows(records))
    if out.suffix == ".csv":
        write_text_atomic(out, frame.to_csv(index=False))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        for column in frame.columns:  # mixed-type setting columns (e.g. None beside a number) as text
            if frame[column].dtype == object:
                frame[column] = frame[column].map(lambda v: None if v is None else str(v))
        frame.to_parquet(tmp, index=False)
        tmp.replace(out)
    return out, len(frame)
