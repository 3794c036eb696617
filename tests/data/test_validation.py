"""Malformed input: one line naming the file and line, exit 2, nothing written."""

from __future__ import annotations

import json
import re

import pytest

from prom_bench.data.files import read_parallel

TH = "ให้คำแนะนำสามข้อ"


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _record(i, text="Say hello.", output="Hello!"):
    return {"id": f"r{i}", "instruction": text, "input": "", "output": output}


def _english(tmp_path):
    return _jsonl(tmp_path / "en.jsonl", [_record(i, f"Say hello number {i}.") for i in range(4)])


def _thai(tmp_path, records=None):
    records = records or [_record(i, f"{TH} {i}", "สวัสดี") for i in range(4)]
    return _jsonl(tmp_path / "th.jsonl", records)


def _parallel_dir(tmp_path, english_lines, thai_lines):
    folder = tmp_path / "data" / "ntrex128"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "newstest2019-ref.eng-US.txt").write_text("".join(l + "\n" for l in english_lines), encoding="utf-8")
    (folder / "newstest2019-ref.tha.txt").write_text("".join(l + "\n" for l in thai_lines), encoding="utf-8")
    return tmp_path / "data"


def _build(cli, tmp_path, instructions, translations, data_dir=None):
    data_dir = data_dir or _parallel_dir(tmp_path, ["Good morning.", "Thank you."], ["สวัสดีตอนเช้า", "ขอบคุณ"])
    out = tmp_path / "out"
    result = cli(
        "data",
        "build",
        "--lang",
        "th",
        "--method",
        "prom",
        "--instructions",
        instructions,
        "--translations",
        translations,
        "--data-dir",
        data_dir,
        "--out",
        out,
    )
    return (*result, out)


def _assert_one_line_error(result, path, line, words):
    code, out, err, written = result
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}:{line}: "), lines[0]
    assert re.search(words, lines[0]), lines[0]
    assert not written.exists() and not list(written.parent.glob(".out.*"))  # no partial output


def test_valid_inputs_build(cli, tmp_path):
    code, out, err, written = _build(cli, tmp_path, _english(tmp_path), _thai(tmp_path))
    assert code == 0, err
    assert json.loads((written / "stats.json").read_text())["counts"] == {"s_e": 4, "s_t": 4, "s_e2t": 2}


def test_bad_json_array(cli, tmp_path):
    bad = tmp_path / "alpaca.json"
    bad.write_text('[\n  {"instruction": "a", "input": "", "output": "b"},\n  {"instruction": "c", "output": }\n]\n')
    _assert_one_line_error(_build(cli, tmp_path, bad, _thai(tmp_path)), bad, 3, "invalid JSON")


def test_bad_jsonl_line(cli, tmp_path):
    bad = _thai(tmp_path)
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-1]  # drop the closing brace
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), bad), bad, 3, "invalid JSON Lines")


def test_missing_column(cli, tmp_path):
    records = [_record(i, f"{TH} {i}", "สวัสดี") for i in range(4)]
    del records[1]["output"]
    bad = _thai(tmp_path, records)
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), bad), bad, 2, "missing field 'output'")


def test_wrong_type_and_empty_field(cli, tmp_path):
    records = [_record(i, f"{TH} {i}", "สวัสดี") for i in range(4)]
    records[3]["input"] = 5
    bad = _thai(tmp_path, records)
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), bad), bad, 4, "'input' must be a string")
    records[3]["input"], records[2]["output"] = "", "  "
    bad = _thai(tmp_path, records)
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), bad), bad, 3, "'output' is empty")


def test_duplicate_ids(cli, tmp_path):
    records = [_record(i, f"{TH} {i}", "สวัสดี") for i in range(4)]
    records[3]["id"] = "r1"
    bad = _thai(tmp_path, records)
    _assert_one_line_error(
        _build(cli, tmp_path, _english(tmp_path), bad), bad, 4, r"duplicate id 'r1' \(first on line 2\)"
    )


def test_non_utf8_bytes(cli, tmp_path):
    bad = _thai(tmp_path)
    data = bad.read_bytes().split(b"\n")
    data[1] = data[1].replace("สวัสดี".encode(), "สวัสดี".encode("cp874"))  # a Windows Thai code page
    bad.write_bytes(b"\n".join(data))
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), bad), bad, 2, "is not UTF-8")


def test_misaligned_parallel_files(cli, tmp_path):
    data_dir = _parallel_dir(tmp_path, ["Good morning.", "Thank you.", "See you."], ["สวัสดีตอนเช้า", "ขอบคุณ"])
    longer = data_dir / "ntrex128" / "newstest2019-ref.eng-US.txt"
    _assert_one_line_error(
        _build(cli, tmp_path, _english(tmp_path), _thai(tmp_path), data_dir), longer, 3, "misaligned"
    )


def test_empty_line_in_parallel_file(cli, tmp_path):
    data_dir = _parallel_dir(tmp_path, ["Good morning.", "Thank you."], ["", "ขอบคุณ"])
    thai = data_dir / "ntrex128" / "newstest2019-ref.tha.txt"
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), _thai(tmp_path), data_dir), thai, 1, "empty line")


def test_wrong_script_for_the_language(cli, tmp_path):
    tamil = [_record(i, f"ஆரோக்கியமாக இருப்பதற்கு {i}", "வணக்கம்") for i in range(4)]
    bad = _thai(tmp_path, tamil)
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), bad), bad, 1, "not in the Thai script of Thai")


def test_parallel_target_in_wrong_script(cli, tmp_path):
    data_dir = _parallel_dir(tmp_path, ["Good morning.", "Thank you."], ["Guten Morgen.", "Danke."])
    thai = data_dir / "ntrex128" / "newstest2019-ref.tha.txt"
    _assert_one_line_error(_build(cli, tmp_path, _english(tmp_path), _thai(tmp_path), data_dir), thai, 1, "Thai script")


def test_a_few_off_script_lines_are_counted_not_rejected(tmp_path):
    english = [f"Sentence {i}." for i in range(20)]
    thai = [f"ประโยคที่ {i}" for i in range(19)] + ["Liverpool FC"]  # a name left in Latin, as in real NTREX
    data_dir = _parallel_dir(tmp_path, english, thai)
    pairs, report = read_parallel(
        data_dir / "ntrex128" / "newstest2019-ref.eng-US.txt", data_dir / "ntrex128" / "newstest2019-ref.tha.txt", "th"
    )
    assert len(pairs) == 20 and report.off_script == 1


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("What is 2+2?\t4\nHow many?\t3\textra\n", 2, "expected 2 tab-separated columns"),
        ("What is 2+2?\tfour\n", 1, "is not a number"),
        ("What is 2+2?\t4\n\t5\n", 2, "empty question"),
    ],
)
def test_bad_mgsm_tsv(cli, tmp_path, content, line, words):
    bad = tmp_path / "mgsm_en.tsv"
    bad.write_text(content, encoding="utf-8")
    code, out, err = cli("data", "validate", bad)
    assert code == 2 and err.strip().splitlines() == [err.strip()] and err.startswith(f"error: {bad}:{line}: ")
    assert re.search(words, err)


def test_squad_answer_not_at_its_start(cli, tmp_path):
    doc = {
        "version": "1.1",
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": "The Nile flows north.",
                        "qas": [
                            {"id": "q1", "question": "Which way?", "answers": [{"text": "north", "answer_start": 3}]}
                        ],
                    }
                ],
            }
        ],
    }
    bad = tmp_path / "xquad.en.json"
    bad.write_text(json.dumps(doc, indent=2))
    code, out, err = cli("data", "validate", bad)
    assert code == 2 and f"error: {bad}:" in err and "not at answer_start 3" in err


def test_validate_reports_counts(cli, tmp_path, shared_data):
    code, out, err = cli(
        "data",
        "validate",
        "--data-dir",
        shared_data,
        "--lang",
        "th",
        shared_data / "mgsm" / "mgsm_th.tsv",
        shared_data / "xquad" / "xquad.th.json",
    )
    assert code == 0, err
    assert "1997" in out and "1012" in out and "250" in out and "1190" in out
    code, out, err = cli("data", "validate", "--lang", "en", shared_data / "alpaca_sample" / "alpaca_first100.json")
    assert code == 0 and "100" in out
