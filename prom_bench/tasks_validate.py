"""Check the lm-eval task YAMLs: everything lm-eval would skip silently, and prompts in the wrong script.

lm-eval's index drops a YAML it cannot read (a syntax error, a missing template) with a DEBUG log line only,
and a key it does not know fails only when the task is built. ``validate`` therefore:

1. parses every ``*.yaml`` itself (includes resolved) and checks its keys against lm-eval's own
   ``TaskConfig`` / ``GroupConfig`` fields (did-you-mean on a typo) and for ``metadata.version``;
2. compares the YAML files found with the tasks and groups lm-eval's ``TaskManager`` indexed;
3. builds each task through lm-eval, builds its requests for a few documents, and checks that the
   prompt's own words (the prompt with the document's fields taken out) are in the script of the task's
   language, that a target and stop sequences exist;
4. checks that each group's members exist.

Every problem is one line: ``<file>: <what is wrong>``.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from prom_bench import languages

# Languages the tasks cover beyond the language table (extra IndicQA cells), with their script.
EXTRA_SCRIPTS = {"hi": "Deva"}
STRUCTURAL_KEYS = {"include", "tag", "group", "task", "task_list", "class"}
LABEL_SCRIPT_SHARE = 0.8  # prompt words are labels only: nearly all their letters must be in the script


@dataclass(frozen=True)
class Problem:
    """One finding about one file. ``fatal=False`` marks a check that could not run (no local data)."""

    path: Path
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _allowed_keys() -> tuple[set[str], set[str]]:
    from lm_eval.config.group import GroupConfig
    from lm_eval.config.task import TaskConfig

    return {f.name for f in fields(TaskConfig)} | STRUCTURAL_KEYS, {
        f.name for f in fields(GroupConfig)
    } | STRUCTURAL_KEYS


def script_of(lang: str) -> str | None:
    """ISO 15924 script of a task language, or None when neither table knows it."""
    if lang in languages.LANGUAGES:
        return languages.LANGUAGES[lang].script
    return EXTRA_SCRIPTS.get(lang)


def yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("**/*.yaml") if "__pycache__" not in p.parts)


def check_file(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse one YAML like lm-eval's index does and check its keys. Returns ``(config or None, problems)``."""
    from lm_eval.tasks._yaml_loader import load_yaml

    try:
        cfg = load_yaml(path, resolve_func=False)
    except Exception as exc:
        return None, [Problem(path, f"lm-eval cannot read it ({_one_line(exc)})")]
    task_keys, group_keys = _allowed_keys()
    if "group" in cfg:
        kind, allowed = "group", group_keys
    elif "task" in cfg:
        kind, allowed = "task", task_keys
    else:
        return None, [Problem(path, f"neither 'task' nor 'group' is set (keys: {', '.join(map(str, cfg))})")]
    problems = []
    for key in cfg:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(path, f"unknown {kind} key '{key}'{hint}"))
    problems += _check_values(path, cfg)
    metadata = cfg.get("metadata")
    if not isinstance(metadata, dict) or "version" not in metadata:
        problems.append(Problem(path, f"no metadata.version: every {kind} must say which version its scores belong to"))
    cfg["_kind"] = kind
    return cfg, problems


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_values(path: Path, cfg: dict[str, Any]) -> list[Problem]:
    """Values lm-eval takes on trust and fails on (or silently misuses) only when it generates."""
    problems = []
    for key, low in (("num_fewshot", 0), ("repeats", 1)):
        if key in cfg and cfg[key] is not None and not _is_int(cfg[key], low):
            problems.append(Problem(path, f"{key}: {cfg[key]!r} must be a whole number >= {low}"))
    gen = cfg.get("generation_kwargs")
    if gen is None:
        return problems
    if not isinstance(gen, dict):
        return problems + [Problem(path, f"generation_kwargs must be a mapping, got {type(gen).__name__}")]
    if "max_gen_toks" in gen and not _is_int(gen["max_gen_toks"], 1):
        problems.append(
            Problem(path, f"generation_kwargs.max_gen_toks: {gen['max_gen_toks']!r} must be a whole number >= 1")
        )
    until = gen.get("until")
    if until is not None and not (
        isinstance(until, str) or (isinstance(until, list) and all(isinstance(u, str) for u in until))
    ):
        problems.append(Problem(path, f"generation_kwargs.until: {until!r} must be a string or a list of strings"))
    if "do_sample" in gen and not isinstance(gen["do_sample"], bool):
        problems.append(Problem(path, f"generation_kwargs.do_sample: {gen['do_sample']!r} must be true or false"))
    if "temperature" in gen and (
        isinstance(gen["temperature"], bool)
        or not isinstance(gen["temperature"], (int, float))
        or gen["temperature"] < 0
    ):
        problems.append(Problem(path, f"generation_kwargs.temperature: {gen['temperature']!r} must be a number >= 0"))
    return problems


def validate(root: Path, *, data_dir: Path | None = None, docs: int = 3) -> tuple[list[Problem], dict[str, int]]:
    """Check every YAML under ``root``.

    Returns:
        ``(problems, counts)``: problems in file order (``fatal=False`` ones are checks that could not run);
        counts of YAML ``files``, ``tasks`` and ``groups`` checked.
    """
    from prom_bench.evaluation import task_manager

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    root = Path(root)
    problems: list[Problem] = []
    configs: dict[Path, dict[str, Any]] = {}
    names: dict[str, Path] = {}
    files = yaml_files(root)
    for path in files:
        cfg, found = check_file(path)
        problems.extend(found)
        if cfg is None:
            continue
        name = cfg.get(cfg["_kind"])
        if not isinstance(name, str):
            problems.append(Problem(path, f"'{cfg['_kind']}' must be one name, got {name!r}"))
            continue
        if name in names:
            problems.append(
                Problem(path, f"{cfg['_kind']} '{name}' is already defined in {names[name]}; lm-eval keeps only one")
            )
            continue
        names[name] = path
        configs[path] = cfg
    manager = task_manager(data_dir, include_path=root)
    indexed = set(manager.all_tasks)
    for name, path in names.items():
        if name not in indexed:
            problems.append(
                Problem(path, f"lm-eval's index skipped '{name}' (run with LMEVAL_LOG_LEVEL=DEBUG to see why)")
            )
    tasks = groups = 0
    bad_files = {p.path for p in problems if p.fatal}
    for path, cfg in configs.items():
        name = cfg[cfg["_kind"]]
        if path in bad_files or name not in indexed:
            continue
        if cfg["_kind"] == "group":
            groups += 1
            problems.extend(_check_group(path, cfg, indexed))
        else:
            tasks += 1
            problems.extend(_check_task(path, name, manager, docs))
    return problems, {"files": len(files), "tasks": tasks, "groups": groups}


def _check_group(path: Path, cfg: dict[str, Any], indexed: set[str]) -> list[Problem]:
    members = cfg.get("task") or []
    problems = []
    for member in members if isinstance(members, list) else [members]:
        name = member.get("task") if isinstance(member, dict) else member
        if name not in indexed:
            close = difflib.get_close_matches(str(name), sorted(indexed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(path, f"group member '{name}' is no task or group{hint}"))
    if not cfg.get("aggregate_metric_list"):
        problems.append(Problem(path, "no aggregate_metric_list: lm-eval reports no average for this group"))
    return problems


def _check_task(path: Path, name: str, manager, docs: int) -> list[Problem]:
    try:
        task = manager.load([name])["tasks"][name]
    except FileNotFoundError as exc:  # the data dir lacks this cell: nothing wrong with the YAML
        return [Problem(path, f"not built: {_one_line(exc)}", fatal=False)]
    except Exception as exc:
        return [Problem(path, f"lm-eval cannot build '{name}' ({_one_line(exc)})")]
    problems = []
    config = task.config
    lang = (config.dataset_kwargs or {}).get("lang")
    script = script_of(lang) if lang else None
    if script is None:
        problems.append(
            Problem(path, f"dataset_kwargs.lang '{lang}' has no known script; add it to the language table")
        )
    until = (config.generation_kwargs or {}).get("until")
    if config.output_type == "generate_until" and not until:
        problems.append(
            Problem(path, "generation_kwargs.until is empty: generation runs to max_gen_toks on every item")
        )
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # lm-eval draws a progress bar per request build
            task.build_all_requests(limit=docs, rank=0, world_size=1)
    except Exception as exc:
        return problems + [Problem(path, f"lm-eval cannot build requests for '{name}' ({_one_line(exc)})")]
    if not task.instances:
        return problems + [Problem(path, f"'{name}' has no documents")]
    for instance in task.instances:
        doc, prompt = instance.doc, instance.arguments[0]
        if not str(task.doc_to_target(doc)).strip():
            problems.append(Problem(path, f"document {instance.doc_id} has an empty target"))
        labels = prompt
        for value in doc.values():
            if isinstance(value, str) and value:
                labels = labels.replace(value, " ")
        if script is not None:
            share = languages.script_share(labels, script)
            if share < LABEL_SCRIPT_SHARE:
                problems.append(
                    Problem(
                        path,
                        f"prompt words {' '.join(labels.split())!r} are {share:.0%} {script} script, "
                        f"expected the script of '{lang}'",
                    )
                )
                break
    return problems
