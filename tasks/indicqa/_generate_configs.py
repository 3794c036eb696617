"""Write one prom_indicqa_<lang>.yaml per language from the table below (run: python _generate_configs.py).

Adding a language is one row: its three prompt labels, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tasks/, which holds the _prom_shared package
from _prom_shared.generate import qa_task_config, write_task_yamls

FAMILY = "indicqa"
VERSION = 2.0  # 2.0: paper_exact_match/paper_f1 beside EM/F1; normaliser version 2 (see README)
SPLIT = "test"
# ai4bharat/IndicQA is a loading script that datasets >= 4 cannot run; the loader reads the raw
# data/indicqa.<lang>.json beside it at this commit (the one lighteval pins).
SOURCE = "ai4bharat/IndicQA"
REVISION = "92d96092ae229950973dac3b9998f8b3a8949b0a"
MAX_GEN_TOKS = 64

# lang: (context label, question label, answer label)
LABELS = {
    "ta": ("சூழல்", "கேள்வி", "பதில்"),
    "mr": ("संदर्भ", "प्रश्न", "उत्तर"),
    "ml": ("സന്ദർഭം", "ചോദ്യം", "ഉത്തരം"),
    "hi": ("संदर्भ", "प्रश्न", "उत्तर"),
    "bn": ("প্রসঙ্গ", "প্রশ্ন", "উত্তর"),
    "te": ("సందర్భం", "ప్రశ్న", "సమాధానం"),
}


def task_config(lang: str, labels: tuple[str, str, str]) -> dict:
    return qa_task_config(
        FAMILY,
        lang,
        labels,
        dataset_name=f"indicqa.{lang}",
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
