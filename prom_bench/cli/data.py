"""Commands: ``data build`` (a method's mixture), ``data translate`` (Alpaca into a language, cached),
``data validate`` (check input files), ``data sources`` (what each source is and where it comes from)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from prom_bench.cli.app import LANGUAGES_FILE_HELP, data_app, use_languages
from prom_bench.data.backends import TRANSLATE_OPTIONS
from prom_bench.data.build import DataSources
from prom_bench.errors import UserError

_HELP = {f.name: f.metadata["help"] for f in dataclasses.fields(DataSources)}
_err = Console(stderr=True, highlight=False, soft_wrap=True)
OVERWRITE_HELP = "Replace an existing --out (without it an existing file or non-empty folder is never touched)."
_LANGUAGES_FILE = typer.Option(None, "--languages-file", help=LANGUAGES_FILE_HELP, show_default=False)


@data_app.command("build")
def build_command(
    lang: str = typer.Option(
        ...,
        "--lang",
        help="Target language code, a comma list, or 'all' (the nine); several languages write OUT/<lang>/.",
    ),
    method: str = typer.Option(
        "prom", "--method", help="Method whose mixture to build (base, t, t+e, prom, prom-noreg or a paper alias)."
    ),
    out: Path = typer.Option(..., "--out", help="Output folder: train.jsonl, README.md (dataset card), stats.json."),
    preset: str = typer.Option(
        "demo",
        "--preset",
        help=(
            "Starting point: demo (the project's offline data) or paper (hub Alpaca, its Google translation, "
            "NTREX-128, FLORES-200)."
        ),
    ),
    data_dir: Optional[str] = typer.Option(
        None, "--data-dir", help=_HELP["data_dir"] + "; given alone, --parallel defaults to auto.", show_default=False
    ),
    instructions: Optional[str] = typer.Option(None, "--instructions", help=_HELP["instructions"], show_default=False),
    translations: Optional[str] = typer.Option(None, "--translations", help=_HELP["translations"], show_default=False),
    parallel: Optional[str] = typer.Option(None, "--parallel", help=_HELP["parallel"], show_default=False),
    max_examples: Optional[int] = typer.Option(
        None, "--max-examples", min=1, help=_HELP["max_examples"], show_default=False
    ),
    seed: int = typer.Option(0, "--seed", help=_HELP["seed"]),
    revision: Optional[str] = typer.Option(None, "--revision", help=_HELP["revision"], show_default=False),
    no_dedup: bool = typer.Option(
        False, "--no-dedup", help="Keep exact duplicates (default: drop them within each part)."
    ),
    translate_option: Optional[list[str]] = typer.Option(
        None,
        "--translate-option",
        help="KEY=VALUE for a translate:<backend> s_t source (model, file, endpoint, key_env, batch_size); repeatable.",
        show_default=False,
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    column: Optional[list[str]] = typer.Option(
        None,
        "--column",
        help="FIELD=COLUMN for a datasets:<id or folder> source (instruction, input, output, id, messages, "
        "conversations), repeatable; e.g. --column instruction=question --column output=answer.",
        show_default=False,
    ),
    languages_file: Optional[list[Path]] = _LANGUAGES_FILE,
) -> None:
    """Build the training mixture a method uses (s_e, s_t, s_e2t with role tags), with its dataset card."""
    from prom_bench.data.build import build_mixture, write_mixture_files
    from prom_bench.fileio import check_destination, output
    from prom_bench.languages import parse_langs

    check_destination(out, kind="dir", overwrite=overwrite)

    use_languages(languages_file)
    sources = DataSources.preset(preset)
    overrides = {
        "instructions": instructions,
        "translations": translations,
        "parallel": parallel,
        "data_dir": data_dir,
        "max_examples": max_examples,
        "revision": revision,
    }
    sources = dataclasses.replace(
        sources, seed=seed, dedup=not no_dedup, **{k: v for k, v in overrides.items() if v is not None}
    )
    for item in translate_option or []:
        key, sep, value = item.partition("=")
        if not sep or key not in TRANSLATE_OPTIONS:
            raise UserError(
                f"--translate-option '{item}': expected KEY=VALUE with KEY one of {', '.join(TRANSLATE_OPTIONS)}"
            )
        if key == "batch_size":
            try:
                value = int(value)
            except ValueError:
                raise UserError(f"--translate-option '{item}': batch_size must be a whole number >= 1") from None
        sources.translate_options[key] = value
    for item in column or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(f"--column '{item}': expected FIELD=COLUMN, e.g. instruction=question")
        sources.columns[key] = value
    if data_dir is not None and parallel is None:
        sources.parallel = "auto"
    sources.validate()
    langs = parse_langs(lang)
    # Build every language before writing any, so a bad file leaves no partial output.
    # The sources used are printed once everything has loaded, so a failure shows only its one line.
    mixtures, used = [], []
    for code in langs:
        used.append(f"{code} {method}:")
        mixtures.append(build_mixture(code, method, sources, log=lambda line: used.append(f"  {line}")))
    for line in used:
        _err.print(line, markup=False)
    table = Table(title=f"mixtures ({mixtures[0].method})")
    for column in ("lang", "s_e", "s_t", "s_e2t", "total", "written to"):
        table.add_column(column)
    # All languages are staged together and moved into place when complete: nothing half-written, nothing lost.
    with output(out, kind="dir", overwrite=overwrite) as staging:
        for mixture in mixtures:
            write_mixture_files(mixture, staging if len(langs) == 1 else staging / mixture.lang)
    for mixture in mixtures:
        target = out if len(langs) == 1 else out / mixture.lang
        counts = mixture.counts()
        table.add_row(
            mixture.lang,
            *(str(counts.get(p, "-")) for p in ("s_e", "s_t", "s_e2t")),
            str(len(mixture.examples)),
            str(target),
        )
    Console().print(table)


@data_app.command("translate")
def translate_command(
    lang: str = typer.Option(..., "--lang", help="Target language code."),
    out: Path = typer.Option(
        ..., "--out", help="Output JSON Lines file of translated records (same ids as the input)."
    ),
    backend: str = typer.Option(
        "google", "--backend", help="google (Cloud Translation v2 REST), hf (a local transformers MT model), or file."
    ),
    source: str = typer.Option(
        "demo", "--input", help="English records: demo, alpaca (hub), or a .json/.jsonl file of Alpaca records."
    ),
    max_examples: Optional[int] = typer.Option(
        None, "--max-examples", min=1, help="Translate only the first N records.", show_default=False
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        help="hf backend: model id or path (default facebook/nllb-200-distilled-600M).",
        show_default=False,
    ),
    file: Optional[Path] = typer.Option(
        None, "--file", help="file backend: JSON Lines {source, target} or source<TAB>target.", show_default=False
    ),
    endpoint: Optional[str] = typer.Option(
        None,
        "--endpoint",
        help="google backend: endpoint URL (default the public v2 URL, or $PROM_BENCH_GOOGLE_ENDPOINT).",
        show_default=False,
    ),
    key_env: str = typer.Option(
        "GOOGLE_TRANSLATE_API_KEY",
        "--key-env",
        help="google backend: environment variable holding the API key (the key itself is never stored).",
    ),
    batch_size: Optional[int] = typer.Option(
        None, "--batch-size", min=1, help="Segments per request / model batch.", show_default=False
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    languages_file: Optional[list[Path]] = _LANGUAGES_FILE,
) -> None:
    """Translate Alpaca-style records into a language; cached by content, so a rerun pays only for what is missing."""
    from prom_bench.data.backends import make_backend
    from prom_bench.data.cache import TranslationCache
    from prom_bench.data.sources import load_english_instructions
    from prom_bench.data.translate import needed_segments, translate_records, write_jsonl
    from prom_bench.fileio import check_destination
    from prom_bench.languages import get

    check_destination(out, kind="file", overwrite=overwrite)

    use_languages(languages_file)
    code = get(lang).code
    if code == "en":
        raise UserError("--lang en: English is the source; give the language to translate into")
    english = load_english_instructions(source)
    records = english.records[:max_examples] if max_examples else english.records
    engine = make_backend(backend, model=model, file=file, endpoint=endpoint, key_env=key_env, batch_size=batch_size)
    cache = TranslationCache(engine.id, code)
    segments = needed_segments(records)
    cached = sum(1 for s in segments if s in cache)
    _err.print(
        f"input: {english.provenance['source']} ({english.provenance['location']}), {len(records)} records; "
        f"backend: {engine.id}; segments: {len(segments)}, {cached} cached, {len(segments) - cached} to translate",
        markup=False,
    )
    translated = translate_records(records, code, engine, cache=cache, console=_err)
    write_jsonl(translated, out, overwrite=overwrite)
    _err.print(f"wrote {len(translated)} records to {out}; cache: {cache.path}", markup=False)


_LANG_IN_NAME = re.compile(r"(?:^|[._-])([a-z]{2})(?:[._-]|$)")


def _guess_lang(path: Path) -> str | None:
    from prom_bench.languages import LANGUAGES

    found = [code for code in _LANG_IN_NAME.findall(path.name) if code in LANGUAGES]
    return found[-1] if found else None


@data_app.command("validate")
def validate_command(
    files: Optional[list[Path]] = typer.Argument(
        None,
        help="Files to check: instructions (.json array or .jsonl), SQuAD-style .json, MGSM .tsv.",
        show_default=False,
    ),
    lang: Optional[str] = typer.Option(
        None,
        "--lang",
        help="Language the text must be in (default: from the file name, e.g. th.jsonl, xquad.th.json).",
        show_default=False,
    ),
    pair: Optional[tuple[Path, Path]] = typer.Option(
        None,
        "--pair",
        help="Two line-aligned parallel files: ENGLISH TARGET (target language from --lang).",
        show_default=False,
    ),
    data_dir: Optional[Path] = typer.Option(
        None,
        "--data-dir",
        help="Check every NTREX-128/FLORES-200 pair found there for --lang (or all nine).",
        show_default=False,
    ),
    languages_file: Optional[list[Path]] = _LANGUAGES_FILE,
) -> None:
    """Check input files (encoding, syntax, schema, empty fields, duplicate ids, alignment, script); exit 2 on the
    first problem."""
    from prom_bench.data import files as readers
    from prom_bench.data.sources import local_parallel_files
    from prom_bench.languages import PAPER_LANGS

    use_languages(languages_file)
    reports = []
    for path in files or []:
        code = lang or _guess_lang(path)
        if path.suffix == ".tsv":
            reports.append(readers.read_mgsm_tsv(path, code)[1])
        elif path.suffix == ".jsonl":
            reports.append(readers.read_instructions(path, lang=code)[1])
        elif path.suffix == ".json":
            head = readers.read_text(path).lstrip()[:1]
            reader = readers.read_squad if head == "{" else lambda p, c: readers.read_instructions(p, lang=c)
            reports.append(reader(path, code)[1])
        elif path.suffix == ".txt" or path.suffix in (".dev", ".devtest"):
            raise UserError(f"{path}: parallel files are checked in pairs: --pair ENGLISH_FILE TARGET_FILE --lang CODE")
        else:
            raise UserError(
                f"{path}: unknown file type '{path.suffix}'; valid: .json, .jsonl, .tsv, or --pair for parallel text"
            )
        if code is None:
            reports[-1].notes.append("script not checked (no --lang, none in the file name)")
    if pair:
        if not lang:
            raise UserError("--pair needs --lang for the target file's language")
        reports.append(readers.read_parallel(pair[0], pair[1], lang)[1])
    if data_dir is not None:
        for code in [lang] if lang else PAPER_LANGS:
            for src, tgt in local_parallel_files(data_dir, code).values():
                reports.append(readers.read_parallel(src, tgt, code)[1])
    if not reports:
        raise UserError("nothing to check: give files, --pair ENGLISH TARGET, or --data-dir DIR")
    table = Table(title="valid input files")
    for column in ("file", "kind", "records", "off-script", "notes"):
        table.add_column(column)
    for report in reports:
        table.add_row(report.path, report.kind, str(report.records), str(report.off_script), "; ".join(report.notes))
    Console().print(table)


@data_app.command("sources")
def sources_command(
    lang: Optional[str] = typer.Option(
        None, "--lang", help="Say which sources cover this language (default: all nine).", show_default=False
    ),
    languages_file: Optional[list[Path]] = _LANGUAGES_FILE,
) -> None:
    """List the data sources, where each comes from, its license, and which languages it covers."""
    from prom_bench.data.sources import HUB, NTREX_COMMIT, WMT23_FROM_ENGLISH
    from prom_bench.languages import get, parse_langs

    use_languages(languages_file)
    codes = parse_langs(lang or "all")
    names = ", ".join(get(c).name for c in codes)
    table = Table(title=f"data sources for {names}")
    for column in ("source", "part", "from", "license", "covers", "note"):
        table.add_column(column, overflow="fold")
    table.add_row(
        "demo", "s_e, s_t, s_e2t", "prom_bench/demo_data", "Apache-2.0", "all nine", "24 items each, hand-translated"
    )
    table.add_row("alpaca", "s_e", HUB["alpaca"].repo, HUB["alpaca"].license, "English", "52k records")
    table.add_row(
        "bactrian-x", "s_t", HUB["bactrian-x"].repo, HUB["bactrian-x"].license, "all nine", HUB["bactrian-x"].note
    )
    table.add_row(
        "translate:<backend>",
        "s_t",
        "google | hf | file",
        "source's, plus the MT terms",
        "all nine",
        "cached by content",
    )
    table.add_row(
        "ntrex", "s_e2t", f"{HUB['ntrex'].repo}@{NTREX_COMMIT}", HUB["ntrex"].license, "all nine", "1997 sentences"
    )
    table.add_row(
        "flores-dev / flores-devtest",
        "s_e2t",
        HUB["flores"].repo,
        HUB["flores"].license,
        "all nine",
        "997 / 1012 sentences; " + HUB["flores"].note,
    )
    covered = [c for c in codes if c in WMT23_FROM_ENGLISH]
    table.add_row(
        "wmt23",
        "s_e2t",
        "statmt.org/wmt23",
        "WMT terms",
        ", ".join(covered) or "none of these",
        f"English pairs only with {', '.join(WMT23_FROM_ENGLISH)}",
    )
    Console().print(table)
