"""Reading and validating every input file, with errors that name the file and the line.

Each reader returns clean records or raises ``UserError("<file>:<line>: <problem>; <what is valid>")``
before anything is written. Checks: UTF-8 encoding, JSON/JSONL/TSV syntax, schema (fields and types),
empty fields, duplicate ids, misaligned parallel files, and text in the wrong script for its language.

The script check is per file, not per line: real parallel data (NTREX-128 Thai has 17 of 1997 lines
that are mostly Latin names) and translated instructions (code, formulas) contain legitimate lines in
another script. A file fails when fewer than ``SCRIPT_MIN_SHARE`` of its lines are in the language's
script (a Tamil file passed as Telugu, English left untranslated); the error shows the first such line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from prom_bench.errors import UserError
from prom_bench.languages import get, in_script

SCRIPT_MIN_SHARE = 0.9
INSTRUCTION_FIELDS = ("instruction", "input", "output")


@dataclass
class FileReport:
    """What a reader found in one file: counts for the user, kept in the dataset card."""

    path: str
    kind: str
    records: int
    off_script: int = 0  # records/lines not in the language's script (allowed below the file limit)
    notes: list[str] = field(default_factory=list)


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else f"{path}"


def read_text(path: Path) -> str:
    """The file's text; a non-UTF-8 byte is an error naming its line and byte. A UTF-8 BOM is dropped."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_lines(path: Path) -> list[str]:
    """Lines of a one-sentence-per-line file (final newline optional), line endings removed."""
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _json_array_items(path: Path, text: str) -> list[tuple[int, object]]:
    """Items of a top-level JSON array with the line each starts on (for errors in a 52k-record file)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos : pos + 1] == "[":
        raise UserError(f"{path}:{_line_of(text, pos)}: expected a JSON array of records ('[{{...}}, ...]')")
    pos += 1
    items: list[tuple[int, object]] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return items
        start = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        items.append((_line_of(text, start), item))
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif not (pos < len(text) and text[pos] == "]"):
            raise UserError(f"{path}:{_line_of(text, pos)}: invalid JSON: expected ',' or ']' after a record")


def _jsonl_items(path: Path, text: str) -> list[tuple[int, object]]:
    items = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: invalid JSON Lines record: {exc.msg} (column {exc.colno})") from None
    return items


CHAT_ROLES = {  # role names of TRL/OpenAI ``messages`` and ShareGPT ``conversations`` records
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
}


def read_instructions(
    path: Path, *, lang: str | None = None, id_prefix: str | None = None
) -> tuple[list[dict], FileReport]:
    """Instruction records from a JSON array or JSON Lines file, in any of three record formats.

    - Alpaca: ``instruction`` and ``output`` (non-empty strings), optional ``input`` (string).
    - TRL / OpenAI chat: ``messages``: ``[{"role": "user", "content": ...}, {"role": "assistant", ...}]``.
    - ShareGPT: ``conversations``: ``[{"from": "human", "value": ...}, {"from": "gpt", "value": ...}]``.

    Chat records must be single-turn (one user and one assistant message, optionally after one system
    message, which is folded into the instruction); the user message becomes ``instruction`` with an empty
    ``input``. Records may carry ``id`` (string or integer); other fields are ignored. Records without an id
    get ``<id_prefix or file stem>-<index>`` (0-based position), which is how translations line up with the
    English records they came from, whatever format each file is in.

    Args:
        path: ``.json`` (array) or ``.jsonl`` file.
        lang: language code the text should be in; ``None`` skips the script check.
        id_prefix: prefix for generated ids.

    Returns:
        ``(records, report)``; records are ``{"id", "instruction", "input", "output"}``.
    """
    path = Path(path)
    text = read_text(path)
    if path.suffix == ".jsonl":
        items = _jsonl_items(path, text)
    elif path.suffix == ".json":
        items = _json_array_items(path, text)
    else:
        raise UserError(f"{path}: unknown instruction file type '{path.suffix}'; valid: .json (array), .jsonl")
    if not items:
        raise UserError(f"{path}: no records; expected Alpaca-style records with instruction, input, output")
    return instruction_records(
        [(f"{path}:{line}", item) for line, item in items], path.stem, str(path), lang, id_prefix
    )


def instruction_records(
    items: list[tuple[str, object]],
    stem: str,
    name: str,
    lang: str | None = None,
    id_prefix: str | None = None,
) -> tuple[list[dict], FileReport]:
    """Records from ``(where, item)`` pairs (``where`` = ``file:line`` or ``dataset[split]:row``), checked."""
    prefix = id_prefix or stem
    records: list[dict] = []
    seen: dict[str, str] = {}
    folded = 0
    for index, (where, item) in enumerate(items):
        if not isinstance(item, dict):
            raise UserError(
                f"{where}: expected an object with fields {', '.join(INSTRUCTION_FIELDS)} (or messages, or "
                f"conversations), got {type(item).__name__}"
            )
        record = {"id": item.get("id", f"{prefix}-{index}")}
        if not isinstance(record["id"], (str, int)) or isinstance(record["id"], bool):
            raise UserError(f"{where}: field 'id' must be a string or an integer")
        record["id"] = str(record["id"])
        if "messages" in item or "conversations" in item:
            fields, had_system = _chat_fields(item, where)
            folded += had_system
            record.update(fields)
        else:
            for field_name in INSTRUCTION_FIELDS:
                value = item.get(field_name, "" if field_name == "input" else None)
                if value is None:
                    raise UserError(
                        f"{where}: missing field '{field_name}'; expected fields: {', '.join(INSTRUCTION_FIELDS)} "
                        "(input may be empty), or a 'messages' / 'conversations' list"
                    )
                if not isinstance(value, str):
                    raise UserError(f"{where}: field '{field_name}' must be a string, got {type(value).__name__}")
                if field_name != "input" and not value.strip():
                    raise UserError(f"{where}: field '{field_name}' is empty")
                record[field_name] = value
        if record["id"] in seen:
            raise UserError(
                f"{where}: duplicate id '{record['id']}' (first on line {seen[record['id']].rsplit(':', 1)[-1]})"
            )
        seen[record["id"]] = where
        records.append(record)
    report = FileReport(name, "instructions", len(records))
    if folded:
        report.notes.append(f"{folded} system message(s) folded into the instruction")
    if lang is not None:
        # English files: the instruction alone (Alpaca outputs hold code and other languages by design).
        texts = [
            (where, r["instruction"] if lang == "en" else " ".join(r[f] for f in INSTRUCTION_FIELDS))
            for (where, _), r in zip(items, records)
        ]
        report.off_script = _check_script_at(texts, lang)
    return records, report


def _chat_fields(item: dict, where: str) -> tuple[dict, bool]:
    """A single-turn chat record as ``{instruction, input, output}``; True when a system message was folded in."""
    key = "messages" if "messages" in item else "conversations"
    role_key, text_key = ("role", "content") if key == "messages" else ("from", "value")
    turns = item[key]
    if not isinstance(turns, list) or not turns:
        raise UserError(f"{where}: '{key}' must be a non-empty list of {{{role_key}, {text_key}}} objects")
    roles, texts = [], []
    for number, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or role_key not in turn or text_key not in turn:
            raise UserError(f"{where}: {key}[{number - 1}] must be an object with '{role_key}' and '{text_key}'")
        role = CHAT_ROLES.get(str(turn[role_key]).lower())
        if role is None:
            raise UserError(
                f"{where}: {key}[{number - 1}] has {role_key} '{turn[role_key]}'; valid: {', '.join(CHAT_ROLES)}"
            )
        if not isinstance(turn[text_key], str) or not turn[text_key].strip():
            raise UserError(f"{where}: {key}[{number - 1}] needs a non-empty string '{text_key}'")
        roles.append(role)
        texts.append(turn[text_key])
    system = None
    if roles[0] == "system":
        system, roles, texts = texts[0], roles[1:], texts[1:]
    if roles.count("user") > 1 or roles.count("assistant") > 1:
        raise UserError(
            f"{where}: a multi-turn conversation ({roles.count('user')} user turns); prom-bench trains "
            "single-turn instructions: give one user and one assistant message per record"
        )
    if roles != ["user", "assistant"]:
        raise UserError(
            f"{where}: expected one user message then one assistant message (after an optional system message), "
            f"got {' -> '.join(roles) or 'none'}"
        )
    instruction = f"{system}\n\n{texts[0]}" if system else texts[0]
    return {"instruction": instruction, "input": "", "output": texts[1]}, system is not None


def _check_script(path: Path, texts: list[tuple[int, str]], lang: str) -> int:
    """Number of off-script texts; raises when they are more than the file-level limit allows."""
    return _check_script_at([(f"{path}:{line}", text) for line, text in texts], lang)


def _check_script_at(texts: list[tuple[str, str]], lang: str) -> int:
    off = [(where, text) for where, text in texts if not in_script(text, lang)]
    if texts and len(off) > (1 - SCRIPT_MIN_SHARE) * len(texts):
        language = get(lang)
        share = 1 - len(off) / len(texts)
        where, text = off[0]
        raise UserError(
            f"{where}: text is not in the {language.script} script of {language.name} ('{text[:40]}'); "
            f"only {share:.0%} of the file is, at least {SCRIPT_MIN_SHARE:.0%} must be (wrong file or language?)"
        )
    return len(off)


def read_parallel(
    source: Path, target: Path, lang: str, source_lang: str = "en"
) -> tuple[list[tuple[str, str]], FileReport]:
    """Line-aligned parallel files (FLORES-200, NTREX-128, the demo's ``parallel/``) as sentence pairs.

    Returns:
        ``(pairs, report)`` with pairs ``(source_sentence, target_sentence)``, stripped.
    """
    src, tgt = read_lines(source), read_lines(target)
    if len(src) != len(tgt):
        longer, line = (target, len(src) + 1) if len(tgt) > len(src) else (source, len(tgt) + 1)
        raise UserError(
            f"{longer}:{line}: parallel files are misaligned: {source} has {len(src)} lines, {target} has {len(tgt)}; "
            "line i of one must translate line i of the other"
        )
    for path, lines in ((source, src), (target, tgt)):
        for number, line in enumerate(lines, 1):
            if not line.strip():
                raise UserError(
                    f"{path}:{number}: empty line in a line-aligned parallel file (misaligned or truncated?)"
                )
    report = FileReport(f"{source} + {target}", "parallel", len(src))
    _check_script(source, list(enumerate(src, 1)), source_lang)
    report.off_script = _check_script(target, list(enumerate(tgt, 1)), lang)
    return [(s.strip(), t.strip()) for s, t in zip(src, tgt)], report


def read_mgsm_tsv(path: Path, lang: str | None = None) -> tuple[list[tuple[str, str]], FileReport]:
    """MGSM's ``question<TAB>answer_number`` file, no header; the answer may use a thousands separator."""
    path = Path(path)
    rows = []
    reader = csv.reader(io.StringIO(read_text(path)), delimiter="\t", quoting=csv.QUOTE_NONE)
    for number, row in enumerate(reader, 1):
        if not row:
            continue
        if len(row) != 2:
            raise UserError(f"{path}:{number}: expected 2 tab-separated columns (question, answer), found {len(row)}")
        question, answer = row
        if not question.strip() or not answer.strip():
            raise UserError(f"{path}:{number}: empty {'question' if not question.strip() else 'answer'}")
        try:
            float(answer.replace(",", ""))
        except ValueError:
            raise UserError(f"{path}:{number}: answer '{answer}' is not a number") from None
        rows.append((number, question, answer))
    if not rows:
        raise UserError(f"{path}: no rows; expected question<TAB>answer lines")
    report = FileReport(str(path), "mgsm", len(rows))
    if lang is not None:
        report.off_script = _check_script(path, [(n, q) for n, q, _ in rows], lang)
    return [(q, a) for _, q, a in rows], report


def read_squad(path: Path, lang: str | None = None) -> tuple[list[dict], FileReport]:
    """SQuAD v1.1-style JSON (XQuAD, MLQA, IndicQA): every answer must be a span at its ``answer_start``.

    Returns:
        ``(items, report)`` with items ``{"id", "context", "question", "answers": [{"text", "answer_start"}]}``.
    """
    path = Path(path)
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise UserError(
            f'{path}:1: expected SQuAD JSON: {{"data": [{{"paragraphs": [{{"context", "qas"}}]}}], "version"}}'
        )

    def line_of(needle: str) -> int:
        at = text.find(json.dumps(needle, ensure_ascii=False)[1:-1])
        return _line_of(text, at) if at >= 0 else 1

    items, seen = [], set()
    for article in doc["data"]:
        for paragraph in article.get("paragraphs", []) if isinstance(article, dict) else []:
            context = paragraph.get("context")
            if not isinstance(context, str) or not context.strip():
                raise UserError(f"{path}:{line_of('context')}: a paragraph has no 'context' string")
            for qa in paragraph.get("qas", []):
                qid = str(qa.get("id", ""))
                where = line_of(qid) if qid else line_of("qas")
                if not qid or not isinstance(qa.get("question"), str) or not qa["question"].strip():
                    raise UserError(f"{path}:{where}: a question needs a non-empty 'id' and 'question'")
                if qid in seen:
                    raise UserError(f"{path}:{where}: duplicate question id '{qid}'")
                seen.add(qid)
                for answer in qa.get("answers", []):
                    start, span = answer.get("answer_start"), answer.get("text")
                    if not isinstance(start, int) or not isinstance(span, str):
                        raise UserError(
                            f"{path}:{where}: answer of '{qid}' needs 'text' (string) and 'answer_start' (integer)"
                        )
                    if start >= 0 and context[start : start + len(span)] != span:
                        raise UserError(
                            f"{path}:{where}: answer '{span}' of '{qid}' is not at answer_start {start} of its context"
                        )
                items.append(
                    {"id": qid, "context": context, "question": qa["question"], "answers": qa.get("answers", [])}
                )
    if not items:
        raise UserError(f"{path}: no questions found")
    report = FileReport(str(path), "squad", len(items))
    if lang is not None:
        report.off_script = _check_script(path, [(line_of(i["id"]), i["question"]) for i in items], lang)
    return items, report
