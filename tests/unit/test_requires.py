"""``Requires:`` items are read as ``packaging.requirements.Requirement`` reads them (sitepatch.parse)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from packaging.requirements import Requirement

from sitepatch.model import Requires
from sitepatch.parse import parse_requires

ITEMS = [
    "litellm>=1.80.10,<1.80.16",
    "litellm-enterprise>=0.1.25",
    "LiteLLM_Enterprise==0.1.*",
    "a.b-c~=1.4.2",
    "x!=1.0,>=0.9",
    "x===weird",
    "x>=1,,<2",
    "x>=1,",
    "x>=",
    "x>=1.0.0a1",
    "x<=v1",
    "x>=1 ,<2",
    "x (>=1)",
    "x[extra]>=1",
    "x @ https://example.invalid/x.whl",
    "x",
    "-x>=1",
    "x-->=1",
    "x>=1.0+local",
    "x==1.0+local",
    "x>=not a version",
    "x>=1;",
]


def read(text: str, parse: Callable[[str], Requires | Requirement]) -> tuple[str, object, str]:
    """What a Requires item reads as (name, specifier, how it is shown), or the error message."""
    try:
        item = parse(text)
    except ValueError as err:
        return ("error", None, str(err))
    return (item.name, item.specifier, str(item))


@pytest.mark.parametrize("text", [pytest.param(t, id=t) for t in ITEMS])
def test_a_requires_item_reads_as_packaging_reads_it(text: str) -> None:
    assert read(text, parse_requires) == read(text, Requirement)
