"""Instruction data in four formats (Alpaca, TRL/OpenAI messages, ShareGPT, a datasets dataset): one mixture."""

from __future__ import annotations

import json
import re

import pytest

from prom_bench.data import DataSources, build_mixture
from prom_bench.data.files import read_instructions
from prom_bench.errors import UserError

TH = [
    ("ให้คำแนะนำสามข้อเพื่อสุขภาพ", "กินผักและผลไม้ นอนให้พอ และออกกำลังกายทุกวัน"),
    ("เมืองหลวงของฝรั่งเศสคืออะไร", "เมืองหลวงของฝรั่งเศสคือปารีส"),
    ("บอกชื่อดาวเคราะห์ที่ใหญ่ที่สุด", "ดาวพฤหัสบดีเป็นดาวเคราะห์ที่ใหญ่ที่สุด"),
    ("น้ำเดือดที่อุณหภูมิเท่าไร", "น้ำเดือดที่หนึ่งร้อยองศาเซลเซียส"),
]


def _alpaca(path):
    path.write_text(
        json.dumps([{"instruction": q, "input": "", "output": a} for q, a in TH], ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    return path


def _messages(path, records=None):
    records = records or [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in TH
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _sharegpt(path):
    records = [{"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]} for q, a in TH]
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _mixture(translations):
    return build_mixture("th", "t+e", DataSources(translations=str(translations)))


def test_messages_and_sharegpt_build_the_same_mixture_as_alpaca(tmp_path):
    alpaca = _mixture(_alpaca(tmp_path / "alpaca.json"))
    messages = _mixture(_messages(tmp_path / "messages.jsonl"))
    sharegpt = _mixture(_sharegpt(tmp_path / "sharegpt.json"))
    assert [e for e in alpaca.examples if e["part"] == "s_t"]  # the part under test is there
    # Same examples (ids, text, roles, parts, source) in the same order.
    assert messages.examples == alpaca.examples
    assert sharegpt.examples == alpaca.examples
    assert messages.counts() == sharegpt.counts() == alpaca.counts() == {"s_e": 24, "s_t": 4, "s_e2t": 24}


def test_a_system_message_is_folded_into_the_instruction(tmp_path):
    path = _messages(
        tmp_path / "sys.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "ตอบสั้นๆ"},
                    {"role": "user", "content": TH[0][0]},
                    {"role": "assistant", "content": TH[0][1]},
                ]
            }
        ],
    )
    records, report = read_instructions(path, lang="th")
    assert records[0]["instruction"] == f"ตอบสั้นๆ\n\n{TH[0][0]}" and records[0]["input"] == ""
    assert report.notes == ["1 system message(s) folded into the instruction"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b"},
                    {"role": "user", "content": "c"},
                    {"role": "assistant", "content": "d"},
                ]
            },
            r"multi-turn conversation \(2 user turns\)",
        ),
        ({"messages": [{"role": "user", "content": "a"}]}, "expected one user message then one assistant"),
        ({"messages": [{"role": "narrator", "content": "a"}]}, "has role 'narrator'; valid: system, user"),
        ({"messages": [{"role": "user", "content": ""}]}, r"messages\[0\] needs a non-empty string 'content'"),
        ({"conversations": [{"from": "human"}]}, r"conversations\[0\] must be an object with 'from' and 'value'"),
        ({"messages": "hello"}, "'messages' must be a non-empty list"),
    ],
)
def test_bad_chat_records_name_the_file_and_line(tmp_path, record, message):
    good = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}
    path = _messages(tmp_path / "bad.jsonl", [good, good, record])
    with pytest.raises(UserError, match=rf"^{tmp_path / 'bad.jsonl'}:3: .*{message}"):
        read_instructions(path)


def test_a_bad_record_in_a_sharegpt_array_names_its_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        '[\n {"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]},\n'
        ' {"conversations": [{"from": "gpt", "value": "b"}, {"from": "human", "value": "a"}]}\n]\n',
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"bad.json:3: expected one user message then one assistant message"):
        read_instructions(path)


def test_a_datasets_folder_with_a_column_mapping_builds_the_same_mixture(tmp_path):
    import datasets

    folder = tmp_path / "qa"
    datasets.Dataset.from_dict({"question": [q for q, _ in TH], "answer": [a for _, a in TH]}).save_to_disk(folder)
    alpaca = _mixture(_alpaca(tmp_path / "alpaca.json"))
    mapped = build_mixture(
        "th",
        "t+e",
        DataSources(translations=f"datasets:{folder}", columns={"instruction": "question", "output": "answer"}),
    )

    def content(mixture):  # everything but the name of the source kind ("file" vs "datasets")
        return [{k: v for k, v in e.items() if k != "source"} for e in mixture.examples]

    assert content(mapped) == content(alpaca)
    assert mapped.parts["s_t"]["sources"][0]["source"] == "datasets"

    with pytest.raises(UserError, match=r"has no column 'prompt' \(mapped to instruction\); its columns: question"):
        build_mixture("th", "t", DataSources(translations=f"datasets:{folder}", columns={"instruction": "prompt"}))


def test_a_bad_row_of_a_dataset_names_the_dataset_and_row(tmp_path):
    import datasets

    folder = tmp_path / "qa"
    datasets.Dataset.from_dict({"instruction": [TH[0][0], TH[1][0]], "output": [TH[0][1], ""]}).save_to_disk(folder)
    with pytest.raises(UserError, match=rf"^{re.escape(str(folder))}\[train\]:2: field 'output' is empty"):
        build_mixture("th", "t", DataSources(translations=f"datasets:{folder}"))
