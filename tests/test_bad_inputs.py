"""Bad input, every command: exit 2, exactly one line on stderr (``error: ...``), no traceback, nothing written.

One table of cases, run in-process through ``prom_bench.cli.main`` (the console script's entry point), each in
a workspace with files to point at (broken configs, records, mixtures, model folders) and a private cache.
Before and after each case the workspace and the cache are snapshotted (every path, size and mtime): a case
passes only if they are identical. A few cases also run through a real ``prom-bench`` subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prom_bench.cli import main

ROOT = Path(__file__).resolve().parents[1]


# --- the workspace: files the cases point at -------------------------------------------------------------------


def _record(**changes) -> dict:
    record = {
        "schema": 1,
        "model": "m",
        "model_path": None,
        "method": "t",
        "lang": "th",
        "task": "prom_xquad_th",
        "benchmark": "xquad",
        "settings": {},
        "settings_id": "0",
        "metrics": {"exact_match": 10.0, "f1": 20.0},
        "n": 1,
        "samples": [],
        "provenance": {"date": "2026-01-01T00:00:00+00:00"},
    }
    record.update(changes)
    return record


def _write_records(folder: Path, record: dict | str) -> None:
    folder.mkdir(parents=True)
    text = record if isinstance(record, str) else json.dumps(record)
    (folder / "a.record.json").write_text(text)


def _model_folder(folder: Path, config: dict, tokenizer: bool = True, weights: bool = True) -> None:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    if tokenizer:
        (folder / "tokenizer.json").write_text("{}")
    if weights:
        (folder / "model.safetensors").write_bytes(b"")


LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 16,
         "intermediate_size": 32, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 64}  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("bad-inputs")
    (ws / "cfg").mkdir()
    (ws / "cfg" / "bad.yaml").write_text("train: [unclosed\n")
    (ws / "cfg" / "list.yaml").write_text("- a\n- b\n")
    (ws / "cfg" / "unknown.yaml").write_text("trian:\n  lr: 1\n")
    (ws / "cfg" / "latin1.yaml").write_bytes("model: caf\xe9\n".encode("latin-1"))
    (ws / "cfg" / "pivot0.yaml").write_text("train:\n  pivot_layer: 0\n")
    (ws / "cfg" / "notmapping.yaml").write_text("train: 5\n")
    # records
    _write_records(ws / "rec" / "nan", json.dumps(_record(metrics={"f1": float("nan")})))
    _write_records(ws / "rec" / "inf", json.dumps(_record(metrics={"f1": float("inf")})))
    _write_records(ws / "rec" / "method", _record(method="magic"))
    _write_records(ws / "rec" / "task", _record(task="prom_squad_th", benchmark="squad"))
    _write_records(ws / "rec" / "mismatch", _record(task="prom_mgsm_th"))
    _write_records(ws / "rec" / "json", "{not json")
    _write_records(ws / "rec" / "missing", json.dumps({"schema": 1}))
    _write_records(ws / "rec" / "schema", _record(schema=2))
    _write_records(ws / "rec" / "metric", _record(metrics={"f1": "high"}))
    _write_records(ws / "rec" / "array", "[1, 2]")
    (ws / "rec" / "empty").mkdir()
    (ws / "rec" / "binary").mkdir()
    (ws / "rec" / "binary" / "a.record.json").write_bytes(b"\xff\xfe\x00garbage")
    # mixtures
    (ws / "mix" / "nodata").mkdir(parents=True)
    (ws / "mix" / "nomethod").mkdir(parents=True)
    (ws / "mix" / "nomethod" / "train.jsonl").write_text('{"instruction": "a", "output": "b"}\n')
    (ws / "mix" / "ok").mkdir(parents=True)
    (ws / "mix" / "ok" / "train.jsonl").write_text('{"instruction": "a", "output": "b"}\n')
    (ws / "mix" / "ok" / "stats.json").write_text('{"method": "prom"}')
    # model folders
    (ws / "models" / "noconfig").mkdir(parents=True)
    _model_folder(ws / "models" / "bert", {"model_type": "bert"})
    _model_folder(ws / "models" / "bert-decoder", {"model_type": "bert", "is_decoder": True, "vocab_size": 64,
                  "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32})  # fmt: skip
    _model_folder(ws / "models" / "t5", {"model_type": "t5"})
    _model_folder(ws / "models" / "notokenizer", LLAMA, tokenizer=False)
    _model_folder(ws / "models" / "noweights", LLAMA, weights=False)
    (ws / "models" / "badjson").mkdir(parents=True)
    (ws / "models" / "badjson" / "config.json").write_text("{oops")
    # data files
    (ws / "data").mkdir()
    (ws / "data" / "bad.jsonl").write_text('{"instruction": "a", "output": "b"}\n{broken\n')
    (ws / "data" / "empty_field.th.jsonl").write_text('{"id": "1", "instruction": "", "input": "", "output": "x"}\n')
    (ws / "data" / "dup.th.jsonl").write_text(
        '{"id": "1", "instruction": "สวัสดี", "input": "", "output": "ครับ"}\n'
        '{"id": "1", "instruction": "สวัสดี", "input": "", "output": "ครับ"}\n'
    )
    (ws / "data" / "notes.txt").write_text("a\n")
    (ws / "data" / "table.xlsx").write_text("a\n")
    (ws / "data" / "en.txt").write_text("one\ntwo\n")
    (ws / "data" / "th.txt").write_text("หนึ่ง\n")
    (ws / "data" / "bad.json").write_text("[{broken")
    (ws / "data" / "mgsm_th.tsv").write_text("no tab here\n")
    (ws / "tasks_file").write_text("not a folder")
    (ws / "adapter_empty").mkdir()
    (ws / "home").mkdir()
    # the tiny model, built once in the private cache before any snapshot (commands resolve it)
    saved = os.environ.get("PROM_BENCH_HOME")
    os.environ["PROM_BENCH_HOME"] = str(ws / "home")
    try:
        from prom_bench.models import resolve

        resolve("tiny")
    finally:
        if saved is None:
            del os.environ["PROM_BENCH_HOME"]
        else:
            os.environ["PROM_BENCH_HOME"] = saved
    return ws


@pytest.fixture
def in_workspace(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("PROM_BENCH_HOME", str(workspace / "home"))
    monkeypatch.delenv("GOOGLE_TRANSLATE_API_KEY", raising=False)
    return workspace


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` (symlinks not followed) with its kind, size and modification time."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            state[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return state


# --- the cases ----------------------------------------------------------------------------------------------------

RUN = ["run", "--dry-run", "--methods", "t,prom", "--langs", "th"]
TRAIN_SETTINGS = [
    "pivot_layer=0", "pivot_layer=1.5", "pivot_layer=99", "pivot_layer=30", "pivot_layer=-3", "pivot_layer=1.0",
    "pivot_layer=abc", "pivot_layer=.nan", "pivot_layer=true", "pivot_weight=-1", "pivot_weight=.nan",
    "pivot_weight=.inf", "pivot_weight=abc", "lr=0", "lr=-1", "lr=1e400", "lr=.nan", "lr=abc",
    "per_device_batch_size=0", "per_device_batch_size=-2", "per_device_batch_size=1.5", "grad_accum=0",
    "max_steps=0", "max_steps=-5", "max_steps=-1 epochs=0", "epochs=-1 max_steps=-1",
    "label_smoothing=1", "label_smoothing=-0.1", "label_smoothing=1.5", "label_smoothing=.nan",
    "lora_target_modules=zz_proj", "lora_target_modules=q_proj,nope", "lora_target_modules=[]", "lora_r=0",
    "lora_alpha=0", "lora_dropout=1", "lora_dropout=-0.1", "objective=bogus", "pivot_head=bogus",
    "scheduler=bogus", "precision=fp16", "truncation=left", "logging=mlflow", "warmup_ratio=1",
    "warmup_ratio=-0.1", "weight_decay=-1", "max_grad_norm=-1", "max_grad_norm=.inf", "max_length=0",
    "logits_chunk_size=0", "save_steps=-1", "resume=maybe", "seed=abc", "lora=sometimes", "bogus=1",
    "trust_pickle_checkpoints=perhaps", "lr=", "lr=null", "lora_target_modules=null",
]  # fmt: skip
OTHER_SETTINGS = [
    "eval.limit=0", "eval.limit=-1", "eval.limit=abc", "eval.batch_size=0", "eval.batch_size=null", "workers=", "eval.max_gen_toks=0",
    "eval.max_gen_toks=-5", "eval.data_dir=/nonexistent/eval", "eval.bogus=1", "probe.shots=-1", "probe.layer=0",
    "probe.layer=99", "probe.layer=-0.5", "probe.layer=.nan", "probe.floor=1", "probe.floor=-1",
    "probe.undetermined=bogus", "probe.n_examples=-1", "probe.batch_size=0", "probe.data=/nonexistent/cloze",
    "probe.seed=abc", "probe.bogus=1", "data.max_examples=0", "data.translations=translate:bogus",
    "data.parallel=bogus", "data.parallel=ntrex,bogus", "data.data_dir=/nonexistent/parallel",
    "data.translate_options={batch_size:~abc}", "data.translate_options={bogus:~1}", "data.dedup=maybe",
    "data.bogus=1", "workers=0", "workers=-1", "regulation=bogus", "methods=prm", "langs=xx", "langs=en",
    "bogus=1", "trian.lr=1", "train=5", "seed=abc", "out=''", "model=/nonexistent/model",
]  # fmt: skip


def _set_case(settings: str, prefix: str = "") -> list[str]:
    """``"a=1 b=2"`` -> ``--set <prefix>a=1 --set <prefix>b=2`` (a ``~`` in a value stands for a space)."""
    return [arg for item in settings.split(" ") for arg in ("--set", prefix + item.replace("~", " "))]


CASES: list[tuple[str, list[str]]] = []
CASES += [(f"run --set train.{s}", [*RUN, *_set_case(s, "train.")]) for s in TRAIN_SETTINGS]
CASES += [
    (f"run --set {s}", [*(["run", "--dry-run"] if s.startswith(("methods=", "langs=")) else RUN), *_set_case(s)])
    for s in OTHER_SETTINGS
]
CASES += [
    # run without --dry-run: the same checks, before any unit
    ("run train.pivot_layer=0 (no dry run)", ["run", "--methods", "prom", "--langs", "th", "--set", "train.pivot_layer=0"]),
    ("run train.lr=1e400 (no dry run)", ["run", "--methods", "t", "--langs", "th", "--set", "train.lr=1e400"]),
    ("run --limit -1 (no dry run)", ["run", "--methods", "base", "--langs", "th", "--limit", "-1"]),
    ("run eval.max_gen_toks=0 (no dry run)", ["run", "--methods", "base", "--langs", "th", "--set", "eval.max_gen_toks=0"]),
    ("run probe.layer=99 (no dry run)", ["run", "--methods", "prom", "--langs", "th", "--set", "probe.layer=99"]),
    ("run lora target (no dry run)", ["run", "--methods", "t", "--langs", "th", "--set", "train.lora_target_modules=zz"]),
    ("run --limit -1", [*RUN, "--limit", "-1"]),
    ("run --limit 0", [*RUN, "--limit", "0"]),
    ("run --limit abc", [*RUN, "--limit", "abc"]),
    ("run --force --dry-run", [*RUN, "--force"]),
    ("run --methods prm", ["run", "--dry-run", "--methods", "prm"]),
    ("run --methods ''", ["run", "--dry-run", "--methods", ""]),
    ("run --langs xx", ["run", "--dry-run", "--langs", "xx"]),
    ("run --langs th,,zz", ["run", "--dry-run", "--langs", "th,zz"]),
    ("run --preset bogus", ["run", "--dry-run", "--preset", "bogus"]),
    ("run --config missing", [*RUN, "--config", "cfg/missing.yaml"]),
    ("run --config bad yaml", [*RUN, "--config", "cfg/bad.yaml"]),
    ("run --config a list", [*RUN, "--config", "cfg/list.yaml"]),
    ("run --config unknown key", [*RUN, "--config", "cfg/unknown.yaml"]),
    ("run --config latin-1", [*RUN, "--config", "cfg/latin1.yaml"]),
    ("run --config pivot 0", [*RUN, "--config", "cfg/pivot0.yaml"]),
    ("run --config train not mapping", [*RUN, "--config", "cfg/notmapping.yaml"]),
    ("run --config a folder", [*RUN, "--config", "cfg"]),
    ("run --set without =", [*RUN, "--set", "train.lr"]),
    ("run --set =5", [*RUN, "--set", "=5"]),
    ("run --limit twice", [*RUN, "--limit", "5", "--set", "eval.limit=3"]),
    ("run --methods twice", [*RUN, "--set", "methods=t"]),
    ("run --model missing", [*RUN, "--model", "/nonexistent/model"]),
    ("run --model no config", [*RUN, "--model", "models/noconfig"]),
    ("run --model bert", [*RUN, "--model", "models/bert"]),
    ("run --model bert is_decoder", [*RUN, "--model", "models/bert-decoder"]),
    ("run --model t5", [*RUN, "--model", "models/t5"]),
    ("run --model no tokenizer", [*RUN, "--model", "models/notokenizer"]),
    ("run --model no weights", [*RUN, "--model", "models/noweights"]),
    ("run --model broken config.json", [*RUN, "--model", "models/badjson"]),
    # (a dry run plans a hub model it cannot reach, noting that its model-aware checks were skipped)
    ("run --model hub id offline", ["run", "--methods", "t", "--langs", "th", "--model", "nobody/no-such-model"]),
    ("run --model not a spec", [*RUN, "--model", "just-a-word"]),
    ("run --bogus-option", ["run", "--bogus-option"]),
    ("run extra argument", ["run", "extra"]),
    # sweep
    ("sweep without grid", ["sweep"]),
    ("sweep grid without =", ["sweep", "--grid", "train.lr"]),
    ("sweep grid not train", ["sweep", "--grid", "eval.limit=1,2"]),
    ("sweep grid no values", ["sweep", "--grid", "train.lr=,"]),
    ("sweep grid pivot 0", ["sweep", "--grid", "train.pivot_layer=0,22"]),
    ("sweep grid pivot 99", ["sweep", "--grid", "train.pivot_layer=22,99"]),
    ("sweep grid lr abc", ["sweep", "--grid", "train.lr=abc"]),
    ("sweep grid unknown key", ["sweep", "--grid", "train.bogus=1,2"]),
    ("sweep --baseline prm", ["sweep", "--grid", "train.lr=1e-4", "--baseline", "prm"]),
    ("sweep --lang xx", ["sweep", "--grid", "train.lr=1e-4", "--lang", "xx"]),
    ("sweep --set bad", ["sweep", "--grid", "train.lr=1e-4", "--set", "eval.limit=0"]),
    # config
    ("config --set lr=0", ["config", "--set", "train.lr=0"]),
    ("config --preset bogus", ["config", "--preset", "bogus"]),
    ("config --config missing", ["config", "--config", "cfg/missing.yaml"]),
    ("config --set unknown", ["config", "--set", "bogus=1"]),
    ("config --set probe.layer=0", ["config", "--set", "probe.layer=0"]),
    # train
    ("train missing mixture", ["train", "mix/none", "--model", "tiny"]),
    ("train mixture without train.jsonl", ["train", "mix/nodata", "--model", "tiny"]),
    ("train mixture without method", ["train", "mix/nomethod", "--model", "tiny"]),
    ("train --method base", ["train", "mix/ok", "--model", "tiny", "--method", "base"]),
    ("train --method prm", ["train", "mix/ok", "--model", "tiny", "--method", "prm"]),
    ("train pivot_layer=4 on 4 blocks", ["train", "mix/ok", "--model", "tiny", "--set", "train.pivot_layer=4"]),
    ("train pivot_layer=0", ["train", "mix/ok", "--model", "tiny", "--set", "train.pivot_layer=0"]),
    ("train lora target", ["train", "mix/ok", "--model", "tiny", "--set", "train.lora_target_modules=zz"]),
    ("train lr 1e400", ["train", "mix/ok", "--model", "tiny", "--set", "train.lr=1e400"]),
    ("train batch 0", ["train", "mix/ok", "--model", "tiny", "--set", "train.per_device_batch_size=0"]),
    ("train --num-processes 0", ["train", "mix/ok", "--model", "tiny", "--num-processes", "0"]),
    ("train --accelerate-config bogus", ["train", "mix/ok", "--model", "tiny", "--accelerate-config", "bogus"]),
    ("train --accelerate-config missing", ["train", "mix/ok", "--model", "tiny", "--accelerate-config", "x.yaml"]),
    ("train --model missing", ["train", "mix/ok", "--model", "/nonexistent/model"]),
    ("train --model bert", ["train", "mix/ok", "--model", "models/bert"]),
    ("train --preset bogus", ["train", "mix/ok", "--model", "tiny", "--preset", "bogus"]),
    ("train no mixture argument", ["train"]),
    # eval
    ("eval --limit 0", ["eval", "--model", "tiny", "--limit", "0"]),
    ("eval --limit -1", ["eval", "--model", "tiny", "--limit", "-1"]),
    ("eval --batch-size 0", ["eval", "--model", "tiny", "--batch-size", "0"]),
    ("eval --max-gen-toks 0", ["eval", "--model", "tiny", "--max-gen-toks", "0"]),
    ("eval --langs xx", ["eval", "--model", "tiny", "--langs", "xx"]),
    ("eval --adapter without --method", ["eval", "--model", "tiny", "--adapter", "adapter_empty"]),
    ("eval --adapter not an adapter", ["eval", "--model", "tiny", "--adapter", "adapter_empty", "--method", "t"]),
    ("eval --method prm", ["eval", "--model", "tiny", "--method", "prm"]),
    ("eval --model missing", ["eval", "--model", "/nonexistent/model"]),
    ("eval --model no tokenizer", ["eval", "--model", "models/notokenizer"]),
    ("eval --data-dir missing", ["eval", "--model", "tiny", "--data-dir", "/nonexistent/eval"]),
    ("eval --limit abc", ["eval", "--model", "tiny", "--limit", "abc"]),
    # data build
    ("data build --lang xx", ["data", "build", "--lang", "xx", "--out", "o"]),
    ("data build --lang en", ["data", "build", "--lang", "en", "--out", "o"]),
    ("data build --method base", ["data", "build", "--lang", "th", "--method", "base", "--out", "o"]),
    ("data build --method prm", ["data", "build", "--lang", "th", "--method", "prm", "--out", "o"]),
    ("data build --preset bogus", ["data", "build", "--lang", "th", "--preset", "bogus", "--out", "o"]),
    ("data build --max-examples 0", ["data", "build", "--lang", "th", "--max-examples", "0", "--out", "o"]),
    ("data build batch_size=abc", ["data", "build", "--lang", "th", "--translate-option", "batch_size=abc", "--out", "o"]),
    ("data build batch_size=0", ["data", "build", "--lang", "th", "--translate-option", "batch_size=0", "--out", "o"]),
    ("data build option unknown", ["data", "build", "--lang", "th", "--translate-option", "bogus=1", "--out", "o"]),
    ("data build option without =", ["data", "build", "--lang", "th", "--translate-option", "model", "--out", "o"]),
    ("data build translate:bogus", ["data", "build", "--lang", "th", "--translations", "translate:bogus", "--out", "o"]),
    ("data build --parallel bogus", ["data", "build", "--lang", "th", "--parallel", "bogus", "--out", "o"]),
    ("data build --parallel auto alone", ["data", "build", "--lang", "th", "--parallel", "auto", "--out", "o"]),
    ("data build --data-dir missing", ["data", "build", "--lang", "th", "--data-dir", "/nonexistent/p", "--out", "o"]),
    ("data build instructions missing", ["data", "build", "--lang", "th", "--instructions", "nope.json", "--out", "o"]),
    ("data build translations missing", ["data", "build", "--lang", "th", "--translations", "nope.jsonl", "--out", "o"]),
    ("data build instructions broken", ["data", "build", "--lang", "th", "--instructions", "data/bad.jsonl", "--out", "o"]),
    ("data build without --out", ["data", "build", "--lang", "th"]),
    ("data build without --lang", ["data", "build", "--out", "o"]),
    # data translate
    ("data translate --lang xx", ["data", "translate", "--lang", "xx", "--out", "o.jsonl"]),
    ("data translate --lang en", ["data", "translate", "--lang", "en", "--out", "o.jsonl"]),
    ("data translate --backend bogus", ["data", "translate", "--lang", "th", "--backend", "bogus", "--out", "o.jsonl"]),
    ("data translate file without --file", ["data", "translate", "--lang", "th", "--backend", "file", "--out", "o.jsonl"]),
    ("data translate --file missing", ["data", "translate", "--lang", "th", "--backend", "file", "--file", "x.jsonl", "--out", "o.jsonl"]),
    ("data translate google without key", ["data", "translate", "--lang", "th", "--out", "o.jsonl"]),
    ("data translate --input missing", ["data", "translate", "--lang", "th", "--input", "nope.json", "--out", "o.jsonl"]),
    ("data translate --max-examples 0", ["data", "translate", "--lang", "th", "--max-examples", "0", "--out", "o.jsonl"]),
    ("data translate --batch-size 0", ["data", "translate", "--lang", "th", "--batch-size", "0", "--out", "o.jsonl"]),
    ("data translate without --out", ["data", "translate", "--lang", "th"]),
    # data validate / sources
    ("data validate nothing", ["data", "validate"]),
    ("data validate .txt", ["data", "validate", "data/notes.txt"]),
    ("data validate .xlsx", ["data", "validate", "data/table.xlsx"]),
    ("data validate missing file", ["data", "validate", "data/missing.jsonl"]),
    ("data validate broken jsonl", ["data", "validate", "data/bad.jsonl"]),
    ("data validate broken json", ["data", "validate", "data/bad.json"]),
    ("data validate empty field", ["data", "validate", "data/empty_field.th.jsonl"]),
    ("data validate duplicate ids", ["data", "validate", "data/dup.th.jsonl"]),
    ("data validate broken tsv", ["data", "validate", "data/mgsm_th.tsv"]),
    ("data validate --pair without --lang", ["data", "validate", "--pair", "data/en.txt", "data/th.txt"]),
    ("data validate --pair misaligned", ["data", "validate", "--pair", "data/en.txt", "data/th.txt", "--lang", "th"]),
    ("data validate --pair missing", ["data", "validate", "--pair", "data/x.txt", "data/y.txt", "--lang", "th"]),
    ("data validate --lang xx", ["data", "validate", "data/dup.th.jsonl", "--lang", "xx"]),
    ("data sources --lang xx", ["data", "sources", "--lang", "xx"]),
    # probe / interference
    ("probe --shots -1", ["probe", "--model", "tiny", "--langs", "th", "--shots", "-1"]),
    ("probe --layer 0", ["probe", "--model", "tiny", "--langs", "th", "--layer", "0"]),
    ("probe --layer 99", ["probe", "--model", "tiny", "--langs", "th", "--layer", "99"]),
    ("probe --layer abc", ["probe", "--model", "tiny", "--langs", "th", "--layer", "abc"]),
    ("probe --layer 1.5", ["probe", "--model", "tiny", "--langs", "th", "--layer", "1.5"]),
    ("probe --floor 1", ["probe", "--model", "tiny", "--langs", "th", "--floor", "1"]),
    ("probe --undetermined bogus", ["probe", "--model", "tiny", "--langs", "th", "--undetermined", "bogus"]),
    ("probe --n-examples -1", ["probe", "--model", "tiny", "--langs", "th", "--n-examples", "-1"]),
    ("probe --batch-size 0", ["probe", "--model", "tiny", "--langs", "th", "--batch-size", "0"]),
    ("probe --data missing", ["probe", "--model", "tiny", "--langs", "th", "--data", "/nonexistent/cloze"]),
    ("probe --langs xx", ["probe", "--model", "tiny", "--langs", "xx"]),
    ("probe --model missing", ["probe", "--model", "/nonexistent/model", "--langs", "th"]),
    ("probe --model bert", ["probe", "--model", "models/bert", "--langs", "th"]),
    ("interference no --lang", ["interference", "--model", "tiny"]),
    ("interference --lang xx", ["interference", "--lang", "xx", "--model", "tiny"]),
    ("interference two langs", ["interference", "--lang", "th,ar", "--model", "tiny"]),
    ("interference --pairs 0", ["interference", "--lang", "th", "--model", "tiny", "--pairs", "0"]),
    ("interference --batch-size 0", ["interference", "--lang", "th", "--model", "tiny", "--batch-size", "0"]),
    ("interference --max-length 0", ["interference", "--lang", "th", "--model", "tiny", "--max-length", "0"]),
    ("interference --data missing", ["interference", "--lang", "th", "--model", "tiny", "--data", "/nonexistent/d"]),
    ("interference --run missing", ["interference", "--lang", "th", "--model", "tiny", "--run", "/nonexistent/run"]),
    ("interference --checkpoint bad", ["interference", "--lang", "th", "--model", "tiny", "--checkpoint", "nolabel"]),
    ("interference --checkpoint missing", ["interference", "--lang", "th", "--model", "tiny", "--checkpoint", "a=/nonexistent/c"]),
    ("interference --model missing", ["interference", "--lang", "th", "--model", "/nonexistent/model"]),
    # table / report
    ("table NaN metric", ["table", "rec/nan"]),
    ("table inf metric", ["table", "rec/inf", "--format", "csv"]),
    ("table unknown method", ["table", "rec/method"]),
    ("table unknown task", ["table", "rec/task"]),
    ("table task of another benchmark", ["table", "rec/mismatch"]),
    ("table broken JSON", ["table", "rec/json"]),
    ("table missing keys", ["table", "rec/missing"]),
    ("table schema 2", ["table", "rec/schema"]),
    ("table metric not a number", ["table", "rec/metric"]),
    ("table record is an array", ["table", "rec/array"]),
    ("table record not UTF-8", ["table", "rec/binary"]),
    ("table no records", ["table", "rec/empty"]),
    ("table missing path", ["table", "rec/none"]),
    ("table --table 9", ["table", "leaderboards-paper", "--table", "9"]),
    ("table --format docx", ["table", "leaderboards-paper", "--format", "docx"]),
    ("table --compare bogus", ["table", "leaderboards-paper", "--compare", "bogus"]),
    ("table --resamples 5", ["table", "leaderboards-paper", "--resamples", "5"]),
    ("table --seed abc", ["table", "leaderboards-paper", "--seed", "abc"]),
    ("report NaN metric", ["report", "rec/nan", "--out", "r.html"]),
    ("report unknown method", ["report", "rec/method", "--out", "r.html"]),
    ("report no records", ["report", "rec/empty", "--out", "r.html"]),
    ("report missing path", ["report", "rec/none", "--out", "r.html"]),
    ("report broken JSON", ["report", "rec/json", "--out", "r.html"]),
    # tasks
    ("tasks validate missing folder", ["tasks", "validate", "/nonexistent/tasks"]),
    ("tasks validate a file", ["tasks", "validate", "tasks_file"]),
    ("tasks validate --docs 0", ["tasks", "validate", "--docs", "0"]),
    ("tasks validate --docs abc", ["tasks", "validate", "--docs", "abc"]),
    ("tasks validate --data-dir missing", ["tasks", "validate", "--data-dir", "/nonexistent/eval"]),
    ("tasks list missing folder", ["tasks", "list", "/nonexistent/tasks"]),
    # the app itself
    ("unknown command", ["bogus"]),
    ("unknown global option", ["--bogus"]),
    ("unknown data command", ["data", "bogus"]),
    ("unknown tasks command", ["tasks", "bogus"]),
]  # fmt: skip


def _argv(argv: list[str]) -> list[str]:
    return [str(ROOT / "leaderboards" / "paper") if a == "leaderboards-paper" else a for a in argv]


def run_case(argv: list[str], capsys) -> tuple[int, str, str]:
    code = 0
    try:
        main(_argv(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def check(code: int, err: str, before: dict, after: dict) -> list[str]:
    """The four conditions; the list of those that failed (empty: the case passes)."""
    failed = []
    if code != 2:
        failed.append(f"exit {code}, not 2")
    lines = err.strip("\n").splitlines()
    if len(lines) != 1 or not lines[0].startswith("error: "):
        failed.append(f"{len(lines)} stderr line(s), not one 'error:' line")
    if "Traceback" in err:
        failed.append("a traceback")
    if before != after:
        changed = sorted(set(before) ^ set(after) | {k for k in before if k in after and before[k] != after[k]})
        failed.append(f"wrote {changed[:3]}")
    return failed


def test_the_table_has_at_least_150_cases_across_all_commands():
    assert len(CASES) >= 150
    assert len({name for name, _ in CASES}) == len(CASES)
    commands = {argv[0] if argv[0] not in ("data", "tasks") else " ".join(argv[:2]) for _, argv in CASES}
    expected = {"run", "sweep", "config", "train", "eval", "data build", "data translate", "data validate"}
    expected |= {"probe", "interference", "table", "report", "tasks validate"}
    assert expected <= commands


@pytest.mark.parametrize("argv", [argv for _, argv in CASES], ids=[name for name, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, in_workspace, capsys):
    before = snapshot(in_workspace)
    code, out, err = run_case(argv, capsys)
    after = snapshot(in_workspace)
    assert check(code, err, before, after) == [], err + out


def test_one_line_errors_name_the_bad_value(in_workspace, capsys):
    """Spot checks that the one line says what is wrong, with what is valid."""
    expectations = {
        ("run", "--dry-run", "--set", "train.pivot_layer=99"): "outside 1..29 for this 30-block model",
        ("run", "--dry-run", "--set", "train.lr=1e400"): "lr inf is not a finite number",
        ("run", "--dry-run", "--set", "bogus=1"): "train.<key>",
        ("run", "--dry-run", "--model", "models/bert-decoder"): "cannot find the decoder blocks",
        ("run", "--dry-run", "--model", "models/notokenizer"): "has no tokenizer",
        ("run", "--dry-run", "--model", "models/noweights"): "has no weights",
        ("eval", "--model", "tiny", "--limit", "-1"): "'--limit'",
        ("table", "rec/nan"): "metric 'f1' is nan",
        ("table", "rec/method"): "unknown method 'magic'",
        ("data", "build", "--lang", "th", "--translate-option", "batch_size=abc", "--out", "o"): "batch_size",
    }
    for argv, words in expectations.items():
        code, _, err = run_case(list(argv), capsys)
        assert code == 2 and words in err, (argv, err)


def _subprocess(argv: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROM_BENCH_HOME": str(home)}
    env.pop("GOOGLE_TRANSLATE_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-c", "from prom_bench.cli import main; main()", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--dry-run", "--set", "train.pivot_layer=0"],
        ["eval", "--limit", "-1"],
        ["table", "rec/nan"],
        ["bogus"],
    ],
    ids=["run pivot 0", "eval limit -1", "table NaN", "unknown command"],
)
def test_through_a_real_process(argv, workspace):
    before = snapshot(workspace)
    proc = _subprocess(argv, workspace, workspace / "home")
    assert check(proc.returncode, proc.stderr, before, snapshot(workspace)) == [], proc.stderr


def test_the_four_checks_can_fail(in_workspace, capsys):
    """The checker is not vacuous: a good command fails it (exit 0), and so does one that writes."""
    before = snapshot(in_workspace)
    code, _, err = run_case(["config"], capsys)
    assert check(code, err, before, snapshot(in_workspace)) == [
        "exit 0, not 2",
        "0 stderr line(s), not one 'error:' line",
    ]
    code, _, err = run_case(["data", "build", "--lang", "th", "--method", "t", "--out", "written"], capsys)
    failed = check(code, err, before, snapshot(in_workspace))
    assert code == 0 and any(f.startswith("wrote ") for f in failed)
    import shutil

    shutil.rmtree(in_workspace / "written")
