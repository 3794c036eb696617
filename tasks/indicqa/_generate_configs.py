"""Write one prom_indicqa_<lang>.yaml per language from the table below (run: python _generate_configs.py).

Adding a language is one row: its three prompt labels, written by a speaker of the language, in its script.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))  # tasks/ is no package
from generate import write_task_yamls  # noqa: E402

FAMILY = "indicqa"
VERSION = 1.0
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


def task_config(lang: str, context: str, question: str, answer: str) -> dict:
    return {
        "include": "_template",
        "task": f"prom_{FAMILY}_{lang}",
        "dataset_name": f"indicqa.{lang}",
        "dataset_kwargs": {"family": FAMILY, "lang": lang, "split": SPLIT, "data_source": SOURCE, "data_revision": REVISION},
        "doc_to_text": f"{context}: {{{{context}}}}\n\n{question}: {{{{question}}}}\n\n{answer}:",
        # The answer is a span of the context, on the answer line: stop at the end of that line.
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": MAX_GEN_TOKS, "do_sample": False},
        "metadata": {"version": VERSION},
    }


def main() -> None:
    write_task_yamls(__file__, {f"prom_{FAMILY}_{lang}": task_config(lang, *labels) for lang, labels in LABELS.items()})


if __name__ == "__main__":
    main()
