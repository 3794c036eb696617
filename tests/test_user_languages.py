"""Languages declared in a YAML file: the loader's checks, the table in effect, and Hindi end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from prom_bench import languages
from prom_bench.cli import main
from prom_bench.errors import UserError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "languages" / "hi"


@pytest.fixture(autouse=True)
def builtin_table():
    """Each test starts from (and leaves) the built-in table."""
    languages.reset()
    yield
    languages.reset()


@pytest.fixture
def cli(capsys):
    def run(*args):
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _hindi(tmp_path, **changes) -> Path:
    """A copy of the Hindi fixture with its entry changed (``None`` removes a key; ``data`` merges)."""
    folder = tmp_path / "hi"
    shutil.copytree(FIXTURE, folder)
    (folder / "eval").symlink_to(FIXTURE.parent.parent / "tasks" / "data")
    doc = yaml.safe_load((folder / "languages.yaml").read_text(encoding="utf-8"))
    entry = doc["languages"][0]
    entry["data"]["eval"] = "eval"
    for key, value in changes.items():
        if key == "data":
            for k, v in value.items():
                entry["data"].pop(k) if v is None else entry["data"].__setitem__(k, v)
        elif value is None:
            entry.pop(key)
        else:
            entry[key] = value
    path = folder / "languages.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_builtin_table_is_a_languages_file():
    builtin = languages.load_file(languages.BUILTIN_FILE, known={})
    assert {lang.code: lang for lang in builtin} == languages.LANGUAGES
    assert languages.PAPER_LANGS == ("ar", "bn", "el", "ml", "mr", "sw", "ta", "te", "th")
    # every language with a cell in tasks/ today: the nine, Hindi (IndicQA), English (controls)
    assert languages.get("hi").tasks == ("prom_indicqa_hi",) and not languages.get("hi").paper
    assert languages.cells("bn", extra=True) == ("prom_mgsm_bn", "prom_indicqa_bn")
    assert languages.cells("te") == ("prom_mgsm_te",)
    for lang in languages.LANGUAGES.values():
        for task in lang.tasks + lang.extra_tasks:
            family = task.split("_")[1]
            assert (Path(languages.PACKAGE_DIR).parent / "tasks" / family / f"{task}.yaml").is_file(), task


def test_a_user_file_adds_a_language_with_its_own_script(tmp_path):
    path = tmp_path / "gu.yaml"
    path.write_text(
        "languages:\n"
        "  - {code: gu, name: Gujarati, native: ગુજરાતી, script: Gujr, script_ranges: 0A80-0AFF,\n"
        "     flores: guj_Gujr, ntrex: guj, tasks: [prom_indicqa_gu]}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="unknown language 'gu'.*--languages-file"):
        languages.get("gu")
    (gu,) = languages.register_files([str(path)])
    assert languages.get("gu") == gu and gu.origin == str(path.resolve())
    assert languages.parse_langs("gu,th") == ["gu", "th"]
    assert languages.in_script("ગુજરાતી ભાષા", "gu") and not languages.in_script("हिन्दी भाषा", "gu")
    assert languages.register_files([str(path)]) == []  # idempotent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("languages:\n  - {code: hi, name: Hindi, scirpt: Deva, tasks: [prom_indicqa_hi]}\n", r":2: .*key 'scirpt'"),
        ("languages:\n  - {code: hi, name: Hindi, tasks: [prom_indicqa_hi]}\n", r":2: language entry lacks script"),
        ("languages:\n  - {code: Hindi, name: Hindi, script: Deva, tasks: [x]}\n", "code 'Hindi' is not an ISO 639"),
        (
            "languages:\n  - {code: gu, name: Gujarati, script: Gujr, tasks: [prom_indicqa_gu]}\n",
            "script 'Gujr' is not a known one .*give its Unicode ranges as script_ranges",
        ),
        (
            "languages:\n  - {code: hi, name: Hindi, script: Deva, tasks: [indicqa_hi]}\n",
            "task 'indicqa_hi' is not named prom_<benchmark>_<lang>",
        ),
        (
            "languages:\n  - {code: hi, name: Hindi, script: Deva, tasks: [prom_indicqa_hi], data: {parallel: p.txt}}\n",
            r"data.parallel must be a mapping: \{english: FILE, target: FILE\}",
        ),
        (
            "languages:\n  - {code: hi, name: Hindi, script: Deva, tasks: [prom_indicqa_hi], data: {translations: no.jsonl}}\n",
            "data.translations 'no.jsonl' does not exist",
        ),
        ("languages: []\n", "non-empty 'languages:' list"),
        ("languages:\n  - {code: hi\n", "not valid YAML"),
    ],
)
def test_bad_entries_fail_with_one_line_naming_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "langs.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as caught:
        languages.register_files([str(path)])
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    assert "gu" not in languages.LANGUAGES  # a bad file changes nothing


def test_validate_reads_every_declared_item(tmp_path, cli):
    code, out, err = cli("languages", "validate", FIXTURE / "languages.yaml")
    assert code == 0, err
    for item in ("cell prom_indicqa_hi", "s_t translations", "s_e2t parallel", "cloze set", "eval prom_indicqa_hi"):
        assert item in out
    assert "8 records" in out and "6 pairs" in out and "2 items" in out and "from words" in out
    # a cell that is not a task anywhere
    path = _hindi(tmp_path, tasks=["prom_indicqa_hx"])
    code, _, err = cli("languages", "validate", path)
    assert code == 2 and "task 'prom_indicqa_hx' is not in tasks/" in err
    # a misaligned parallel file
    path = _hindi(tmp_path / "b")
    (path.parent / "hi.txt").write_text("आज मौसम अच्छा है।\n", encoding="utf-8")
    code, _, err = cli("languages", "validate", path)
    assert code == 2 and "parallel files are misaligned" in err


def test_a_probe_without_a_cloze_set_says_so_and_which_default_applies(tmp_path):
    from prom_bench.probe.cloze_source import no_cloze_decision
    from prom_bench.probe.config import ProbeConfig

    languages.register_files([str(_hindi(tmp_path, data={"words": None}))])
    decision = no_cloze_decision("hi", ProbeConfig(undetermined="no-pivot"))
    assert decision["status"] == "undetermined" and decision["pivots"] is False
    assert "no cloze set (data.cloze" in decision["reason"] and "probe.undetermined=no-pivot" in decision["reason"]
    assert no_cloze_decision("th", ProbeConfig()) is None  # the demo data has Thai's


def test_a_cloze_set_is_built_from_a_word_list_by_translation(tmp_path, monkeypatch):
    from prom_bench.probe.data import build_prompts, load_cloze

    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))
    languages.register_files([str(FIXTURE / "languages.yaml")])
    backend = f"file:{FIXTURE / 'translations.jsonl'}"
    items = load_cloze("hi", "demo", translate=backend)
    assert [i.word for i in items] == ["किताब", "पानी", "सूरज", "चाँद", "कुत्ता", "बिल्ली", "घर"]
    assert items[1].solved == 'प्यास लगने पर हम "___" पीते हैं। उत्तर: "पानी".'
    assert items[1].query == 'प्यास लगने पर हम "___" पीते हैं। उत्तर: "'
    assert items[6].word_en == "house"  # its English sentence came from the word list's prompt_en column
    assert all(languages.in_script(i.solved, "hi") for i in items)
    assert len(build_prompts(items, shots=2, seed=0)) == len(items)
    with pytest.raises(UserError, match=r"no cloze set for Hindi \(hi\).*probe.translate"):
        load_cloze("hi", "demo")


def test_missing_parallel_data_fails_before_any_work(tmp_path, cli):
    path = _hindi(tmp_path, data={"parallel": None})
    out = tmp_path / "runs"
    code, stdout, err = cli(
        "run", "--languages-file", path, "--langs", "hi", "--model", "tiny", "--methods", "t,prom",
        "--out", out, "--results", tmp_path / "results",
    )  # fmt: skip
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: method 't' needs English-Hindi parallel text (s_e2t)")
    assert "declare data.parallel: {english: FILE, target: FILE}" in lines[0] and str(path) in lines[0]
    assert not out.exists() and not (tmp_path / "results").exists() and stdout == ""


def test_missing_eval_data_fails_before_any_work(tmp_path, cli):
    path = _hindi(tmp_path, data={"eval": None})
    code, _, err = cli(
        "run", "--languages-file", path, "--langs", "hi", "--model", "tiny", "--methods", "base",
        "--out", tmp_path / "runs", "--results", tmp_path / "results",
    )  # fmt: skip
    assert code == 2 and "no evaluation data for prom_indicqa_hi in the demo data" in err
    assert not (tmp_path / "runs").exists()


def test_builtin_hindi_without_its_data_names_what_is_missing(cli, tmp_path):
    code, _, err = cli("run", "--langs", "hi", "--model", "tiny", "--methods", "t", "--out", tmp_path / "runs")
    assert code == 2 and "needs Hindi instructions (s_t) and the demo data has none for 'hi'" in err


@pytest.mark.slow
def test_a_user_file_declaring_hindi_runs_offline_and_produces_records_and_tables(tmp_path, cli, monkeypatch):
    from prom_bench.results import load_records

    monkeypatch.setenv("PROM_BENCH_HOME", str(tmp_path / "home"))
    path = _hindi(tmp_path)
    results = tmp_path / "results"
    code, stdout, err = cli(
        "run", "--languages-file", path, "--langs", "hi", "--model", "tiny", "--methods", "t,prom",
        "--out", tmp_path / "runs", "--results", results,
        "--set", "train.max_steps=2", "--set", "eval.limit=2", "--set", "eval.max_gen_toks=8",
        "--set", f"probe.translate=file:{path.parent / 'translations.jsonl'}",
    )  # fmt: skip
    assert code == 0, err
    records = [r for r in load_records([results]) if r["lang"] == "hi"]  # the demo also runs the English control
    assert sorted((r["method"], r["task"]) for r in records) == [("prom", "prom_indicqa_hi"), ("t", "prom_indicqa_hi")]
    for record in records:
        assert record["lang"] == "hi" and record["n"] == 2
        assert record["settings"]["format"] == "alpaca" and record["settings"]["eval.format"] == "plain"
        assert record["provenance"]["dataset"]["path"].endswith("indicqa/indicqa.hi.json")
    prom = next(r for r in records if r["method"] == "prom")
    regulation = prom["provenance"]["config"]["regulation"]
    assert regulation["source"] == "probe" and regulation["n"] >= 1  # measured on the cloze set built from words
    assert "IndicQA" in stdout and "hi" in stdout  # Table 1 carries the declared language's cell
    # the tables again from the records, with the languages file
    code, table, err = cli("table", results, "--table", "1", "--languages-file", path)
    assert code == 0, err
    assert "IndicQA" in table and " hi " in table  # the declared cell is a column of Table 1


def test_a_language_with_its_own_task_yaml_under_an_include_path(tmp_path, cli):
    from prom_bench.evaluation import task_manager
    from prom_bench.paths import tasks_dir

    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "prom_indicqa_gu.yaml").write_text(
        f"include: {tasks_dir() / 'indicqa' / '_template'}\n"
        "task: prom_indicqa_gu\ndataset_name: indicqa.gu\n"
        "dataset_kwargs: {family: indicqa, lang: gu, split: test, data_source: local, data_revision: none}\n"
        'doc_to_text: "સંદર્ભ: {{context}}\\n\\nપ્રશ્ન: {{question}}\\n\\nજવાબ:"\n'
        'generation_kwargs: {until: ["\\n"], max_gen_toks: 32, do_sample: false}\nmetadata: {version: 1.0}\n',
        encoding="utf-8",
    )
    data = tmp_path / "eval" / "indicqa"
    data.mkdir(parents=True)
    context = "અમદાવાદ ગુજરાતનું શહેર છે."
    qa = {"id": 1, "question": "અમદાવાદ ક્યાં છે?", "answers": [{"text": "ગુજરાત", "answer_start": 8}]}
    (data / "indicqa.gu.json").write_text(
        json.dumps({"data": [{"title": "x", "paragraphs": [{"context": context, "qas": [qa]}]}]}, ensure_ascii=False),
        encoding="utf-8",
    )
    path = tmp_path / "gu.yaml"
    path.write_text(
        "languages:\n  - {code: gu, name: Gujarati, script: Gujr, script_ranges: 0A80-0AFF, flores: guj_Gujr,\n"
        "     ntrex: guj, tasks: [prom_indicqa_gu], include_path: tasks, data: {eval: eval}}\n",
        encoding="utf-8",
    )
    code, out, err = cli("languages", "validate", path)
    assert code == 0, err
    assert "include" in out and "1 items" in out
    manager = task_manager(tmp_path / "eval", extra_paths=[languages.get("gu").include_path])
    task = manager.load(["prom_indicqa_gu"])["tasks"]["prom_indicqa_gu"]
    doc = next(iter(task.test_docs()))
    assert task.doc_to_text(doc).endswith("જવાબ:") and doc["answers"]["text"] == ["ગુજરાત"]


def test_extra_cells_are_checked_like_the_paper_cells(cli, tmp_path):
    # bn's IndicQA cell is in tasks/ but the demo evaluation data has no indicqa.bn.json
    code, _, err = cli("run", "--langs", "bn", "--methods", "base", "--set", "extra_cells=true", "--dry-run")
    assert code == 2 and "no evaluation data for prom_indicqa_bn in the demo data" in err
    code, out, err = cli("run", "--langs", "bn", "--methods", "base", "--dry-run")
    assert code == 0, err


def test_auto_prompt_formats_resolve_per_model_before_any_work():
    from prom_bench import config as cfg
    from prom_bench.models import resolve
    from prom_bench.pipeline import resolve_formats

    tiny = resolve("tiny")  # a real SentencePiece tokenizer without a chat template
    auto = cfg.load("demo", overrides=["train.format=auto", "eval.chat_template=auto"])
    resolved = resolve_formats(auto, tiny)
    assert (resolved.train.format, resolved.eval.chat_template) == ("alpaca", False)
    assert (auto.train.format, auto.eval.chat_template) == ("auto", "auto")  # the caller's config is untouched
    chat = cfg.load("demo", overrides=["train.format=chat", "eval.chat_template=true"])
    with pytest.raises(UserError, match="train.format=chat and eval.chat_template need the model's chat template"):
        resolve_formats(chat, tiny)
    with pytest.raises(UserError, match="unknown value for 'eval.chat_template' 'maybe'"):
        cfg.load("demo", overrides=["eval.chat_template=maybe"])
    with pytest.raises(UserError, match="unknown value for 'train.format' 'chatml'"):
        cfg.load("demo", overrides=["train.format=chatml"])
