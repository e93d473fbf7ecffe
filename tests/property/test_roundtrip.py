"""Properties: apply(diff(a, b), a) == b, revert restores, and GNU patch agrees on shifted files."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fakesite import make_diff, make_site, snapshot, write_patch
from sitepatch.parse import parse_patch
from sitepatch.plan import apply_file_patch

HEADER = b"Subject: p\nPackage: demo\nVersions: >=0\n\n"

# Small alphabets make repeated lines, and so offsets and near-ambiguities, likely.
line = st.sampled_from([b"a", b"b", b"c", b"def f():", b"    return 1", b"", b"x = 1", b"# note", b"caf\xe9"])
lines = st.lists(line, min_size=0, max_size=30)
endings = st.sampled_from([b"\n", b"\r\n"])


def join(items: list[bytes], eol: bytes, *, final: bool) -> bytes:
    text = eol.join(items)
    return text + eol if items and final else text


@st.composite
def file_pairs(draw: st.DrawFn) -> tuple[bytes, bytes]:
    old = draw(lines)
    new = list(old)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(new)))
        if op == "insert":
            new.insert(at, draw(line))
        elif new and at < len(new):
            if op == "delete":
                del new[at]
            else:
                new[at] = draw(line)
    eol = draw(endings)
    return join(old, eol, final=draw(st.booleans())), join(new, eol, final=draw(st.booleans()))


def apply_bytes(old: bytes, diff: bytes, *, max_fuzz: int = 0) -> tuple[bytes | None, str]:
    patch = parse_patch(HEADER + diff, path=Path("0001-p.diff"))
    result, _, status = apply_file_patch(old, patch.files[0], max_fuzz=max_fuzz)
    return result, status


@given(file_pairs(), st.integers(0, 3))
def test_applying_a_diff_of_a_and_b_to_a_gives_b(pair: tuple[bytes, bytes], context: int) -> None:
    old, new = pair
    assume(old != new)
    diff = make_diff(old, new, "m.py", context=context)
    result, status = apply_bytes(old, diff)
    if status == "applied":
        assert result == new
    else:
        # Without context, a hunk may legitimately be ambiguous or already look applied; with context it must apply.
        assert context == 0


@given(file_pairs())
def test_a_diff_applied_twice_is_already_applied_the_second_time(pair: tuple[bytes, bytes]) -> None:
    old, new = pair
    assume(old != new)
    diff = make_diff(old, new, "m.py")
    result, status = apply_bytes(old, diff)
    assume(status == "applied")
    assert result is not None
    again, status = apply_bytes(result, diff)
    if status == "applied":
        # Allowed only where the patched file still holds the pre-image where the hunk goes, so that it is
        # also a file the patch applies to (``b b b`` + ``+b`` on top): GNU patch and git apply apply it too.
        patch = parse_patch(HEADER + diff, path=Path("0001-p.diff"))
        _, hunks, _ = apply_file_patch(result, patch.files[0], max_fuzz=0)
        assert all(h.offset == 0 and h.fuzz == 0 for h in hunks)
    else:
        assert status in ("already-applied", "failed")
        assert again == result


@given(file_pairs())
def test_revert_after_apply_restores_the_original_bytes(pair: tuple[bytes, bytes]) -> None:
    old, new = pair
    assume(old != new)
    from sitepatch.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        site = make_site(root / "site", {"demo/m.py": old})
        write_patch(root / "patches", "0001-p.diff", make_diff(old, new, "demo/m.py"))
        before = snapshot(site)
        args = ["--site-packages", str(site), "--patches", str(root / "patches"), "--json"]
        assert main(["apply", *args]) == 0
        assert (site / "demo/m.py").read_bytes() == new
        assert main(["revert", *args]) == 0
        assert snapshot(site) == before


GNU_PATCH = shutil.which("patch")


def gnu_apply(old: bytes, diff: bytes, *, fuzz: int) -> bytes | None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "m.py").write_bytes(old)
        done = subprocess.run(
            [
                GNU_PATCH or "patch",
                "-p1",
                "-N",
                "-t",
                f"-F{fuzz}",
                "--no-backup-if-mismatch",
                "-r",
                "-",
                "-s",
                "--binary",
            ],
            input=diff,
            cwd=root,
            capture_output=True,
            check=False,
        )
        return (root / "m.py").read_bytes() if done.returncode == 0 else None


@pytest.mark.gnu_patch
@pytest.mark.skipif(GNU_PATCH is None, reason="GNU patch is not installed")
@given(file_pairs(), st.lists(line, min_size=1, max_size=8), st.integers(0, 30))
def test_unrelated_lines_above_a_hunk_give_the_same_result_as_gnu_patch(
    pair: tuple[bytes, bytes], noise: list[bytes], where: int
) -> None:
    old, new = pair
    assume(old != new)
    eol = b"\r\n" if b"\r\n" in old + new else b"\n"
    # Documented difference: a line marked "No newline at end of file" that no longer ends the file gets the
    # file's own line ending from us, and always LF from GNU patch. Compare files that end with a newline.
    assume(all(not text or text.endswith(eol) for text in (old, new)))
    diff = make_diff(old, new, "m.py")
    old_lines = old.split(eol)
    where = min(where, len(old_lines))
    # Noise goes above the first changed line, so only offsets change.
    first_change = next((i for i, (a, b) in enumerate(zip(old.split(eol), new.split(eol), strict=False)) if a != b), 0)
    where = min(where, first_change)
    shifted = eol.join(old_lines[:where] + noise + old_lines[where:])
    ours, status = apply_bytes(shifted, diff)
    theirs = gnu_apply(shifted, diff, fuzz=0)
    if status == "applied":
        assert theirs == ours
    elif status == "failed" and theirs is not None:
        # The only allowed disagreement: we refuse hunks GNU patch places by guessing (ambiguous matches).
        patch = parse_patch(HEADER + diff, path=Path("0001-p.diff"))
        _, hunks, _ = apply_file_patch(shifted, patch.files[0], max_fuzz=0)
        assert any(h.status in ("ambiguous", "already-applied") for h in hunks)
