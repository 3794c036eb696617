"""The language table: one entry per language. Adding a language is adding one ``Language`` here.

``pivots_llama2_7b`` is the paper's regulation outcome for LLaMA2-7B (Table 1/2 asterisks: lambda = 0 for
ar, ta, ml, te). For any other model the probe (``prom-bench probe``) measures it instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from prom_bench.errors import UserError, unknown


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    name: str  # English name, as in prompts ("Translate ... from English to Thai.")
    native: str  # endonym
    script: str  # ISO 15924
    flores: str  # FLORES-200 code
    ntrex: str  # NTREX-128 file suffix (newstest2019-ref.<ntrex>.txt)
    tasks: tuple[str, ...]  # lm-eval tasks in tasks/ that cover it (the paper's cells; controls for en)
    pivots_llama2_7b: bool | None  # the paper's regulation outcome; None where the paper has none


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("ar", "Arabic", "العربية", "Arab", "arb_Arab", "arb", ("prom_xquad_ar", "prom_mlqa_ar"), False),
        Language("bn", "Bengali", "বাংলা", "Beng", "ben_Beng", "ben", ("prom_mgsm_bn",), True),
        Language("el", "Greek", "Ελληνικά", "Grek", "ell_Grek", "ell", ("prom_xquad_el",), True),
        Language("ml", "Malayalam", "മലയാളം", "Mlym", "mal_Mlym", "mal", ("prom_indicqa_ml",), False),
        Language("mr", "Marathi", "मराठी", "Deva", "mar_Deva", "mar", ("prom_indicqa_mr",), True),
        Language("sw", "Swahili", "Kiswahili", "Latn", "swh_Latn", "swa", ("prom_mgsm_sw",), True),
        Language("ta", "Tamil", "தமிழ்", "Taml", "tam_Taml", "tam", ("prom_indicqa_ta",), False),
        Language("te", "Telugu", "తెలుగు", "Telu", "tel_Telu", "tel", ("prom_mgsm_te",), False),
        Language("th", "Thai", "ไทย", "Thai", "tha_Thai", "tha", ("prom_xquad_th", "prom_mgsm_th"), True),
        Language("en", "English", "English", "Latn", "eng_Latn", "eng-US", ("prom_xquad_en", "prom_mgsm_en"), None),
    )
}

PAPER_LANGS: tuple[str, ...] = ("ar", "bn", "el", "ml", "mr", "sw", "ta", "te", "th")
PIVOT = "en"  # the pivot language of an English-centric model

# Unicode blocks of each script: enough to tell a Thai string from a Tamil one, not a full UCD table.
SCRIPT_RANGES: dict[str, str] = {
    "Arab": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Beng": "\u0980-\u09ff",
    "Deva": "\u0900-\u097f\ua8e0-\ua8ff",
    "Grek": "\u0370-\u03ff\u1f00-\u1fff",
    "Latn": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "Mlym": "\u0d00-\u0d7f",
    "Taml": "\u0b80-\u0bff",
    "Telu": "\u0c00-\u0c7f",
    "Thai": "\u0e00-\u0e7f",
}
_SCRIPT_RE = {script: re.compile(f"[{ranges}]") for script, ranges in SCRIPT_RANGES.items()}


def get(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise unknown("language", code, LANGUAGES) from None


def parse_langs(spec: str | list[str] | tuple[str, ...], *, allow_english: bool = False) -> list[str]:
    """``"all"`` (the paper's nine), or a comma list of codes; order kept, duplicates dropped."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    codes: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        expanded = PAPER_LANGS if item == "all" else (get(item).code,)
        for code in expanded:
            if code == PIVOT and not allow_english:
                raise UserError(
                    "language 'en' is the pivot, not a target; valid targets: all, " + ", ".join(PAPER_LANGS)
                )
            if code not in codes:
                codes.append(code)
    if not codes:
        raise UserError(f"no language given in '{spec}'; valid: all, " + ", ".join(LANGUAGES))
    return codes


def script_share(text: str, script: str) -> float:
    """Share of the letters of ``text`` that belong to ``script`` (digits, spaces, punctuation ignored)."""
    letters = [ch for ch in text if unicodedata.category(ch)[0] in "LM"]
    if not letters:
        return 1.0
    pattern = _SCRIPT_RE[script]
    return sum(1 for ch in letters if pattern.match(ch)) / len(letters)


def in_script(text: str, lang: str, threshold: float = 0.5) -> bool:
    """Whether most letters of ``text`` are in the script of ``lang`` (names and loanwords in Latin are fine)."""
    return script_share(text, get(lang).script) >= threshold
