from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from fakesite import make_diff
from sitepatch.errors import PatchParseError, PatchSetError, TargetError
from sitepatch.model import FileKind, LineKind
from sitepatch.parse import load_patches, parse_patch

HEADER = b"Subject: Fix\nPackage: Demo_Pkg\nVersions: >=1.0,<2\n\n"
DIFF = make_diff(b"a\nb\nc\n", b"a\nB\nc\n", "demo/mod.py")


def parse(data: bytes, name: str = "0001-fix.diff"):
    return parse_patch(data, path=Path("patches") / name)


def error_of(data: bytes, name: str = "0001-fix.diff") -> PatchParseError:
    with pytest.raises(PatchParseError) as info:
        parse(data, name)
    return info.value


def test_a_well_formed_patch_gives_its_header_files_and_hunks() -> None:
    patch = parse(HEADER + DIFF)
    assert patch.number == "0001"
    assert patch.variant == ""
    assert patch.package == "demo-pkg"
    assert patch.versions.contains(Version("1.5"))
    assert not patch.versions.contains(Version("2.0"))
    (fp,) = patch.files
    assert fp.kind is FileKind.MODIFY
    assert fp.path == "demo/mod.py"
    (hunk,) = fp.hunks
    assert [(ln.kind, ln.text) for ln in hunk.lines] == [
        (LineKind.CONTEXT, b"a"),
        (LineKind.REMOVED, b"b"),
        (LineKind.ADDED, b"B"),
        (LineKind.CONTEXT, b"c"),
    ]
    assert hunk.diff_line_no == 7  # 4 header lines, then ---, +++, @@
    assert hunk.lines[1].diff_line_no == 9


def test_the_variant_comes_from_the_file_name() -> None:
    patch = parse(HEADER + DIFF, "0004-retrieve+enterprise-only.diff")
    assert (patch.number, patch.variant) == ("0004", "enterprise-only")


def test_continuation_lines_extend_a_field_and_a_dot_is_an_empty_line() -> None:
    data = b"Subject: Fix\nPackage: demo\nVersions: >=1\nDescription: first\n second\n .\n third\n\n" + DIFF
    assert parse(data).header.get("description") == "first\nsecond\n\nthird"


def test_optional_fields_are_parsed() -> None:
    data = (
        b"Subject: Fix\nPackage: demo\nVersions: >=1\nApplied-Upstream: 1.80.16 (PR 1)\n"
        b"Requires: other>=0.1.25,<0.1.28\nTest: tests/a.py::t tests/b.py\n\n" + DIFF
    )
    patch = parse(data)
    assert patch.applied_upstream == Version("1.80.16")
    assert [str(r) for r in patch.requires] == ["other<0.1.28,>=0.1.25"]
    assert patch.tests == ("tests/a.py::t", "tests/b.py")


@pytest.mark.parametrize(
    ("data", "line", "text"),
    [
        pytest.param(
            b"Package: demo\nVersions: >=1\n\n" + DIFF, 1, "missing required header field 'Subject:'", id="no subject"
        ),
        pytest.param(
            b"Subject: x\nPackage: demo\nVersions: 1.80.10\n\n" + DIFF,
            3,
            "did you mean '==1.80.10'?",
            id="bare version",
        ),
        pytest.param(
            b"Subject: x\nPackage: demo\nVersions: >=banana\n\n" + DIFF, 3, "PEP 440 specifier", id="bad specifier"
        ),
        pytest.param(
            b"Subject: x\nPackage: demo\nVersions: >=1\nVersion: 2\n\n" + DIFF,
            4,
            "did you mean 'Versions'?",
            id="typo key",
        ),
        pytest.param(b"Subject: x\nSubject: y\nPackage: demo\nVersions: >=1\n\n" + DIFF, 2, "given twice", id="twice"),
        pytest.param(
            b"Subject: x\nPackage: demo\nVersions: >=1\nRequires: ???\n\n" + DIFF,
            4,
            "not a valid requirement",
            id="requires",
        ),
        pytest.param(
            b" x\nSubject: x\nPackage: demo\nVersions: >=1\n\n" + DIFF, 1, "continuation line", id="continuation first"
        ),
        pytest.param(
            b"Subject: x\nPackage: demo\nVersions: >=1\nApplied-Upstream: soon\n\n" + DIFF,
            4,
            "Applied-Upstream",
            id="upstream",
        ),
        pytest.param(
            b"Subject: x\nPackage: demo\nVersions: >=1\nthis is prose\n\n" + DIFF,
            4,
            "expected a header field",
            id="prose",
        ),
    ],
)
def test_header_problems_name_the_line(data: bytes, line: int, text: str) -> None:
    err = error_of(data)
    assert err.line == line
    assert text in str(err)
    assert str(err).startswith(f"patches/0001-fix.diff:{line}: ")


def test_several_header_problems_are_reported_together() -> None:
    with pytest.raises(PatchSetError) as info:
        parse(b"Subject: x\nVersion: 1\n\n" + DIFF)
    assert len(info.value.problems) == 3  # unknown key, missing Package, missing Versions


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        pytest.param(b"", 5, "header but no diff", id="header only"),
        pytest.param(
            b"--- a/demo/x.py\n+++ b/demo/x.py\n@@ -1,3 +1,3 @@\n a\n-b\n", 7, "malformed diff", id="truncated hunk"
        ),
        pytest.param(
            b"--- a/demo/x.py\n+++ b/demo/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n c\n d\n",
            11,
            "more lines than its @@ header",
            id="hunk too long",
        ),
        pytest.param(b"--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", 5, "absolute path", id="absolute"),
        pytest.param(b"--- a/../x.py\n+++ b/../x.py\n@@ -1 +1 @@\n-a\n+b\n", 5, "unsafe path", id="dotdot"),
        pytest.param(b"--- x.py\n+++ x.py\n@@ -1 +1 @@\n-a\n+b\n", 5, "a/ or b/ prefix", id="no prefix"),
        pytest.param(b'--- "a/x\\ty.py"\n+++ "b/x\\ty.py"\n@@ -1 +1 @@\n-a\n+b\n', 5, "quoted", id="quoted"),
        pytest.param(
            b"diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\nliteral 1\nIcmZ?l0000\n\n",
            5,
            "binary",
            id="git binary",
        ),
        pytest.param(b"Binary files a/x.bin and b/x.bin differ\n", 5, "binary", id="binary differ"),
        pytest.param(
            b"diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+target\n\\ No newline at end of file\n",
            5,
            "symbolic link",
            id="symlink",
        ),
        pytest.param(
            b"--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n--- a/x.py\n+++ b/x.py\n@@ -3 +3 @@\n-c\n+d\n",
            10,
            "appears twice",
            id="duplicate",
        ),
        pytest.param(b"--- a/x.py\r\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n", 6, "mixed line endings", id="mixed crlf"),
        pytest.param(
            b"--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-" + b"a" * (1 << 20) + b"\n+b\n", 8, "byte limit", id="huge line"
        ),
    ],
)
def test_diff_problems_name_the_line(body: bytes, line: int, text: str) -> None:
    err = error_of(HEADER + body)
    assert text in str(err)
    assert err.line == line


def test_an_empty_file_and_a_bad_name_are_refused() -> None:
    assert "empty" in str(error_of(b""))
    assert "NNNN-slug.diff" in str(error_of(HEADER + DIFF, "fix.diff"))


def test_non_utf8_bytes_round_trip() -> None:
    diff = make_diff(b"caf\xe9\nx\n", b"caf\xe9\ny\n", "demo/latin1.txt")
    patch = parse(HEADER + diff)
    texts = [ln.text for ln in patch.files[0].hunks[0].lines]
    assert texts == [b"caf\xe9", b"x", b"y"]


def test_no_newline_markers_attach_to_the_line_before() -> None:
    diff = make_diff(b"a\nb", b"a\nc", "demo/x.txt")
    lines = parse(HEADER + diff).files[0].hunks[0].lines
    assert [(ln.text, ln.eol) for ln in lines] == [(b"a", b"\n"), (b"b", b""), (b"c", b"")]


def test_crlf_content_lines_keep_their_ending() -> None:
    diff = make_diff(b"a\r\nb\r\n", b"a\r\nc\r\n", "demo/x.txt")
    lines = parse(HEADER + diff).files[0].hunks[0].lines
    assert {ln.eol for ln in lines} == {b"\r\n"}


def test_git_headers_give_create_delete_rename_and_modes() -> None:
    body = (
        b"diff --git a/demo/new.py b/demo/new.py\nnew file mode 100755\nindex 0000000..1111111\n"
        b"--- /dev/null\n+++ b/demo/new.py\n@@ -0,0 +1 @@\n+x\n"
        b"diff --git a/demo/old.py b/demo/old.py\ndeleted file mode 100644\nindex 1111111..0000000\n"
        b"--- a/demo/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n"
        b"diff --git a/demo/a.py b/demo/b.py\nsimilarity index 100%\nrename from demo/a.py\nrename to demo/b.py\n"
        b"diff --git a/demo/run.sh b/demo/run.sh\nold mode 100644\nnew mode 100755\n"
    )
    files = parse(HEADER + body).files
    assert [(f.kind, f.source_path, f.target_path) for f in files] == [
        (FileKind.CREATE, None, "demo/new.py"),
        (FileKind.DELETE, "demo/old.py", None),
        (FileKind.RENAME, "demo/a.py", "demo/b.py"),
        (FileKind.MODIFY, "demo/run.sh", "demo/run.sh"),
    ]
    assert files[0].new_mode == 0o100755
    assert (files[3].old_mode, files[3].new_mode) == (0o100644, 0o100755)


def test_load_patches_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    (tmp_path / "0001-a.diff").write_bytes(b"")
    (tmp_path / "0002-b.diff").write_bytes(HEADER)
    (tmp_path / "0003-c.diff").write_bytes(HEADER + DIFF)
    with pytest.raises(PatchSetError) as info:
        load_patches(tmp_path)
    assert len(info.value.problems) == 2
    assert "0001-a.diff" in info.value.problems[0]
    assert "0002-b.diff:5" in info.value.problems[1]


def test_load_patches_orders_by_name_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "0002-b.diff").write_bytes(HEADER + DIFF)
    (tmp_path / "0001-a.diff").write_bytes(HEADER + DIFF)
    (tmp_path / "README.md").write_text("notes")
    assert [p.name for p in load_patches(tmp_path)] == ["0001-a.diff", "0002-b.diff"]


def test_a_missing_patch_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="patch directory not found"):
        load_patches(tmp_path / "nope")
