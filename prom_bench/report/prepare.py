"""From raw records to what a table may show: smoke tests out, models told apart, seeds aggregated.

Order of the steps, each stated in the tables' notes when it changes anything:

0. Records are grouped into runs across languages: ``settings_id`` becomes the run's id (``results.run_id``,
   the settings without each cell's own data hash), since every language's mixture has its own content.
1. One record per identity (``results.record_key``): a rerun of the very same thing replaces the older one;
   so does a rerun on changed training data (another ``data.sha256`` in the same run), which a note names.
2. Limited records (``--limit`` smoke tests) are left out unless asked (``include_limited``); when nothing
   else is on record they are shown, flagged, rather than an empty table.
3. Two models shown under one name (same display name, different weights or revision) get their identity
   key in the name, so their rows can never merge.
4. A cell of one run measured on two versions of its task (data, task or scorer version) keeps the newest
   version; the note names what differs.
5. Seeds: the records of one (model, method, task, settings) that differ only in their seed become one
   *aggregate record*: ``metrics`` are the mean over seeds, ``metrics_sd`` the sample standard deviation
   (ddof = 1; None for one seed), ``n_seeds`` the count, and ``samples`` the per-item mean over seeds of the
   items every seed answered. Dominance (Table 3) compares these means; the paired bootstrap resamples
   items, the same draw for every seed, which is the bootstrap over these per-item seed means.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from prom_bench.results import (
    CELL_FACTS,
    is_limited,
    latest_records,
    model_key,
    record_key,
    run_id,
    run_settings,
    seed_of,
    task_settings_id,
)


@dataclass
class Prepared:
    records: list[dict]  # aggregate records, one per (model, method, task, settings)
    notes: list[str] = field(default_factory=list)
    limited_shown: bool = False


def _date(record: dict) -> str:
    return str((record.get("provenance") or {}).get("date") or "")


def differences(a: dict, b: dict) -> list[str]:
    """``key a→b`` for every setting where two settings dicts differ, in key order."""
    keys = sorted(set(a) | set(b))
    return [f"{k} {_short(a.get(k))}→{_short(b.get(k))}" for k in keys if repr(a.get(k)) != repr(b.get(k))]


def _short(value) -> str:
    text = "–" if value is None else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def prepare(records: list[dict], *, include_limited: bool = False) -> Prepared:
    """The records a table may show (see the module docstring); ``notes`` say what was set aside."""
    out = Prepared([])
    as_runs = [{**r, "settings_id": run_id(r), "settings": run_settings(r.get("settings") or {})} for r in records]
    data_versions: dict[tuple, set[str]] = defaultdict(set)
    for original, record in zip(records, as_runs):
        facts = {k: v for k, v in (original.get("settings") or {}).items() if k in CELL_FACTS}
        data_versions[record_key(record)].add(repr(sorted(facts.items())))
    retrained = sorted({(k[0], k[2], k[4]) for k, v in data_versions.items() if len(v) > 1})
    for model, method, task in retrained:
        out.notes.append(f"{model} · {method} · {task}: trained on several versions of its data; shown: the newest")
    latest = latest_records(as_runs)

    limited = [r for r in latest if is_limited(r)]
    if limited and not include_limited:
        full = [r for r in latest if not is_limited(r)]
        if full:
            out.notes.append(
                f"{len(limited)} limited record(s) (smoke tests evaluated with --limit) left out; "
                "show them with --include-limited"
            )
            latest = full
        else:
            out.notes.append("only limited records (smoke tests evaluated with --limit) on record: shown, flagged ‡")
            out.limited_shown = True
    elif limited:
        out.limited_shown = True

    # 3. one name, several models
    keys_of: dict[str, set[str]] = defaultdict(set)
    for record in latest:
        keys_of[record["model"]].add(model_key(record))
    renamed = []
    for record in latest:
        if len(keys_of[record["model"]]) > 1:
            record = {**record, "model": f"{record['model']} [{model_key(record)[:6]}]"}
        renamed.append(record)
    for name, keys in sorted(keys_of.items()):
        if len(keys) > 1:
            out.notes.append(
                f"'{name}' names {len(keys)} different models (weights or revision differ): shown apart as "
                + ", ".join(f"'{name} [{k[:6]}]'" for k in sorted(keys))
            )

    # 4. one cell of one run on two task versions: the newest version
    groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in renamed:
        key = (record["model"], record["method"], record["task"], record["settings_id"])
        groups[key][task_settings_id(record)].append(record)
    kept: list[dict] = []
    for (model, method, task, _sid), versions in groups.items():
        if len(versions) > 1:
            ranked = sorted(versions.values(), key=lambda rs: max(_date(r) for r in rs))
            newest, older = ranked[-1], ranked[:-1]
            what = differences(older[-1][0].get("task_settings") or {}, newest[0].get("task_settings") or {})
            out.notes.append(
                f"{model} · {method} · {task}: measured on {len(versions)} versions of the task; shown: the newest "
                f"({'; '.join(what) or 'task version'})"
            )
            kept.extend(newest)
        else:
            kept.extend(next(iter(versions.values())))

    # 5. seeds
    by_seeds: dict[tuple, list[dict]] = defaultdict(list)
    for record in kept:
        by_seeds[(record["model"], record["method"], record["task"], record["settings_id"])].append(record)
    out.records = [aggregate(group) for group in by_seeds.values()]
    return out


def aggregate(records: list[dict]) -> dict:
    """One aggregate record of the repeats of one result over seeds (see the module docstring)."""
    records = sorted(records, key=lambda r: (str(seed_of(r)), _date(r)))
    newest = max(records, key=_date)
    if len(records) == 1:
        return {**newest, "metrics_sd": None, "n_seeds": 1, "seeds": [seed_of(newest)], "seed_records": records}
    metrics, sds = {}, {}
    names = [m for m in newest["metrics"] if all(r["metrics"].get(m) is not None for r in records)]
    for name in names:
        values = [float(r["metrics"][name]) for r in records]
        metrics[name] = statistics.fmean(values)
        sds[name] = statistics.stdev(values)
    return {
        **newest,
        "metrics": metrics,
        "metrics_sd": sds,
        "n_seeds": len(records),
        "seeds": [seed_of(r) for r in records],
        "samples": _mean_samples(records, names),
        "n": min(int(r["n"]) for r in records),
        "limited": any(is_limited(r) for r in records),
        "seed_records": records,
    }


def _mean_samples(records: list[dict], metrics: list[str]) -> list[dict]:
    """Per item, the mean over seeds of each metric, for the items every seed scored."""
    per_seed = []
    for record in records:
        scores = {}
        for sample in record.get("samples") or []:
            if sample.get("doc_id") is not None and sample.get("doc_id") not in scores:
                scores[sample["doc_id"]] = sample
        per_seed.append(scores)
    common = set(per_seed[0]).intersection(*per_seed[1:]) if per_seed else set()
    out = []
    for doc in sorted(common, key=lambda d: (str(type(d)), d)):
        item = {"doc_id": doc}
        for metric in metrics:
            values = [s[doc].get(metric) for s in per_seed]
            if all(v is not None for v in values):
                item[metric] = statistics.fmean(float(v) for v in values)
        out.append(item)
    return out
