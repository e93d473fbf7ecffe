"""The readers ``status`` uses instead of json, packaging and re give exactly their results (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name as packaging_canonicalize_name
from packaging.version import InvalidVersion, Version

from fakesite import SOURCE, make_diff, write_patch
from sitepatch._installed import canonicalize_name, normal_version
from sitepatch._jsonload import loads

DOCUMENTS = [
    '{"schema_version": 1, "files": [{"path": "a/b.py", "pre_mode": null}]}',
    '  [1, 2.5, -3e2, true, false, null, "\\u00e9\\n"]  \n',
    '"\\ud800"',
    "NaN",
    "-Infinity",
    "1e400",
    '{"a": 1, "a": 2}',
    "",
    " ",
    "{",
    "[1,]",
    '{"a": 1} x',
    "\ufeff{}",
    '"a\tb"',
    "[" * 3 + "]" * 2,
]


def outcome(text: str, decode: object) -> tuple[str, str]:
    try:
        return ("value", repr(decode(text)))  # type: ignore[operator]
    except ValueError as err:
        return (type(err).__name__, str(err))


@pytest.mark.parametrize("text", [pytest.param(t, id=repr(t)) for t in DOCUMENTS])
def test_the_manifest_decoder_gives_json_loads_result_or_error(text: str) -> None:
    assert outcome(text, loads) == outcome(text, json.loads)


VERSIONS = ["1.80.10", "0", "0.1.25", "01.2", "1.0.0", "1.0-post1", "1.0.dev0", "v1.0", " 1.0 ", "1!2.0", "1.0+local",
            "1..0", "1.", ".1", "", "x", "1.0a", "\u0661.\u0662", "\u00b2"]  # fmt: skip


@pytest.mark.parametrize("text", [pytest.param(t, id=repr(t)) for t in VERSIONS])
def test_a_version_is_normalised_as_packaging_does(text: str) -> None:
    try:
        expected: str | None = str(Version(text))
    except InvalidVersion:
        expected = None
    assert normal_version(text) == expected


@pytest.mark.parametrize("name", ["LiteLLM_Enterprise", "a._-B", "a--b", "a__.__b", "x", "Foo.Bar", "-a-", "A.-_.b"])
def test_a_name_is_canonicalized_as_packaging_does(name: str) -> None:
    assert canonicalize_name(name) == packaging_canonicalize_name(name)


def test_file_digests_are_sha256_before_and_after_the_switch_to_hashlib(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import sys

    from sitepatch import disk

    sizes = (0, 1, 1000, 700_000, 700_000, 3_000_000, 5)
    blobs = [bytes(range(256)) * (size // 256) + b"x" * (size % 256) for size in sizes]
    expected = [hashlib.sha256(blob).hexdigest() for blob in blobs]
    # As in a status run: hashlib not loaded, the whole budget left.
    monkeypatch.delitem(sys.modules, "hashlib")
    monkeypatch.setattr(disk, "_SMALL_BUDGET", [1 << 20])
    assert [disk.file_digest(blob) for blob in blobs] == expected
    assert disk._SMALL is None or disk._SMALL_BUDGET == [0]


def test_a_patched_module_loses_its_own_bytecode_only(site: Path, patches: Path) -> None:
    from sitepatch.cli import main

    cache = site / "demo" / "__pycache__"
    cache.mkdir()
    names = [
        "mod.cpython-311.pyc",
        "mod.cpython-311.opt-1.pyc",
        "modx.cpython-311.pyc",
        "mod.pyc",
        "__init__.cpython-311.pyc",
    ]
    for name in names:
        (cache / name).write_bytes(b"stale")
    write_patch(patches, "0001-x.diff", make_diff(SOURCE, SOURCE.replace(b"line 20\n", b"line 2O\n"), "demo/mod.py"))
    assert main(["apply", "--site-packages", str(site), "--patches", str(patches)]) == 0
    assert sorted(p.name for p in cache.iterdir()) == ["__init__.cpython-311.pyc", "mod.pyc", "modx.cpython-311.pyc"]
