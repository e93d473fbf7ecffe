"""Writing patches: new patches from an edited install, refreshed patches, imported upstream changes.

Pure functions over bytes and the model; the command line reads and writes the files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from sitepatch._record import frozen
from sitepatch.model import FileKind, FilePatch, Hunk, LineKind, Patch
from sitepatch.parse import split_name

__all__ = [
    "RepoLayout",
    "compatible_range",
    "file_diff",
    "next_number",
    "patch_dir_names",
    "render_file_patch",
    "render_header",
    "render_patch",
    "slugify",
    "split_range",
    "variant_name",
    "widen_range",
]


def __dir__() -> list[str]:
    return __all__


def file_diff(path: str, old: bytes | None, new: bytes | None, *, context: int = 3, target: str | None = None) -> bytes:
    r"""A unified diff of one file with ``a/`` and ``b/`` prefixes; ``None`` means the file does not exist.

    >>> file_diff("m.py", b"a\nb\n", b"a\nc\n").decode().splitlines()[3:]
    ['@@ -1,2 +1,2 @@', ' a', '-b', '+c']
    """
    if old == new:
        return b""
    before = old.splitlines(keepends=True) if old else []
    after = new.splitlines(keepends=True) if new else []
    src = "/dev/null" if old is None else f"a/{path}"
    dst = "/dev/null" if new is None else f"b/{target or path}"
    header = f"diff --git a/{path} b/{target or path}\n"
    if old is None:
        header += "new file mode 100644\n"
    elif new is None:
        header += "deleted file mode 100644\n"
    out = [header.encode()]
    lines = difflib.diff_bytes(
        difflib.unified_diff, before, after, fromfile=src.encode(), tofile=dst.encode(), n=context
    )
    out.extend(line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n" for line in lines)
    if len(out) == 1:  # only an empty file created or deleted: git needs no hunk
        return out[0]
    return b"".join(out)


def _line_bytes(kind: LineKind, text: bytes, eol: bytes) -> bytes:
    body = kind.value.encode() + text + (eol or b"\n")
    return body if eol else body + b"\\ No newline at end of file\n"


def _range(start: int, length: int) -> str:
    return f"{start}" if length == 1 else f"{start},{length}"


def _render_hunk(hunk: Hunk) -> bytes:
    section = f" {hunk.section}" if hunk.section else ""
    old = _range(hunk.source_start, hunk.source_length)
    new = _range(hunk.target_start, hunk.target_length)
    head = f"@@ -{old} +{new} @@{section}\n"
    return head.encode() + b"".join(_line_bytes(ln.kind, ln.text, ln.eol) for ln in hunk.lines)


def render_file_patch(fp: FilePatch, *, source: str | None = None, target: str | None = None) -> bytes:
    """A file patch as diff text, optionally under other paths (to map between layouts)."""
    src = source if source is not None else fp.source_path
    dst = target if target is not None else fp.target_path
    a = src if src is not None else dst
    b = dst if dst is not None else src
    out = [f"diff --git a/{a} b/{b}\n"]
    if fp.kind is FileKind.CREATE:
        out.append(f"new file mode {fp.new_mode or 0o100644:o}\n")
    elif fp.kind is FileKind.DELETE:
        out.append(f"deleted file mode {fp.old_mode or 0o100644:o}\n")
    elif fp.old_mode is not None and fp.new_mode is not None and fp.old_mode != fp.new_mode:
        out.append(f"old mode {fp.old_mode:o}\nnew mode {fp.new_mode:o}\n")
    if fp.kind in (FileKind.RENAME, FileKind.COPY):
        verb = "rename" if fp.kind is FileKind.RENAME else "copy"
        out.append(f"{verb} from {a}\n{verb} to {b}\n")
    if fp.hunks:
        out.append(f"--- {'/dev/null' if src is None else 'a/' + src}\n")
        out.append(f"+++ {'/dev/null' if dst is None else 'b/' + dst}\n")
    return "".join(out).encode() + b"".join(_render_hunk(h) for h in fp.hunks)


def render_header(fields: Iterable[tuple[str, str]]) -> bytes:
    r"""Header lines in the patch format: multi-line values continue on lines that start with a space.

    >>> render_header([("Subject", "Fix"), ("Description", "one\n\ntwo")]).decode()
    'Subject: Fix\nDescription: one\n .\n two\n'
    """
    out = []
    for key, value in fields:
        first, *rest = value.split("\n") if value else [""]
        out.append(f"{key}: {first}".rstrip() + "\n")
        out.extend(f" {line}\n" if line.strip() else " .\n" for line in rest)
    return "".join(out).encode()


def render_patch(fields: Iterable[tuple[str, str]], diff: bytes) -> bytes:
    """A whole patch file: header, an empty line, the diff."""
    return render_header(fields) + b"\n" + diff


def slugify(text: str) -> str:
    """A file-name slug.

    >>> slugify("Fix: GET /files/{id} 500!")
    'fix-get-files-id-500'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].rstrip("-") or "patch"


def next_number(names: Iterable[str]) -> str:
    """The next free four-digit patch number after the highest in ``names``.

    >>> next_number(["0001-a.diff", "0012-b+x.diff", "notes.md"])
    '0013'
    """
    numbers = [int(parts[0]) for name in names if (parts := split_name(name)) is not None]
    return f"{max(numbers, default=0) + 1:04d}"


def compatible_range(version: Version) -> str:
    """The default ``Versions`` for a patch made on ``version``: that release series up to the next minor.

    >>> compatible_range(Version("1.81.0"))
    '>=1.81.0,<1.82'
    """
    return f">={version},<{version.major}.{version.minor + 1}"


def _lower_bound(spec: SpecifierSet) -> Version | None:
    lowers = [Version(s.version) for s in spec if s.operator in (">=", "==", "~=", "===") and "*" not in s.version]
    return min(lowers) if lowers else None


def widen_range(spec: SpecifierSet, version: Version, ceiling: Version | None = None) -> str:
    """``spec`` widened so that it also holds ``version``: its lower bound kept, and no invented upper bound.

    The upper bound is the old one if it is above ``version``, else ``ceiling`` (where another variant of the
    patch starts), else none: how far a diff keeps working is for the sweep to say, not a guess.

    >>> widen_range(SpecifierSet(">=1.80.10,<1.81.1"), Version("1.83.5"))
    '>=1.80.10'
    >>> widen_range(SpecifierSet(">=1.80.10,<1.81.1"), Version("1.83.5"), Version("1.110.2"))
    '>=1.80.10,<1.110.2'
    >>> widen_range(SpecifierSet(">=1.81,<1.90"), Version("1.80.10"))
    '>=1.80.10,<1.90'
    """
    lower = _lower_bound(spec)
    start = version if lower is None or lower > version else lower
    uppers = [s for s in spec if s.operator in ("<", "<=") and spec.contains(version, prereleases=True)]
    if not uppers and version < min((Version(s.version) for s in spec if s.operator in ("<", "<=")), default=version):
        uppers = [s for s in spec if s.operator in ("<", "<=")]
    if uppers:
        return ",".join([f">={start}", *(str(s) for s in uppers)])
    if ceiling is not None and ceiling > version:
        return f">={start},<{ceiling}"
    return f">={start}"


def split_range(spec: SpecifierSet, version: Version, ceiling: Version | None = None) -> tuple[str, str]:
    """Split ``spec`` at ``version``: (the old variant's range, below it; the new variant's range, from it).

    The new range keeps ``spec``'s upper bound when ``spec`` held ``version``; otherwise it ends where the next
    variant starts (``ceiling``), or nowhere: no upper bound is invented, the sweep says how far it holds.

    >>> split_range(SpecifierSet(">=1.80.10,<1.82"), Version("1.81.0"))
    ('>=1.80.10,<1.81.0', '>=1.81.0,<1.82')
    >>> split_range(SpecifierSet(">=1.80.10,<1.81.1"), Version("1.83.5"), Version("1.110.2"))
    ('<1.81.1,>=1.80.10', '>=1.83.5,<1.110.2')
    """
    old = [str(s) for s in spec if s.operator not in ("<", "<=")]
    uppers = [s for s in spec if s.operator in ("<", "<=")]
    tail = f",<{ceiling}" if ceiling is not None and ceiling > version else ""
    if not spec.contains(version, prereleases=True):
        return str(spec), f">={version}{tail}"
    new_upper = ",".join(str(s) for s in uppers)
    return ",".join([*old, f"<{version}"]), f">={version}" + (f",{new_upper}" if new_upper else tail)


@frozen
class RepoLayout:
    """How site-packages paths map to an upstream repository's layout, and back.

    ``prefixes`` maps a top-level package directory to where it lives in the repository, e.g.
    ``litellm_enterprise`` → ``enterprise/litellm_enterprise``. Packages not listed live at the root.
    """

    prefixes: tuple[tuple[str, str], ...] = (
        ("litellm_enterprise", "enterprise/litellm_enterprise"),
        ("litellm_proxy_extras", "litellm-proxy-extras/litellm_proxy_extras"),
    )

    def to_repo(self, path: str) -> str:
        """The repository path of a site-packages path.

        >>> RepoLayout().to_repo("litellm_enterprise/proxy/hooks/managed_files.py")
        'enterprise/litellm_enterprise/proxy/hooks/managed_files.py'
        """
        top, _, rest = path.partition("/")
        for package, where in self.prefixes:
            if top == package:
                return f"{where}/{rest}" if rest else where
        return path

    def candidates(self, path: str) -> Sequence[str]:
        """Site-packages paths a repository path may stand for, most likely first.

        >>> RepoLayout().candidates("enterprise/litellm_enterprise/x.py")
        ['litellm_enterprise/x.py', 'enterprise/litellm_enterprise/x.py']
        """
        found = [
            f"{package}/{path[len(where) + 1 :]}" for package, where in self.prefixes if path.startswith(where + "/")
        ]
        return [*found, path]


def variant_name(patch: Patch, version: Version) -> str:
    """The file name of a new variant of ``patch`` for the series starting at ``version``."""
    slug = patch.name.removesuffix(".diff").split("+", 1)[0]
    return f"{slug}+{version}.diff"


def patch_dir_names(directory: Path) -> list[str]:
    """The names of the ``*.diff`` files in ``directory``."""
    return sorted(p.name for p in directory.glob("*.diff"))
