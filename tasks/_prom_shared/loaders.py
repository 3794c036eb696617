"""Dataset loaders for the prom-bench tasks (lm-eval ``custom_dataset``): local files or pinned hub revisions.

Every task YAML names one of ``load_squad_style`` / ``load_mgsm`` as ``custom_dataset``. lm-eval calls it
with the task's ``metadata`` and ``dataset_kwargs`` as keyword arguments. The data source is chosen here:

* a local data directory, from ``--metadata '{"data_dir": "DIR"}'`` (lm-eval) / ``TaskManager(metadata=...)``,
  or else the environment variable ``PROM_BENCH_DATA_DIR``; relative paths are taken from the working
  directory. Files are read in their upstream layout::

      DIR/xquad/xquad.{lang}.json                      SQuAD v1.1 JSON (deepmind/xquad)
      DIR/mlqa/test-context-ar-question-ar.json        SQuAD v1.1 JSON (MLQA_V1 naming)
      DIR/indicqa/indicqa.{lang}.json                  SQuAD-style JSON (ai4bharat/IndicQA data/)
      DIR/mgsm/mgsm_{lang}.tsv                         question<TAB>answer_number, no header (url-nlp)

* otherwise the source named in the YAML at its pinned revision (``dataset_kwargs.data_source`` and
  ``data_revision``; not ``revision``, because lm-eval's CLI merges ``--model_args`` such as ``revision=``
  into the same keyword arguments).

Both paths give the same columns: QA ``id, title, context, question, answers{text, answer_start}, lang``;
MGSM ``question, answer_number (str), lang``. Unanswerable items (IndicQA has some, with empty answers) are
dropped: EM/F1 against an empty gold answer measures abstention, which these zero-shot prompts never ask for.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("prom_bench_tasks")

DATA_DIR_ENV = "PROM_BENCH_DATA_DIR"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The local data directory in effect (metadata first, then ``PROM_BENCH_DATA_DIR``), or None for the hub."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    return None if chosen is None else Path(chosen).expanduser().resolve()


def local_file(data_dir: Path, family: str, lang: str, split: str) -> Path:
    """Where a family's file sits in the upstream layout under ``data_dir``."""
    name = {
        "xquad": f"xquad/xquad.{lang}.json",
        "mlqa": f"mlqa/{split}-context-{lang}-question-{lang}.json",
        "indicqa": f"indicqa/indicqa.{lang}.json",
        "mgsm": f"mgsm/mgsm_{lang}.tsv",
    }[family]
    return data_dir / name


def _require(path: Path, family: str, lang: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"no {family} data for '{lang}': {path} does not exist (local data dirs use the upstream layout: "
            "xquad/xquad.LANG.json, mlqa/test-context-LANG-question-LANG.json, indicqa/indicqa.LANG.json, "
            "mgsm/mgsm_LANG.tsv)"
        )
    return path


# --- SQuAD-style QA (XQuAD, MLQA, IndicQA) ----------------------------------------------------------------


def squad_records(payload: dict[str, Any], lang: str) -> tuple[list[dict[str, Any]], int]:
    """Flatten SQuAD JSON (``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``) to one row per question.

    Returns ``(rows, dropped)``; ``dropped`` counts unanswerable questions (no non-empty answer text).
    """
    rows, dropped = [], 0
    for article in payload["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [a for a in qa.get("answers", []) if str(a.get("text", "")).strip()]
                if not answers or qa.get("is_impossible"):
                    dropped += 1
                    continue
                rows.append(
                    {
                        "id": str(qa["id"]),
                        "title": article.get("title", ""),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [int(a.get("answer_start", -1)) for a in answers],
                        },
                        "lang": lang,
                    }
                )
    return rows, dropped


def load_squad_style(
    *,
    family: str,
    lang: str,
    split: str,
    data_revision: str,
    data_source: str,
    data_dir: str | None = None,
    **_ignored: Any,
):
    """``custom_dataset`` for xquad / mlqa / indicqa. Returns a ``DatasetDict`` with one split, ``split``."""
    import datasets

    local = resolve_data_dir(data_dir)
    if local is not None:
        path = _require(local_file(local, family, lang, split), family, lang)
        rows, dropped = squad_records(json.loads(path.read_text(encoding="utf-8-sig")), lang)
    elif family == "xquad":
        # google/xquad is parquet on the hub: one config per language, already one row per question.
        hub = datasets.load_dataset(data_source, f"xquad.{lang}", split=split, revision=data_revision)
        rows = [
            {
                "id": r["id"],
                "title": "",
                "context": r["context"],
                "question": r["question"],
                "answers": {"text": list(r["answers"]["text"]), "answer_start": list(r["answers"]["answer_start"])},
                "lang": lang,
            }
            for r in hub
        ]
        dropped = 0
    else:
        rows, dropped = squad_records(_hub_squad_payload(family, lang, split, data_revision, data_source), lang)
    if dropped:
        log.info("%s %s: dropped %d unanswerable item(s), kept %d", family, lang, dropped, len(rows))
    return datasets.DatasetDict({split: datasets.Dataset.from_list(rows)})


def _hub_squad_payload(family: str, lang: str, split: str, revision: str, source: str) -> dict[str, Any]:
    """The upstream SQuAD-style JSON of a script-based dataset, at a pinned revision (cached on disk)."""
    if family == "mlqa":
        # facebook/mlqa is a loading script (datasets >= 4 cannot run it) that downloads this release archive;
        # read the same file from it. ``revision`` names the script version whose archive this is.
        from datasets import DownloadManager

        root = Path(DownloadManager().download_and_extract(source))
        path = root / "MLQA_V1" / split / f"{split}-context-{lang}-question-{lang}.json"
    else:
        # ai4bharat/IndicQA is a loading script too; its data files sit beside it in data/.
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(source, f"data/indicqa.{lang}.json", repo_type="dataset", revision=revision))
    return json.loads(path.read_text(encoding="utf-8-sig"))


# --- MGSM -------------------------------------------------------------------------------------------------


def mgsm_rows_from_tsv(path: Path, lang: str) -> list[dict[str, Any]]:
    """Rows of an upstream ``mgsm_{lang}.tsv`` (question<TAB>answer_number, no header)."""
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, record in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not record:
                continue
            if len(record) != 2:
                raise ValueError(f"{path}:{n}: expected 'question<TAB>answer', got {len(record)} field(s)")
            rows.append({"question": record[0], "answer_number": record[1].strip(), "lang": lang})
    return rows


def load_mgsm(
    *, lang: str, split: str, data_revision: str, data_source: str, data_dir: str | None = None, **_ignored: Any
):
    """``custom_dataset`` for mgsm. Returns a ``DatasetDict`` with one split, ``split``."""
    import datasets

    local = resolve_data_dir(data_dir)
    if local is not None:
        rows = mgsm_rows_from_tsv(_require(local_file(local, "mgsm", lang, split), "mgsm", lang), lang)
    else:
        hub = datasets.load_dataset(data_source, lang, split=split, revision=data_revision)
        rows = [{"question": r["question"], "answer_number": str(r["answer_number"]), "lang": lang} for r in hub]
    return datasets.DatasetDict({split: datasets.Dataset.from_list(rows)})
