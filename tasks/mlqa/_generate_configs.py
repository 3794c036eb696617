"""Write one prom_mlqa_<lang>.yaml (context and question in <lang>) per language from the table below.

Run: python _generate_configs.py.

Adding a language is one row: its three prompt labels, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tasks/, which holds the _prom_shared package
from _prom_shared.generate import qa_task_config, write_task_yamls

FAMILY = "mlqa"
VERSION = 2.0  # 2.0: paper_exact_match/paper_f1 beside EM/F1; normaliser version 2 (see README)
SPLIT = "test"
# facebook/mlqa is a loading script that datasets >= 4 cannot run; at this commit it downloads the release
# archive below, which the loader reads directly (see README).
SOURCE = "https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip"
REVISION = "397ed406c1a7902140303e7faf60fff35b58d285"
MAX_GEN_TOKS = 64

# lang: (context label, question label, answer label)
LABELS = {
    "ar": ("السياق", "السؤال", "الإجابة"),
}


def task_config(lang: str, labels: tuple[str, str, str]) -> dict:
    return qa_task_config(
        FAMILY,
        lang,
        labels,
        dataset_name=f"mlqa.{lang}.{lang}",
        split=SPLIT,
        source=SOURCE,
        revision=REVISION,
        version=VERSION,
        max_gen_toks=MAX_GEN_TOKS,
    )


def main() -> None:
    write_task_yamls(__file__, {f"prom_{FAMILY}_{lang}": task_config(lang, labels) for lang, labels in LABELS.items()})


if __name__ == "__main__":
    main()
