"""Differential fuzzing against GNU patch: random files, edits, shifts, context damage, already-applied files.

Every case is applied by sitepatch (in memory) and by GNU patch (``patch -p1 -N -t -F<f> --binary``) at fuzz 0
and fuzz 2; the verdicts (applied / already-applied / failed) and the resulting bytes are compared. A
disagreement must fall into one of the documented policy classes below, else the test fails with the case.

Sizes: ``SITEPATCH_DIFF_CASES`` cases per fuzz level (default 5000, so 10,000 in all). The counts of agreements
and of each disagreement class are written to ``reports/differential.json`` and printed.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fakesite import make_diff
from sitepatch.parse import parse_patch
from sitepatch.plan import apply_file_patch

GNU_PATCH = shutil.which("patch")
CASES = int(os.environ.get("SITEPATCH_DIFF_CASES", "5000"))
HEADER = b"Subject: p\nPackage: demo\nVersions: >=0\n\n"
REPORT = Path(__file__).resolve().parents[2] / "reports" / "differential.json"

POLICY = {
    "ambiguous": "we refuse a hunk that matches at several places, none of them its own line; GNU patch takes the nearest",
    "no-newline-eol": "a line marked 'No newline at end of file' that no longer ends the file gets the file's EOL from us, LF from GNU patch",
    "crlf-context": "we compare context ignoring CRLF/LF; GNU patch (with --binary) compares bytes",
    "already-applied-per-hunk": "we detect already-applied hunks on every hunk (and refuse a partly applied file); GNU patch only reverses hunk #1 and applies the rest",
    "gnu-reapplies": "the patched file still holds a pre-image where GNU patch looks first, so it applies the patch again; we report already-applied",
    "post-image-at-own-line": "the hunk's post-image stands at its own line and its pre-image only at an offset: we report already-applied, GNU patch applies it at the offset",
    "context-free-hunk": "a hunk without context whose pre- or post-image is empty stands everywhere: we report it already applied or refuse it, GNU patch places it by offset",
}

STATS: Counter[str] = Counter()
EXAMPLES: dict[str, str] = {}


def _write_report() -> None:
    if not STATS:
        return
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps({"counts": dict(STATS), "policy": POLICY, "examples": EXAMPLES}, indent=2) + "\n")


atexit.register(_write_report)

line = st.sampled_from([b"a", b"b", b"c", b"def f():", b"    return 1", b"", b"x = 1", b"# note", b"caf\xe9", b"}"])
unique = st.integers(0, 10**6).map(lambda n: b"u%d" % n)
any_line = st.one_of(line, unique)


def join(items: list[bytes], eol: bytes, *, final: bool) -> bytes:
    text = eol.join(items)
    return text + eol if items and final else text


@st.composite
def cases(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, str]:
    """(target file, diff, new file, kind of perturbation)."""
    old = draw(st.lists(any_line, min_size=0, max_size=40))
    new = list(old)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(new)))
        if op == "insert":
            new.insert(at, draw(any_line))
        elif new and at < len(new):
            if op == "delete":
                del new[at]
            else:
                new[at] = draw(any_line)
    eol = draw(st.sampled_from([b"\n"] * 9 + [b"\r\n"]))
    old_b = join(old, eol, final=draw(st.booleans()) or not old)
    new_b = join(new, eol, final=draw(st.booleans()) or not new)
    context = draw(st.sampled_from([3, 3, 3, 2, 1]))
    diff = make_diff(old_b, new_b, "m.py", context=context)
    kind = draw(st.sampled_from(["exact", "shift", "shift", "damage", "damage", "applied", "mixed-eol"]))
    target = list(old)
    if kind == "applied":
        return new_b, diff, new_b, kind
    if kind == "shift":
        for _ in range(draw(st.integers(1, 4))):
            target.insert(draw(st.integers(0, len(target))), draw(any_line))
    elif kind == "damage" and target:
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(target) - 1))
            target[at] = draw(any_line)
    elif kind == "mixed-eol":
        other = b"\r\n" if eol == b"\n" else b"\n"
        text = join(target, other, final=old_b.endswith(eol) or not old)
        return text, diff, new_b, kind
    return join(target, eol, final=old_b.endswith(eol) or not old), diff, new_b, kind


def ours(target: bytes, diff: bytes, fuzz: int) -> tuple[str, bytes | None, set[str]]:
    patch = parse_patch(HEADER + diff, path=Path("0001-p.diff"))
    result, hunks, status = apply_file_patch(target, patch.files[0], max_fuzz=fuzz)
    return status, result if status == "applied" else None, {h.status for h in hunks}


def gnu(target: bytes, diff: bytes, fuzz: int) -> tuple[str, bytes | None]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "m.py").write_bytes(target)
        done = subprocess.run(
            [GNU_PATCH or "patch", "-p1", "-N", "-t", f"-F{fuzz}", "--no-backup-if-mismatch", "-r", "-", "--binary"],
            input=diff,
            cwd=root,
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return "applied", (root / "m.py").read_bytes()
        if b"Reversed (or previously applied) patch detected" in done.stdout:
            return "already-applied", None
        return "failed", None


def _context_free(diff: bytes) -> bool:
    patch = parse_patch(HEADER + diff, path=Path("0001-p.diff"))
    return any(
        not h.leading_context and not h.trailing_context and (not h.source_lines() or not h.target_lines())
        for h in patch.files[0].hunks
    )


def classify(target: bytes, diff: bytes, fuzz: int, kind: str) -> str:
    status, result, hunk_statuses = ours(target, diff, fuzz)
    theirs, gnu_result = gnu(target, diff, fuzz)
    if status == theirs and result == gnu_result:
        return "agree"
    crlf = b"\r\n" in target or b"\r\n" in diff
    if status == "applied" and theirs == "applied":
        assert result is not None
        assert gnu_result is not None
        if b"\\ No newline at end of file" in diff and result.replace(b"\r\n", b"\n") == gnu_result.replace(
            b"\r\n", b"\n"
        ):
            return "no-newline-eol"
        if crlf:
            return "crlf-context"
        return "UNEXPLAINED applied-different-bytes"
    if "ambiguous" in hunk_statuses and theirs in ("applied", "already-applied"):
        return "ambiguous"
    if crlf and status != theirs:
        return "crlf-context"
    if status == "already-applied" and theirs == "applied":
        return "gnu-reapplies" if kind == "applied" else "post-image-at-own-line"
    if _context_free(diff):
        return "context-free-hunk"
    if status == "failed" and "already-applied" in hunk_statuses and theirs in ("applied", "already-applied", "failed"):
        return "already-applied-per-hunk"
    if status == "already-applied" and theirs == "failed":
        return "already-applied-per-hunk"
    return f"UNEXPLAINED ours={status} gnu={theirs}"


def check(case: tuple[bytes, bytes, bytes, str], fuzz: int) -> None:
    target, diff, _new, kind = case
    assume(diff)
    verdict = classify(target, diff, fuzz, kind)
    STATS["cases"] += 1
    STATS[f"fuzz{fuzz}:{verdict}"] += 1
    if verdict != "agree":
        EXAMPLES.setdefault(verdict, repr((kind, fuzz, target, diff)))
    assert not verdict.startswith("UNEXPLAINED"), (verdict, kind, target, diff)


pytestmark = [
    pytest.mark.slow,
    pytest.mark.gnu_patch,
    pytest.mark.skipif(GNU_PATCH is None, reason="GNU patch is not installed"),
]
SETTINGS = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@SETTINGS
@given(cases())
def test_sitepatch_agrees_with_gnu_patch_at_fuzz_0_or_differs_by_policy(case: tuple[bytes, bytes, bytes, str]) -> None:
    check(case, 0)


@SETTINGS
@given(cases())
def test_sitepatch_agrees_with_gnu_patch_at_fuzz_2_or_differs_by_policy(case: tuple[bytes, bytes, bytes, str]) -> None:
    check(case, 2)


def test_report_the_counts() -> None:
    _write_report()
    print(json.dumps(dict(sorted(STATS.items())), indent=1))
