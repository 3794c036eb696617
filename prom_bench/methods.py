"""The method registry: each method is a data mixture plus an objective. Adding a method is one entry.

Data parts (the paper's notation): ``s_e`` English instructions, ``s_t`` their translation into the target
language, ``s_e2t`` English-to-target translation instructions built from parallel text.
"""

from __future__ import annotations

from dataclasses import dataclass

from prom_bench.errors import UserError, unknown

S_E, S_T, S_E2T = "s_e", "s_t", "s_e2t"


@dataclass(frozen=True)
class Method:
    name: str
    paper_name: str
    mixture: tuple[str, ...]  # data parts, in the order they are built
    objective: str  # "none" (no training), "sft", or "pivot"
    regulated: bool = False  # pivot weight lambda set to 0 where the model does not pivot through English
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def trains(self) -> bool:
        return self.objective != "none"


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "base",
            "LLaMA2",
            (),
            "none",
            aliases=("llama2", "base-model"),
            description="the model as it is, no training (the paper's 'LLaMA2' row)",
        ),
        Method(
            "t",
            "Bactrian+(t)",
            (S_T, S_E2T),
            "sft",
            aliases=("bactrian", "bactrian+(t)", "bactrian+t"),
            description="target-language instructions + English->target translation instructions, last-layer loss",
        ),
        Method(
            "t+e",
            "xLLAMA2(t+e)",
            (S_E, S_T, S_E2T),
            "sft",
            aliases=("xllama2", "xllama2(t+e)"),
            description="adds the English instructions to t, all through the last-layer loss",
        ),
        Method(
            "prom",
            "PROM",
            (S_E, S_T, S_E2T),
            "pivot",
            regulated=True,
            aliases=("PROM",),
            description="English through layer n (label-smoothed, weight lambda), target through the last layer; "
            "lambda = 0 where the probe finds no English pivot",
        ),
        Method(
            "prom-noreg",
            "- regulation",
            (S_E, S_T, S_E2T),
            "pivot",
            aliases=("prom-no-regulation", "- regulation"),
            description="PROM with lambda for every language (the paper's '- regulation' ablation)",
        ),
    )
}

_ALIASES = {alias.lower(): m.name for m in METHODS.values() for alias in (m.name, *m.aliases)}


def get(name: str) -> Method:
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        raise unknown("method", name, METHODS)
    return METHODS[key]


def parse_methods(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"all"`` or a comma list of names or paper aliases; canonical names, order kept."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        for name in METHODS if item == "all" else (get(item).name,):
            if name not in names:
                names.append(name)
    if not names:
        raise UserError(f"no method given in '{spec}'; valid: all, " + ", ".join(METHODS))
    return names
