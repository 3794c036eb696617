"""The language table: the built-in one (``languages.yaml`` beside this module) and the user's own.

A language is one entry of a YAML languages file; the built-in table is such a file, read by the same
loader as a user's (``--languages-file FILE`` on run/probe/data/table, or the ``languages_file`` setting).
A user's entry may add a language or replace a built-in one (its own data for Hindi, say), and may say where
its data comes from (``data``) and where its own task YAMLs are (``include_path``). Paths in a file are
relative to that file. ``prom-bench languages validate FILE`` checks one; ``prom-bench languages list``
shows the table in effect.

``pivots_llama2_7b`` is the paper's regulation outcome for LLaMA2-7B (Table 1/2 asterisks: lambda = 0 for
ar, ta, ml, te). For any other model the probe (``prom-bench probe``) measures it instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prom_bench.errors import UserError, unknown
from prom_bench.paths import PACKAGE_DIR

BUILTIN_FILE = PACKAGE_DIR / "languages.yaml"


@dataclass(frozen=True)
class LanguageData:
    """Where a declared language's data comes from (absolute paths; None = not declared).

    Each is used where the run's source for that part is ``demo`` (the project's demo data has only the
    paper's nine): so a declared language runs with the demo preset as it is.
    """

    translations: str | None = None  # s_t: target-language instructions (Alpaca / messages / ShareGPT file)
    instructions: str | None = None  # s_e: English instructions to pair with them (default: the demo's)
    parallel: tuple[str, str] | None = None  # s_e2t: line-aligned (English file, target file)
    cloze: str | None = None  # the probe's cloze set: a file or folder in a format prom_bench.probe.data reads
    words: str | None = None  # English word -> target word list, to build a cloze set by translation
    eval: str | None = None  # evaluation data folder in the upstream layout (indicqa/indicqa.<code>.json ...)

    def declared(self) -> dict[str, Any]:
        """The declared items only (what goes into a unit's identity)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    name: str  # English name, as in prompts ("Translate ... from English to Thai.")
    native: str  # endonym
    script: str  # ISO 15924
    flores: str  # FLORES-200 code
    ntrex: str  # NTREX-128 file suffix (newstest2019-ref.<ntrex>.txt)
    tasks: tuple[str, ...]  # lm-eval tasks in tasks/ that cover it (the paper's cells; controls for en)
    pivots_llama2_7b: bool | None  # the paper's regulation outcome; None where the paper has none
    extra_tasks: tuple[str, ...] = ()  # further cells in tasks/ beyond the paper's (``extra_cells`` setting)
    paper: bool = False  # one of the paper's nine target languages
    script_ranges: str | None = None  # Unicode ranges of a script not in SCRIPT_RANGES ("0A80-0AFF,...")
    include_path: str | None = None  # a folder with the language's own task YAMLs (absolute)
    data: LanguageData = field(default_factory=LanguageData)
    origin: str = "built-in"  # the file it was declared in


PIVOT = "en"  # the pivot language of an English-centric model

# Unicode blocks of each script: enough to tell a Thai string from a Tamil one, not a full UCD table.
SCRIPT_RANGES: dict[str, str] = {
    "Arab": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Beng": "\u0980-\u09ff",
    "Deva": "\u0900-\u097f\ua8e0-\ua8ff",
    "Grek": "\u0370-\u03ff\u1f00-\u1fff",
    "Latn": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "Mlym": "\u0d00-\u0d7f",
    "Taml": "\u0b80-\u0bff",
    "Telu": "\u0c00-\u0c7f",
    "Thai": "\u0e00-\u0e7f",
}
_SCRIPT_RE = {script: re.compile(f"[{ranges}]") for script, ranges in SCRIPT_RANGES.items()}

_KEYS = {f.name for f in dataclasses.fields(Language)} - {"origin"}
_REQUIRED = ("code", "name", "script", "tasks")
_DATA_KEYS = {f.name for f in dataclasses.fields(LanguageData)}
_CODE = re.compile(r"^[a-z]{2,3}$")
_FLORES = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
_RANGE = re.compile(r"^(?:U\+)?([0-9A-Fa-f]{4,6})(?:-(?:U\+)?([0-9A-Fa-f]{4,6}))?$")


# --- reading a languages file -----------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line each mapping starts on (for ``file:line`` errors)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_file(path: str | Path, *, known: dict[str, Language] | None = None) -> list[Language]:
    """The languages declared in ``path``, checked; nothing is registered (see ``register_files``).

    Checks: YAML syntax, keys, codes (ISO 639, FLORES-200), a known script or its ``script_ranges``, task
    names (``prom_<benchmark>_<code>``), and that every declared data path exists. Whether the data
    parses and the tasks are found is ``prom-bench languages validate``'s deeper check.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"languages file '{path}' does not exist; give a YAML file with a 'languages:' list")
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # a SafeLoader subclass
    except UnicodeDecodeError:
        raise UserError(f"languages file '{path}' is not UTF-8; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    entries = doc.get("languages") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{path}:1: expected a mapping with a non-empty 'languages:' list of language entries")
    known = dict(LANGUAGES if known is None else known)
    out: list[Language] = []
    for entry in entries:
        language = _parse_entry(path, entry, known)
        if any(other.code == language.code for other in out):
            raise UserError(f"{path}:{entry.get('__line__', 1)}: language '{language.code}' is declared twice")
        out.append(language)
    return out


def _parse_entry(path: Path, entry: Any, known: dict[str, Language]) -> Language:
    if not isinstance(entry, dict):
        raise UserError(f"{path}: every item of 'languages:' must be a mapping (code, name, script, tasks, ...)")
    line = entry.pop("__line__", 1)
    where = f"{path}:{line}"
    for key in entry:
        if key not in _KEYS:
            raise UserError(f"{where}: {unknown('key', str(key), sorted(_KEYS))}")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise UserError(f"{where}: language entry lacks {', '.join(missing)}; required: {', '.join(_REQUIRED)}")
    code = str(entry["code"])
    if not _CODE.match(code):
        raise UserError(f"{where}: code '{code}' is not an ISO 639 code (two or three lower-case letters, e.g. hi)")
    where = f"{where}: language '{code}'"
    base = known.get(code)
    script = str(entry["script"])
    ranges = entry.get("script_ranges")
    if script not in SCRIPT_RANGES and script not in _SCRIPT_RE:
        if not ranges:
            raise UserError(
                f"{where}: script '{script}' is not a known one ({', '.join(SCRIPT_RANGES)}); give its Unicode "
                "ranges as script_ranges, e.g. script_ranges: 0A80-0AFF"
            )
    if ranges is not None:
        ranges = str(ranges)
        _range_class(ranges, where)
    flores = str(entry.get("flores") or (base.flores if base else ""))
    if flores and not _FLORES.match(flores):
        raise UserError(f"{where}: flores '{flores}' is not a FLORES-200 code (like hin_Deva)")
    tasks = _task_list(entry.get("tasks"), "tasks", where)
    if not tasks:
        raise UserError(f"{where}: tasks is empty; name at least one cell (e.g. prom_indicqa_{code})")
    extra = _task_list(entry.get("extra_tasks", []), "extra_tasks", where)
    pivots = entry.get("pivots_llama2_7b")
    if pivots is not None and not isinstance(pivots, bool):
        raise UserError(f"{where}: pivots_llama2_7b must be true, false or null, not {pivots!r}")
    folder = path.parent
    include = entry.get("include_path")
    if include is not None:
        include = str(_existing(folder, include, where, "include_path", directory=True))
    data = _parse_data(entry.get("data") or {}, folder, where)
    return Language(
        code=code,
        name=str(entry["name"]),
        native=str(entry.get("native") or entry["name"]),
        script=script,
        flores=flores,
        ntrex=str(entry.get("ntrex") or (base.ntrex if base else "")),
        tasks=tasks,
        pivots_llama2_7b=pivots,
        extra_tasks=extra,
        paper=bool(entry.get("paper", False)),
        script_ranges=ranges,
        include_path=include,
        data=data,
        origin="built-in" if path.resolve() == BUILTIN_FILE else str(path.resolve()),
    )


def _task_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise UserError(f"{where}: {key} must be a list of task names (e.g. [prom_indicqa_hi])")
    for task in value:
        if not re.match(r"^prom_[a-z0-9]+_[a-z0-9]+$", task):
            raise UserError(f"{where}: task '{task}' is not named prom_<benchmark>_<lang> (e.g. prom_indicqa_hi)")
    return tuple(value)


def _parse_data(raw: Any, folder: Path, where: str) -> LanguageData:
    if not isinstance(raw, dict):
        raise UserError(f"{where}: data must be a mapping of {', '.join(sorted(_DATA_KEYS))}")
    raw = {k: v for k, v in raw.items() if k != "__line__"}
    for key in raw:
        if key not in _DATA_KEYS:
            raise UserError(f"{where}: {unknown('data item', str(key), sorted(_DATA_KEYS))}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key == "parallel":
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "__line__"}
                if set(value) != {"english", "target"}:
                    raise UserError(f"{where}: data.parallel needs exactly english: FILE and target: FILE")
                values[key] = tuple(
                    str(_existing(folder, value[k], where, f"data.parallel.{k}")) for k in ("english", "target")
                )
            else:
                raise UserError(f"{where}: data.parallel must be a mapping: {{english: FILE, target: FILE}}")
            continue
        values[key] = str(_existing(folder, value, where, f"data.{key}", directory=key in ("eval",)))
    return LanguageData(**values)


def _existing(folder: Path, value: Any, where: str, key: str, directory: bool = False) -> Path:
    path = (folder / str(value)).expanduser().resolve()
    if directory and not path.is_dir():
        raise UserError(f"{where}: {key} '{value}' is not a folder (paths are relative to the languages file)")
    if not path.exists():
        raise UserError(f"{where}: {key} '{value}' does not exist (paths are relative to the languages file)")
    return path


def _range_class(ranges: str, where: str) -> str:
    """``"0A80-0AFF, U+0AE6"`` -> a regex character class body."""
    parts = []
    for item in (p.strip() for p in ranges.split(",")):
        match = _RANGE.match(item)
        if not match:
            raise UserError(f"{where}: script_ranges item '{item}' is not a hex range like 0A80-0AFF or U+0A80-U+0AFF")
        low, high = int(match.group(1), 16), int(match.group(2) or match.group(1), 16)
        if high < low:
            raise UserError(f"{where}: script_ranges item '{item}' ends before it starts")
        parts.append(re.escape(chr(low)) + "-" + re.escape(chr(high)))
    return "".join(parts)


# --- the table in effect ----------------------------------------------------------------------------------

LANGUAGES: dict[str, Language] = {}  # filled below from the built-in file; user files add to it in place
_REGISTERED: list[str] = []  # user files registered in this process, in order


def _install(langs: list[Language]) -> None:
    for lang in langs:
        LANGUAGES[lang.code] = lang
        if lang.script_ranges:
            _SCRIPT_RE[lang.script] = re.compile(f"[{_range_class(lang.script_ranges, lang.origin)}]")


_install(load_file(BUILTIN_FILE, known={}))
PAPER_LANGS: tuple[str, ...] = tuple(code for code, lang in LANGUAGES.items() if lang.paper)


def register_files(paths: list[str] | tuple[str, ...] | None) -> list[Language]:
    """Load user languages files into the table (an entry replaces a built-in one of the same code).

    Idempotent per file, so every process (parallel workers, the CLI and a config) can call it freely.
    Files are checked completely before any is installed: a bad file changes nothing.
    """
    new = []
    for path in paths or []:
        resolved = str(Path(path).expanduser().resolve())
        if resolved in _REGISTERED:
            continue
        new.append((resolved, load_file(resolved)))
    for resolved, langs in new:
        _install(langs)
        _REGISTERED.append(resolved)
    return [lang for _, langs in new for lang in langs]


def registered_files() -> list[str]:
    return list(_REGISTERED)


def reset() -> None:
    """Back to the built-in table (tests)."""
    LANGUAGES.clear()
    _REGISTERED.clear()
    _SCRIPT_RE.clear()
    _SCRIPT_RE.update({script: re.compile(f"[{ranges}]") for script, ranges in SCRIPT_RANGES.items()})
    _install(load_file(BUILTIN_FILE, known={}))


def get(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        close = difflib.get_close_matches(code, list(LANGUAGES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(
            f"unknown language '{code}'{hint}; valid: {', '.join(LANGUAGES)}, or declare it in a languages file "
            "(--languages-file FILE, see prom-bench languages validate)"
        ) from None


def parse_langs(spec: str | list[str] | tuple[str, ...], *, allow_english: bool = False) -> list[str]:
    """``"all"`` (the paper's nine), or a comma list of codes; order kept, duplicates dropped."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    codes: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        expanded = PAPER_LANGS if item == "all" else (get(item).code,)
        for code in expanded:
            if code == PIVOT and not allow_english:
                targets = [c for c in LANGUAGES if c != PIVOT]
                raise UserError("language 'en' is the pivot, not a target; valid targets: all, " + ", ".join(targets))
            if code not in codes:
                codes.append(code)
    if not codes:
        raise UserError(f"no language given in '{spec}'; valid: all, " + ", ".join(LANGUAGES))
    return codes


def cells(code: str, extra: bool = False) -> tuple[str, ...]:
    """The tasks a unit of ``code`` evaluates: its cells, and with ``extra`` its further ones."""
    lang = get(code)
    return lang.tasks + (lang.extra_tasks if extra else ())


def script_share(text: str, script: str) -> float:
    """Share of the letters of ``text`` that belong to ``script`` (digits, spaces, punctuation ignored)."""
    letters = [ch for ch in text if unicodedata.category(ch)[0] in "LM"]
    if not letters:
        return 1.0
    pattern = _SCRIPT_RE[script]
    return sum(1 for ch in letters if pattern.match(ch)) / len(letters)


def in_script(text: str, lang: str, threshold: float = 0.5) -> bool:
    """Whether most letters of ``text`` are in the script of ``lang`` (names and loanwords in Latin are fine)."""
    return script_share(text, get(lang).script) >= threshold
