"""The dataset card (README.md) written beside every built mixture: sources, revisions, counts, licenses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prom_bench import methods
from prom_bench.languages import get

if TYPE_CHECKING:
    from prom_bench.data.build import Mixture

PART_TITLES = {
    methods.S_E: "s_e: English instructions (role `english`)",
    methods.S_T: "s_t: target-language instructions (role `target`)",
    methods.S_E2T: "s_e2t: English-to-target translation instructions (role `target`)",
}


def render_card(mixture: Mixture) -> str:
    """Markdown with a Hugging Face-style YAML header; every source row says where, which revision, how many."""
    language = get(mixture.lang)
    method = methods.get(mixture.method)
    licenses = sorted({prov["license"] for info in mixture.parts.values() for prov in info["sources"]})
    lines = [
        "---",
        f"language: [en, {mixture.lang}]",
        "task_categories: [text-generation]",
        "configs:",
        "- config_name: default",
        "  data_files: train.jsonl",
        "---",
        "",
        f"# prom-bench training mixture: {method.name} ({method.paper_name}), English -> {language.name}",
        "",
        f"Built by `prom-bench data build` for method `{method.name}`: {method.description}.",
        f"{len(mixture.examples)} examples in `train.jsonl` (one JSON object per line: id, instruction, input, output,",
        'role, part, lang, source, source_id); load with `datasets.load_dataset("json", data_files="train.jsonl")`.',
        "",
        "| part | examples | duplicates dropped | capped from |",
        "|---|---|---|---|",
    ]
    for part, info in mixture.parts.items():
        lines.append(f"| {part} | {info['count']} | {info['duplicates_dropped']} | {info.get('capped_from', '')} |")
    lines += ["", "## Sources", ""]
    for part, info in mixture.parts.items():
        lines += [
            f"### {PART_TITLES[part]}",
            "",
            "| source | location | revision | license | records read | off-script records |",
            "|---|---|---|---|---|---|",
        ]
        for prov in info["sources"]:
            lines.append(
                f"| {prov['source']} | {prov['location']} | {prov.get('revision') or ''} | {prov['license']} | "
                f"{prov['count']} | {prov.get('off_script', 0)} |"
            )
        notes = [prov["note"] for prov in info["sources"] if prov.get("note")]
        lines += [""] + [f"Note: {note}." for note in notes] + ([""] if notes else [])
    lines += [
        "## Licenses",
        "",
        "This mixture is a derived work of its sources and carries each of their licenses: "
        + "; ".join(licenses)
        + ".",
        *(
            ["A non-commercial source license (CC BY-NC) makes the whole mixture non-commercial.", ""]
            if any("NC" in license for license in licenses)
            else [""]
        ),
        "## Notes",
        "",
        f'- Translation instructions read "Translate the following sentences from English to {language.name}."',
        "  with the English sentence as input and its reference translation as output.",
        "- WMT23 development data, which the paper also used, has no English pair with any of prom-bench's "
        "nine languages.",
        "- Exact duplicates (same instruction, input and output) are dropped within each part before any cap.",
        "",
    ]
    return "\n".join(lines)
