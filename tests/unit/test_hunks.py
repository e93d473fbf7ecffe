"""Placing hunks: exact, offset, fuzz, ambiguity, already-applied, line endings (pure, in memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakesite import make_diff
from sitepatch.locate import Ambiguous, Image, Placement, locate
from sitepatch.model import FilePatch
from sitepatch.parse import parse_patch
from sitepatch.plan import apply_file_patch

HEADER = b"Subject: t\nPackage: demo\nVersions: >=0\n\n"
BASE = b"".join(f"line {i}\n".encode() for i in range(1, 41))


def file_patch(diff: bytes) -> FilePatch:
    return parse_patch(HEADER + diff, path=Path("0001-t.diff")).files[0]


def change(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_an_exact_hunk_applies_at_its_line() -> None:
    new = change(BASE, b"line 20\n", b"line twenty\n")
    result, hunks, status = apply_file_patch(BASE, file_patch(make_diff(BASE, new, "m.py")), max_fuzz=0)
    assert (result, status) == (new, "applied")
    assert [(h.status, h.line, h.offset, h.fuzz) for h in hunks] == [("applied", 17, 0, 0)]


def test_an_offset_is_found_and_carried_to_the_next_hunk() -> None:
    new = change(change(BASE, b"line 10\n", b"ten\n"), b"line 30\n", b"thirty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    shifted = b"extra 1\nextra 2\nextra 3\n" + BASE
    result, hunks, status = apply_file_patch(shifted, fp, max_fuzz=0)
    assert status == "applied"
    assert result == b"extra 1\nextra 2\nextra 3\n" + new
    assert [(h.line, h.offset) for h in hunks] == [(10, 3), (30, 3)]
    assert hunks[1].expected_line == 30  # header line 27 plus the carried offset 3


def test_fuzz_is_refused_by_default_and_ignores_outer_context_when_allowed() -> None:
    new = change(BASE, b"line 20\n", b"line twenty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    damaged = change(change(BASE, b"line 17\n", b"LINE 17\n"), b"line 23\n", b"LINE 23\n")
    _, hunks, status = apply_file_patch(damaged, fp, max_fuzz=0)
    assert status == "failed"
    assert hunks[0].status == "failed"
    assert hunks[0].nearest_line == 17
    assert hunks[0].actual[0] == "LINE 17"
    result, hunks, status = apply_file_patch(damaged, fp, max_fuzz=1)
    assert status == "applied"
    assert (hunks[0].fuzz, hunks[0].line) == (1, 17)
    assert result == change(damaged, b"line 20\n", b"line twenty\n")  # the file's own context is kept


def test_fuzz_never_ignores_a_removed_line() -> None:
    new = change(BASE, b"line 20\n", b"line twenty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    damaged = change(BASE, b"line 20\n", b"other\n")
    assert apply_file_patch(damaged, fp, max_fuzz=3)[2] == "failed"


@pytest.mark.parametrize("inner", [b"line 19\n", b"line 21\n"])
def test_fuzz_two_never_ignores_the_innermost_context(inner: bytes) -> None:
    new = change(BASE, b"line 20\n", b"line twenty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    assert apply_file_patch(change(BASE, inner, b"other\n"), fp, max_fuzz=2)[2] == "failed"


def test_fuzz_two_lets_only_the_innermost_context_match() -> None:
    new = change(BASE, b"line 20\n", b"line twenty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    damaged = BASE
    for n in (17, 18, 22, 23):
        damaged = change(damaged, f"line {n}\n".encode(), f"LINE {n}\n".encode())
    assert apply_file_patch(damaged, fp, max_fuzz=1)[2] == "failed"
    _, hunks, status = apply_file_patch(damaged, fp, max_fuzz=2)
    assert (status, hunks[0].fuzz) == ("applied", 2)
    damaged = change(damaged, b"line 19\n", b"LINE 19\n")
    assert apply_file_patch(damaged, fp, max_fuzz=2)[2] == "failed"


def test_a_hunk_matching_twice_away_from_its_line_is_ambiguous() -> None:
    block = b"a\nb\nc\nd\ne\nf\ng\n"
    data = b"x\n" * 10 + block + b"y\n" * 10 + block + b"z\n" * 10
    fp = file_patch(b"--- a/m.py\n+++ b/m.py\n@@ -50,7 +50,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n")
    result, hunks, status = apply_file_patch(data, fp, max_fuzz=0)
    assert status == "failed"
    assert result == data
    assert hunks[0].status == "ambiguous"
    assert hunks[0].candidates == (11, 28)


def test_a_repeated_context_is_fine_when_one_match_is_at_the_expected_line() -> None:
    block = b"a\nb\nc\nd\ne\nf\ng\n"
    data = b"x\n" * 10 + block + b"y\n" * 10 + block
    fp = file_patch(b"--- a/m.py\n+++ b/m.py\n@@ -28,7 +28,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n")
    result, hunks, status = apply_file_patch(data, fp, max_fuzz=0)
    assert status == "applied"
    assert hunks[0].line == 28
    assert result == b"x\n" * 10 + block + b"y\n" * 10 + block.replace(b"d\n", b"D\n")


def test_an_applied_patch_is_detected_as_already_applied() -> None:
    new = change(change(BASE, b"line 10\n", b"ten\n"), b"line 30\n", b"thirty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    result, hunks, status = apply_file_patch(new, fp, max_fuzz=0)
    assert (result, status) == (new, "already-applied")
    assert {h.status for h in hunks} == {"already-applied"}


def test_a_partly_applied_patch_fails_and_names_its_hunks() -> None:
    new = change(change(BASE, b"line 10\n", b"ten\n"), b"line 30\n", b"thirty\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    half = change(BASE, b"line 10\n", b"ten\n")
    result, hunks, status = apply_file_patch(half, fp, max_fuzz=0)
    assert (result, status) == (half, "failed")
    assert [h.status for h in hunks] == ["already-applied", "applied"]


def test_an_insertion_already_present_is_not_inserted_twice() -> None:
    new = change(BASE, b"line 20\n", b"line 20\ninserted\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    assert apply_file_patch(new, fp, max_fuzz=0)[2] == "already-applied"


def test_crlf_files_take_patches_made_on_lf_and_keep_crlf() -> None:
    new = change(BASE, b"line 20\n", b"line twenty\nline new\n")
    fp = file_patch(make_diff(BASE, new, "m.py"))
    crlf = BASE.replace(b"\n", b"\r\n")
    result, _, status = apply_file_patch(crlf, fp, max_fuzz=0)
    assert status == "applied"
    assert result == new.replace(b"\n", b"\r\n")


def test_no_newline_at_end_of_file_is_honoured_both_ways() -> None:
    old, new = b"a\nb\nc", b"a\nb\nc\nd\n"
    result, _, status = apply_file_patch(old, file_patch(make_diff(old, new, "m.py")), max_fuzz=0)
    assert (result, status) == (new, "applied")
    result, _, status = apply_file_patch(new, file_patch(make_diff(new, old, "m.py")), max_fuzz=0)
    assert (result, status) == (old, "applied")


def test_bytes_that_are_not_utf8_survive() -> None:
    old = b"caf\xe9\n\xff\xfe\nend\n"
    new = b"caf\xe9\n\xff\xfe changed\nend\n"
    result, _, status = apply_file_patch(old, file_patch(make_diff(old, new, "m.py")), max_fuzz=0)
    assert (result, status) == (new, "applied")


def test_a_hunk_with_less_leading_context_is_anchored_to_the_start() -> None:
    data = b"a\nb\nc\nd\n"
    fp = file_patch(b"--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n-a\n+A\n b\n c\n")
    assert apply_file_patch(data, fp, max_fuzz=0)[0] == b"A\nb\nc\nd\n"
    assert apply_file_patch(b"z\n" + data, fp, max_fuzz=0)[2] == "failed"


def test_a_hunk_with_less_trailing_context_is_anchored_to_the_end() -> None:
    data = b"a\nb\nc\nd\n"
    fp = file_patch(b"--- a/m.py\n+++ b/m.py\n@@ -2,3 +2,3 @@\n b\n c\n-d\n+D\n")
    assert apply_file_patch(data, fp, max_fuzz=0)[0] == b"a\nb\nc\nD\n"
    assert apply_file_patch(data + b"e\n", fp, max_fuzz=0)[2] == "failed"


def test_locate_prefers_the_expected_line_and_reports_offsets() -> None:
    image = Image(b"x\ny\nx\ny\n")
    found = locate(image, [b"x", b"y"], leading=0, trailing=0, header_start=3, expected=2, lowest=0, max_fuzz=0)
    assert found == Placement(start=2, offset=0, fuzz=0, top=0, bottom=0, length=2)
    found = locate(image, [b"x", b"y"], leading=0, trailing=0, header_start=9, expected=8, lowest=0, max_fuzz=0)
    assert found == Ambiguous(fuzz=0, candidates=(0, 2))
    found = locate(image, [b"x", b"y"], leading=0, trailing=0, header_start=9, expected=8, lowest=1, max_fuzz=0)
    assert isinstance(found, Placement)
    assert (found.start, found.offset) == (2, -6)


@pytest.mark.parametrize("max_fuzz", [0, 2])
def test_a_new_file_is_built_from_the_hunk(max_fuzz: int) -> None:
    fp = file_patch(make_diff(None, b"one\ntwo", "new.py"))
    assert apply_file_patch(None, fp, max_fuzz=max_fuzz)[:3:2] == (b"one\ntwo", "applied")
