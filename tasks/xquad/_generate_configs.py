"""Write one prom_xquad_<lang>.yaml per language from the table below (run: python _generate_configs.py).

Adding a language is one row: its three prompt labels, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tasks/, which holds the _prom_shared package
from _prom_shared.generate import qa_task_config, write_task_yamls

FAMILY = "xquad"
VERSION = 2.0  # 2.0: paper_exact_match/paper_f1 beside EM/F1; normaliser version 2 (see README)
SPLIT = "validation"
SOURCE = "google/xquad"
REVISION = "main"  # see README "Known gaps": no commit of google/xquad could be pinned when this was written
MAX_GEN_TOKS = 64

# lang: (context label, question label, answer label)
LABELS = {
    "th": ("บริบท", "คำถาม", "คำตอบ"),
    "ar": ("السياق", "السؤال", "الإجابة"),
    "el": ("Συμφραζόμενα", "Ερώτηση", "Απάντηση"),
    "en": ("Context", "Question", "Answer"),
}


def task_config(lang: str, labels: tuple[str, str, str]) -> dict:
    return qa_task_config(
        FAMILY,
        lang,
        labels,
        dataset_name=f"xquad.{lang}",
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
