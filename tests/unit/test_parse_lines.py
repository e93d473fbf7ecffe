"""The model's hunk lines are exactly the lines unidiff's full parse sees, though they are read from the bytes.

``sitepatch.parse`` lets unidiff check only the structure of a diff (``metadata_only``) and reads each hunk line
from the patch's bytes by position. The oracle here is unidiff's full parse, converted line by line.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from unidiff import PatchSet
from unidiff.constants import LINE_TYPE_EMPTY, LINE_TYPE_NO_NEWLINE
from unidiff.errors import UnidiffParseError

from sitepatch.errors import SitepatchError
from sitepatch.parse import parse_diff

REPO = Path(__file__).resolve().parents[2]
KINDS = {" ": "CONTEXT", "+": "ADDED", "-": "REMOVED"}


def oracle(data: bytes) -> list[list[tuple[str, bytes, bytes, int]]] | None:
    """Every hunk's lines as unidiff's full parse gives them: (kind, text, line ending, patch line)."""
    lines = [raw.decode("utf-8", "surrogateescape") for raw in data.splitlines(keepends=True)]
    try:
        patchset = PatchSet(iter(lines))
    except UnidiffParseError:
        return None
    hunks = []
    for patched_file in patchset:
        for hunk in patched_file:
            out: list[tuple[str, bytes, bytes, int]] = []
            for item in hunk:
                if item.line_type == LINE_TYPE_EMPTY:
                    continue
                if item.line_type == LINE_TYPE_NO_NEWLINE:
                    if out:
                        out[-1] = (*out[-1][:2], b"", out[-1][3])
                    continue
                raw = item.value.encode("utf-8", "surrogateescape")
                if raw.endswith(b"\r\n"):
                    text, eol = raw[:-2], b"\r\n"
                elif raw.endswith(b"\n"):
                    text, eol = raw[:-1], b"\n"
                else:
                    text, eol = raw, b"\n"
                out.append((KINDS[item.line_type], text, eol, item.diff_line_no))
            hunks.append(out)
    return hunks


def ours(data: bytes) -> list[list[tuple[str, bytes, bytes, int]]] | None:
    try:
        files = parse_diff(data, display="x.diff")
    except SitepatchError:
        return None
    return [[(ln.kind.name, ln.text, ln.eol, ln.diff_line_no) for ln in h.lines] for f in files for h in f.hunks]


def corpus() -> list[bytes]:
    found = sorted([*REPO.glob("patches/*.diff"), *REPO.glob("tests/data/**/*.diff")])
    return [path.read_bytes() for path in found]


def mutations(seeds: list[bytes], count: int) -> list[bytes]:
    rng = random.Random(11)
    inserts = [b"\n", b"\\ No newline at end of file\n", b" \n", b"+x\n", b"-y\n", b"\r\n", b"@@ -1 +1 @@\n", b"\\x\n"]
    cases = []
    small = [s for s in seeds if len(s) < 20000]
    for _ in range(count):
        lines = rng.choice(small).splitlines(keepends=True)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(lines) + 1)
            if rng.random() < 0.5 or not lines:
                lines.insert(at, rng.choice(inserts))
            else:
                j = min(at, len(lines) - 1)
                lines[j] = lines[j].replace(b"\n", b"\r\n") if rng.random() < 0.5 else lines[j].rstrip(b"\n")
        cases.append(b"".join(lines))
    return cases


def test_every_diff_in_the_repository_converts_to_unidiffs_own_lines() -> None:
    compared = 0
    for data in corpus():
        expected = oracle(data)
        if expected is not None and ours(data) is not None:
            assert ours(data) == expected
            compared += 1
    assert compared >= 10


@pytest.mark.parametrize("chunk", range(4))
def test_mutated_diffs_convert_to_unidiffs_own_lines_or_are_refused(chunk: int) -> None:
    seeds = corpus()
    for data in mutations(seeds, 400)[chunk * 100 : (chunk + 1) * 100]:
        mine = ours(data)
        if mine is not None:
            # Whatever sitepatch accepts, unidiff's full parse reads the same way.
            assert mine == oracle(data), data
