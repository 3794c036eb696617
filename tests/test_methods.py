from __future__ import annotations

import pytest

from prom_bench import methods
from prom_bench.errors import UserError


def test_registry_matches_the_paper():
    assert methods.get("t").mixture == (methods.S_T, methods.S_E2T)
    assert (
        set(methods.get("t+e").mixture) == set(methods.get("prom").mixture) == {methods.S_E, methods.S_T, methods.S_E2T}
    )
    assert methods.get("prom").regulated and not methods.get("prom-noreg").regulated
    assert not methods.get("base").trains


@pytest.mark.parametrize(
    "alias, name",
    [
        ("xLLAMA2(t+e)", "t+e"),
        ("Bactrian+(t)", "t"),
        ("LLaMA2", "base"),
        ("PROM", "prom"),
        ("- regulation", "prom-noreg"),
    ],
)
def test_paper_names_are_aliases(alias, name):
    assert methods.get(alias).name == name


def test_parse_methods():
    assert methods.parse_methods("prom,t+e,prom") == ["prom", "t+e"]
    assert methods.parse_methods("all") == list(methods.METHODS)
    with pytest.raises(UserError, match="unknown method 'prm'.*did you mean 'prom'"):
        methods.parse_methods("prm")
