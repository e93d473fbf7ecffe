"""Regenerate the hostile corpus: ``python tests/data/bad/generate.py`` (rewrites every NNNN-*.diff here).

Each case is a patch file that sitepatch must refuse with an error naming the file and line, changing nothing.
``expected.tsv`` holds, per file: the line the error must name (0: the whole file) and a fragment of the
message. The target these run against is built by ``tests/unit/test_hostile.py`` (``demo`` 1.0 with
``demo/mod.py``, a symbolic link ``demo/linked.py`` and a directory link ``demo/outdir`` pointing out of the
target, and a second distribution ``other``).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
HEAD = b"Subject: hostile case\nPackage: demo\nVersions: >=1.0\n\n"  # 4 lines: the diff starts at line 5
SOURCE = [f"line {i}\n".encode() for i in range(1, 41)]


def hunk(start: int = 11, *, old: bytes | None = None, new: bytes = b"line eleven\n") -> bytes:
    """A valid 3+3 context hunk of demo/mod.py replacing line ``start`` (header ``@@ -start-3,7 +start-3,7 @@``)."""
    old = old if old is not None else SOURCE[start - 1]
    pre = b"".join(b" " + ln for ln in SOURCE[start - 4 : start - 1])
    post = b"".join(b" " + ln for ln in SOURCE[start : start + 3])
    return f"@@ -{start - 3},7 +{start - 3},7 @@\n".encode() + pre + b"-" + old + b"+" + new + post


def files(src: str, dst: str | None = None) -> bytes:
    return f"--- {src}\n+++ {dst or src.replace('a/', 'b/', 1)}\n".encode()


MOD = files("a/demo/mod.py")
GOOD = MOD + hunk()

CASES: list[tuple[str, bytes, int, str]] = [
    # -- paths ------------------------------------------------------------------------------------------
    ("0001-dotdot.diff", HEAD + files("a/../evil.py") + hunk(), 5, "unsafe path"),
    ("0002-dotdot-nested.diff", HEAD + files("a/demo/../../evil.py") + hunk(), 5, "unsafe path"),
    ("0003-dotdot-target-side.diff", HEAD + files("a/demo/mod.py", "b/demo/../../../etc/cron.d/x") + hunk(), 5, "unsafe path"),
    ("0004-absolute-source.diff", HEAD + files("/etc/passwd", "b/demo/mod.py") + hunk(), 5, "absolute path"),
    ("0005-absolute-target.diff", HEAD + files("a/demo/mod.py", "/tmp/evil.py") + hunk(), 5, "absolute path"),
    ("0006-no-prefix.diff", HEAD + files("demo/mod.py", "demo/mod.py") + hunk(), 5, "lacks the a/ or b/ prefix"),
    ("0007-backslash.diff", HEAD + files("a/demo\\..\\..\\evil.py") + hunk(), 5, "unsafe path"),
    ("0008-dot-component.diff", HEAD + files("a/./demo/mod.py") + hunk(), 5, "unsafe path"),
    ("0009-empty-component.diff", HEAD + files("a/demo//mod.py") + hunk(), 5, "unsafe path"),
    ("0010-quoted-name.diff", HEAD + b'--- "a/demo/m\\303\\244.py"\n+++ "b/demo/m\\303\\244.py"\n' + hunk(), 5, "quoted"),
    ("0011-symlink-file-out.diff", HEAD + files("a/demo/linked.py") + hunk(), 5, "symbolic link demo/linked.py"),
    (
        "0012-symlink-dir-out.diff",
        HEAD + files("/dev/null", "b/demo/outdir/planted.py") + b"@@ -0,0 +1 @@\n+planted\n",
        5,
        "symbolic link demo/outdir",
    ),
    (
        "0013-new-symlink.diff",
        HEAD + b"diff --git a/demo/ln b/demo/ln\nnew file mode 120000\n--- /dev/null\n+++ b/demo/ln\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n",
        5,
        "symbolic link",
    ),
    (
        "0014-submodule.diff",
        HEAD + b"diff --git a/demo/sub b/demo/sub\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n+++ b/demo/sub\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n",
        5,
        "submodule",
    ),
    (
        "0015-mode-to-symlink.diff",
        HEAD + b"diff --git a/demo/mod.py b/demo/mod.py\nold mode 100644\nnew mode 120000\n",
        5,
        "symbolic link",
    ),
    ("0016-state-dir.diff", HEAD + files("/dev/null", "b/.sitepatch/manifest.json") + b"@@ -0,0 +1 @@\n+{}\n", 5, "state directory (.sitepatch) is never patched"),
    ("0017-other-distribution.diff", HEAD + files("a/other/x.py") + b"@@ -1 +1 @@\n-x = 1\n+x = 2\n", 5, "not a file of demo"),
    ("0018-outside-package.diff", HEAD + files("/dev/null", "b/sitecustomize.py") + b"@@ -0,0 +1 @@\n+import os\n", 5, "not a file of demo"),
    ("0019-into-dist-info.diff", HEAD + files("/dev/null", "b/demo-1.0.dist-info/entry_points.txt") + b"@@ -0,0 +1 @@\n+[x]\n", 5, "metadata (demo-1.0.dist-info) is never patched"),
    ("0020-directory-as-file.diff", HEAD + files("a/demo") + hunk(), 5, "not a regular file"),
    (
        "0021-nul-in-path.diff",
        HEAD + b"--- a/demo/mod.py\x00.txt\n+++ b/demo/mod.py\x00.txt\n" + hunk(),
        5,
        "unsafe path",
    ),
    # -- binary and unsupported --------------------------------------------------------------------------
    (
        "0022-binary-files-differ.diff",
        HEAD + b"diff --git a/demo/mod.py b/demo/mod.py\nindex 1111111..2222222 100644\nBinary files a/demo/mod.py and b/demo/mod.py differ\n",
        5,
        "binary patches are not supported",
    ),
    (
        "0023-git-binary-patch.diff",
        HEAD + b"diff --git a/demo/mod.py b/demo/mod.py\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 5\nMcmZ?wbYfs&0000\n\nliteral 0\nHcmV?d00001\n\n",
        5,
        "binary patches are not supported",
    ),
    # -- hunks ---------------------------------------------------------------------------------------------
    ("0024-truncated-hunk.diff", HEAD + MOD + hunk()[:-len(b" line 12\n line 13\n")] , 7, "fewer lines than its @@ header counts"),
    ("0025-truncated-mid-line.diff", HEAD + MOD + hunk()[:-5], 7, "hunk #1 FAILED"),
    ("0026-too-many-lines.diff", HEAD + MOD + hunk() + b" line 14\n line 15\n", 16, "more lines than its @@ header counts"),
    ("0027-wrong-counts-small.diff", HEAD + MOD + hunk().replace(b"@@ -8,7 +8,7 @@", b"@@ -10,3 +10,3 @@"), 11, "more lines than its @@ header counts"),
    ("0028-wrong-counts-large.diff", HEAD + MOD + hunk().replace(b"@@ -8,7 +8,7 @@", b"@@ -10,60 +10,60 @@"), 7, "fewer lines than its @@ header counts"),
    ("0029-garbage-hunk-header.diff", HEAD + MOD + b"@@ -a,b +c,d @@\n line 10\n", 7, "malformed hunk header"),
    ("0030-huge-counts.diff", HEAD + MOD + hunk().replace(b"@@ -8,7 +8,7 @@", b"@@ -10,99999999999999999999 +10,6 @@"), 15, "more lines than its @@ header counts"),
    ("0031-hunk-before-file.diff", HEAD + hunk(), 5, "Unexpected hunk found"),
    ("0032-minus-without-plus.diff", HEAD + b"--- a/demo/mod.py\n" + hunk(), 6, "malformed diff"),
    ("0033-plus-without-minus.diff", HEAD + b"+++ b/demo/mod.py\n" + hunk(), 5, "Target without source"),
    ("0034-no-hunks.diff", HEAD + MOD, 5, "has no hunks"),
    ("0035-context-mismatch.diff", HEAD + MOD + hunk().replace(b" line 9\n", b" line nine\n").replace(b" line 10\n", b" line ten\n", 1), 7, "hunk #1 FAILED"),
    ("0036-removed-line-mismatch.diff", HEAD + MOD + hunk(old=b"line 11 changed\n"), 7, "hunk #1 FAILED"),
    ("0037-misordered-hunks.diff", HEAD + MOD + b"@@ -30,3 +30,3 @@\n line 30\n-line 31\n+line 31!\n line 32\n" + hunk(), 12, "hunk #2 FAILED"),
    ("0038-overlapping-hunks.diff", HEAD + MOD + hunk() + hunk(start=12, new=b"line twelve\n").replace(b" line 11\n", b" line eleven\n"), 16, "hunk #2 FAILED"),
    ("0039-beyond-end.diff", HEAD + MOD + b"@@ -90,3 +90,3 @@\n line 90\n-line 91\n+line 91!\n line 92\n", 7, "hunk #1 FAILED"),
    ("0040-no-newline-marker-first.diff", HEAD + MOD + b"@@ -10,1 +10,1 @@\n\\ No newline at end of file\n-line 10\n+line ten\n", 8, "marker before any line"),
    # -- files ---------------------------------------------------------------------------------------------
    ("0041-duplicate-file.diff", HEAD + GOOD + MOD + hunk(start=21, new=b"line 21!\n"), 16, "appears twice in this patch"),
    ("0042-duplicate-via-rename.diff", HEAD + GOOD + b"diff --git a/demo/mod.py b/demo/moved.py\nrename from demo/mod.py\nrename to demo/moved.py\n", 16, "appears twice in this patch"),
    ("0043-modify-missing-file.diff", HEAD + files("a/demo/missing.py") + hunk(), 5, "file not found"),
    ("0044-create-existing-file.diff", HEAD + files("/dev/null", "b/demo/mod.py") + b"@@ -0,0 +1 @@\n+replaced\n", 5, "already exists"),
    ("0045-delete-with-other-content.diff", HEAD + files("a/demo/mod.py", "/dev/null") + b"@@ -1,2 +0,0 @@\n-line 1\n-line 2\n", 7, "not deleting"),
    ("0046-rename-onto-existing.diff", HEAD + b"diff --git a/demo/__init__.py b/demo/mod.py\nrename from demo/__init__.py\nrename to demo/mod.py\n", 5, "it exists"),
    ("0047-rename-missing.diff", HEAD + b"diff --git a/demo/gone.py b/demo/new.py\nrename from demo/gone.py\nrename to demo/new.py\n", 5, "not found"),
    ("0048-both-dev-null.diff", HEAD + files("/dev/null", "/dev/null") + b"@@ -0,0 +1 @@\n+x\n", 5, "both sides of the file are /dev/null"),
    # -- encodings and line endings ---------------------------------------------------------------------
    ("0049-mixed-crlf-headers.diff", HEAD + b"--- a/demo/mod.py\r\n+++ b/demo/mod.py\n" + hunk(), 6, "mixed line endings"),
    ("0050-crlf-hunk-header.diff", HEAD + MOD + hunk().replace(b"@@ -8,7 +8,7 @@\n", b"@@ -10,6 +10,6 @@\r\n"), 7, "mixed line endings"),
    ("0051-non-utf8-context.diff", HEAD + MOD + hunk().replace(b" line 9\n", b" line \xff\xfe9\n"), 7, "hunk #1 FAILED"),
    ("0052-non-utf8-header-key.diff", b"Subject: x\n\xff\xfeKey: y\nPackage: demo\nVersions: >=1.0\n\n" + GOOD, 2, "expected a header field"),
    ("0053-non-utf8-path.diff", HEAD + files("a/demo/\xff\xfe.py".encode("latin-1").decode("latin-1")).replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe") + hunk(), 5, "not valid UTF-8"),
    ("0054-cr-only-line-endings.diff", (HEAD + GOOD).replace(b"\n", b"\r"), 5, "control characters"),
    ("0055-nul-bytes-in-body.diff", HEAD + MOD + hunk().replace(b" line 9\n", b" line\x00 9\n"), 7, "hunk #1 FAILED"),
    ("0056-utf16.diff", (HEAD + GOOD).decode().encode("utf-16"), 1, "expected a header field"),
    # -- header ----------------------------------------------------------------------------------------
    ("0057-empty.diff", b"", 0, "the patch file is empty"),
    ("0058-blank-lines-only.diff", b"\n\n  \n\t\n", 0, "the patch file is empty"),
    ("0059-header-no-diff.diff", HEAD, 5, "has a header but no diff"),
    ("0060-header-then-prose.diff", HEAD + b"Just some text, no diff here.\n", 5, "has a header but no diff"),
    ("0061-no-header.diff", GOOD, 1, "missing required header field"),
    ("0062-unknown-key.diff", b"Subject: x\nPackage: demo\nVersion: >=1.0\n\n" + GOOD, 3, "did you mean 'Versions'"),
    ("0063-duplicate-key.diff", b"Subject: x\nPackage: demo\nVersions: >=1.0\nVersions: >=0\n\n" + GOOD, 4, "given twice"),
    ("0064-bad-specifier.diff", b"Subject: x\nPackage: demo\nVersions: 1.0\n\n" + GOOD, 3, "did you mean '==1.0'"),
    ("0065-bad-requires.diff", b"Subject: x\nPackage: demo\nVersions: >=1.0\nRequires: other >=< 2\n\n" + GOOD, 4, "not a valid requirement"),
    ("0066-bad-applied-upstream.diff", b"Subject: x\nPackage: demo\nVersions: >=1.0\nApplied-Upstream: soon\n\n" + GOOD, 4, "Applied-Upstream"),
    ("0067-continuation-first.diff", b" orphan continuation\nSubject: x\nPackage: demo\nVersions: >=1.0\n\n" + GOOD, 1, "continuation line before any header field"),
    ("0068-no-blank-after-header.diff", b"Subject: x\nPackage: demo\nVersions: >=1.0\nnot a field\n" + GOOD, 4, "expected a header field"),
    ("0069-huge-line.diff", HEAD + MOD + b"@@ -10,1 +10,1 @@\n-line 10\n+" + b"x" * (1 << 20) + b"\n", 9, "byte limit"),
    ("0070-huge-header-value.diff", b"Subject: " + b"y" * (1 << 20) + b"\nPackage: demo\nVersions: >=1.0\n\n" + GOOD, 1, "byte limit"),
]


def main() -> None:
    for old in HERE.glob("*.diff"):
        old.unlink()
    rows = []
    for name, data, line, fragment in CASES:
        (HERE / name).write_bytes(data)
        rows.append(f"{name}\t{line}\t{fragment}\n")
    (HERE / "expected.tsv").write_text("".join(rows), encoding="utf-8")


if __name__ == "__main__":
    main()
