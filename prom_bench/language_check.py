"""The deep check of a languages file (``prom-bench languages validate``): everything a run would read.

``languages.load_file`` checks the file itself (keys, codes, script, paths exist). Here each declared
language is registered and every item a run uses is read as the run would read it: the cells must be tasks
found in ``tasks/`` or the language's ``include_path``; the data files must parse (``prom_bench.data.files``
errors name the file and line); the evaluation files must exist in the upstream layout. Items a run would
miss are reported with what replaces them (the demo data) or what happens (the probe's default).
"""

from __future__ import annotations

import re
from pathlib import Path

from prom_bench import languages
from prom_bench.errors import UserError
from prom_bench.paths import demo_data_dir, tasks_dir

_TASK_LINE = re.compile(r"^task:\s*['\"]?([A-Za-z0-9_]+)", re.M)


def task_names(folders: list[Path]) -> set[str]:
    """Task names declared by the YAMLs under ``folders`` (a text scan: lm-eval's index takes seconds)."""
    names: set[str] = set()
    for folder in folders:
        for path in Path(folder).rglob("*.yaml"):
            names.update(_TASK_LINE.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


def check_file(path: Path) -> list[tuple[str, str, str, str]]:
    """``(lang, item, status, detail)`` rows for every language of ``path``; raises ``UserError`` on a problem."""
    from prom_bench.data.files import read_instructions, read_mgsm_tsv, read_parallel, read_squad
    from prom_bench.evaluation import local_data_file
    from prom_bench.probe.cloze_source import read_words

    declared = languages.load_file(path)
    languages.register_files([str(path)])
    rows: list[tuple[str, str, str, str]] = []
    for lang in declared:
        code = lang.code
        folders = [tasks_dir()] + ([Path(lang.include_path)] if lang.include_path else [])
        known = task_names(folders)
        for task in lang.tasks + lang.extra_tasks:
            if task not in known:
                raise UserError(
                    f"{path}: language '{code}': task '{task}' is not in tasks/"
                    + (f" or {lang.include_path}" if lang.include_path else "")
                    + "; write its YAML (tasks/CONTRIBUTING.md) or give include_path: FOLDER"
                )
            rows.append((code, f"cell {task}", "found", "tasks/" if task in task_names([tasks_dir()]) else "include"))
        data = lang.data
        demo = demo_data_dir()
        if data.translations:
            _, report = read_instructions(Path(data.translations), lang=code)
            rows.append((code, "s_t translations", "ok", f"{report.records} records, {data.translations}"))
        elif (demo / "instructions" / f"{code}.jsonl").is_file():
            rows.append((code, "s_t translations", "demo", "the project's demo data"))
        else:
            rows.append((code, "s_t translations", "missing", "t, t+e, prom need data.translations (or --set ...)"))
        if data.instructions:
            _, report = read_instructions(Path(data.instructions), lang="en")
            rows.append((code, "s_e instructions", "ok", f"{report.records} records, {data.instructions}"))
        if data.parallel:
            pairs, report = read_parallel(Path(data.parallel[0]), Path(data.parallel[1]), code)
            rows.append((code, "s_e2t parallel", "ok", f"{len(pairs)} pairs, {data.parallel[1]}"))
        elif (demo / "parallel" / f"{code}.txt").is_file():
            rows.append((code, "s_e2t parallel", "demo", "the project's demo data"))
        else:
            rows.append((code, "s_e2t parallel", "missing", "t, prom need data.parallel (or --set data.parallel=...)"))
        if data.cloze:
            from prom_bench.probe.data import load_cloze

            items = load_cloze(code, "demo")
            rows.append((code, "cloze set", "ok", f"{len(items)} items, {data.cloze}"))
        elif (demo / "cloze" / f"{code}.tsv").is_file():
            rows.append((code, "cloze set", "demo", "the project's demo data"))
        elif data.words:
            words = read_words(Path(data.words))
            rows.append((code, "cloze set", "from words", f"{len(words)} words; built with --set probe.translate=..."))
        else:
            rows.append((code, "cloze set", "missing", "the probe cannot decide; probe.undetermined applies"))
        eval_dir = Path(data.eval) if data.eval else demo / "eval"
        for task in lang.tasks + lang.extra_tasks:
            file = local_data_file(eval_dir, task)
            if file is None or not file.is_file():
                status = "missing" if file is not None else "unknown family"
                rows.append((code, f"eval {task}", status, f"{file} (give data.eval, or eval.data_dir=hub)"))
                continue
            items, _ = read_mgsm_tsv(file, code) if file.suffix == ".tsv" else read_squad(file, code)
            rows.append((code, f"eval {task}", "ok", f"{len(items)} items, {file}"))
    return rows
