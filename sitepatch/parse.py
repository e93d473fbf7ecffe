"""Parse patch files: a DEP-3 style header, then a unified diff.

This is the only module that talks to :mod:`unidiff`; its output is converted once into the frozen model of
:mod:`sitepatch.model`. Patch content is handled as bytes (decoded with ``surrogateescape`` for unidiff and
encoded back), so a patch for a file that is not valid UTF-8 round-trips exactly.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from unidiff.constants import RE_HUNK_HEADER
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as UnidiffHunk
from unidiff.patch import PatchedFile, PatchSet

from sitepatch.errors import PatchParseError, PatchSetError, TargetError
from sitepatch.model import FileKind, FilePatch, Hunk, Line, LineKind, Patch, PatchHeader, Requires, path_problem

__all__ = [
    "KNOWN_KEYS",
    "MAX_LINE_BYTES",
    "REQUIRED_KEYS",
    "load_patches",
    "parse_diff",
    "parse_patch",
    "parse_requires",
    "split_name",
]


def __dir__() -> list[str]:
    return __all__


REQUIRED_KEYS = ("Subject", "Package", "Versions")
"""Header keys every patch must have."""

KNOWN_KEYS = (
    *REQUIRED_KEYS,
    "Requires",
    "Depends",
    "Description",
    "Origin",
    "Bug",
    "Forwarded",
    "Applied-Upstream",
    "Affects",
    "Opens",
    "Test",
    "Last-Update",
    "Author",
    "From",
    "Reviewed-By",
    "Acked-By",
)
"""Header keys sitepatch understands; ``Bug-*`` and ``X-*`` keys are accepted as well.

``Opens`` declares the requests a patch intentionally admits that the unpatched proxy refused (read by the
authorization-differential suite, ``tests/authz/compare.py``, which defines its grammar)."""

MAX_LINE_BYTES = 1 << 20
"""Longest line accepted in a patch file. Longer lines are refused rather than held in memory many times."""

_NAME = re.compile(
    r"^(?P<number>\d{4})-(?P<slug>[A-Za-z0-9][A-Za-z0-9._-]*?)(?:\+(?P<variant>[A-Za-z0-9._-]+))?\.diff$"
)
_KEY = re.compile(rb"^(?P<key>[A-Za-z][A-Za-z0-9-]*):(?:[ \t]+(?P<value>.*))?$")
_DIFF_START = (b"diff ", b"--- ", b"Index: ", b"@@ ", b"+++ ")
_HUNK_HEADER = re.compile(rb"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@(?:[ \t].*)?$")
_PATCH_ID = re.compile(r"^\d{4}$")
_EMPTY_HINTS = {
    "subject": "write a one-line summary of the change",
    "package": "name the distribution whose files the patch changes, e.g. 'Package: litellm'",
    "versions": "give the versions it applies to, e.g. 'Versions: >=1.80,<1.82' ('>=0' for every version)",
}
_MODE_SYMLINK = 0o120000
_MODE_GITLINK = 0o160000


def split_name(name: str) -> tuple[str, str] | None:
    """Split a patch file name into its number and variant, or ``None`` when it is not a patch name.

    >>> split_name("0004-files-retrieve+enterprise-only.diff")
    ('0004', 'enterprise-only')
    >>> split_name("0001-fix.diff")
    ('0001', '')
    >>> split_name("notes.txt") is None
    True
    """
    match = _NAME.match(name)
    if match is None:
        return None
    return match["number"], match["variant"] or ""


_PLAIN_REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?P<spec>(?:[<>=!~][^,\s]*,)*[<>=!~][^,\s]*)"
)


def parse_requires(text: str) -> Requires:
    """One ``Requires:`` item, read as :class:`packaging.requirements.Requirement` reads it.

    The usual item, a name directly followed by specifiers (``litellm-enterprise>=0.1.25``), is read here;
    any other (spaces, extras, a URL) by ``packaging.requirements``, imported then: it costs more at
    start-up (with :mod:`dataclasses`) than ``check`` spends on planning.

    >>> str(parse_requires("litellm>=1.80.10,<1.80.16")), parse_requires("Foo_Bar[x] (>=1)").name
    ('litellm<1.80.16,>=1.80.10', 'Foo_Bar')

    :raises ValueError: when ``text`` is not a valid requirement, with packaging's explanation.
    """
    plain = _PLAIN_REQUIREMENT.fullmatch(text)
    if plain is not None:
        try:
            specifier = SpecifierSet(plain["spec"])
        except InvalidSpecifier:
            pass  # packaging.requirements says exactly what is wrong with it
        else:
            return Requires(plain["name"], specifier, plain["name"] + str(specifier))
    from packaging.requirements import Requirement  # noqa: PLC0415 - see above

    requirement = Requirement(text)  # InvalidRequirement is a ValueError
    return Requires(requirement.name, requirement.specifier, str(requirement))


def _strip_eol(raw: bytes) -> tuple[bytes, bytes]:
    if raw.endswith(b"\r\n"):
        return raw[:-2], b"\r\n"
    if raw.endswith(b"\n"):
        return raw[:-1], b"\n"
    return raw, b""


def _field_value(pieces: list[str]) -> str:
    r"""A header field's value from its first line and its continuation lines, joined once.

    Empty pieces before the first non-empty one are dropped (``Description:`` with its text below it).

    >>> _field_value(["", "first", "", "third"])
    'first\n\nthird'
    """
    start = next((i for i, piece in enumerate(pieces) if piece), len(pieces))
    return "\n".join(pieces[start:])


class _Header:
    """The header of one patch file while it is being read."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.fields: list[tuple[str, str]] = []
        """Each field and its value, set when the whole header has been read."""
        self.pieces: list[tuple[str, list[str]]] = []
        """Each field and the lines of its value, appended while reading (joined once: linear in the size)."""
        self.lines: dict[str, int] = {}
        self.problems: list[PatchParseError] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(PatchParseError(self.display, line, message))


def _read_header(raw_lines: list[bytes], display: str) -> tuple[_Header, int]:
    """Read the header; return it and the index of the first line after it."""
    header = _Header(display)
    index = _read_fields(raw_lines, header)
    header.fields = [(key, _field_value(pieces)) for key, pieces in header.pieces]
    return header, index


def _read_fields(raw_lines: list[bytes], header: _Header) -> int:
    """Read the header's lines into ``header.pieces``; return the index of the first line after the header."""
    index = 0
    while index < len(raw_lines):
        raw = raw_lines[index]
        text, _ = _strip_eol(raw)
        lineno = index + 1
        if not text.strip():
            return index + 1
        if text.startswith(_DIFF_START) or text == b"---":
            return index
        if text[:1] in (b" ", b"\t"):
            if not header.pieces:
                header.problem(
                    lineno, "a continuation line before any header field; start the header with 'Subject: ...'"
                )
            else:
                piece = text.strip()
                header.pieces[-1][1].append("" if piece == b"." else piece.decode("utf-8", "replace"))
        else:
            match = _KEY.match(text)
            if match is None:
                shown = text[:60].decode("utf-8", "replace")
                header.problem(
                    lineno,
                    f"expected a header field 'Key: value' or the start of the diff, found {shown!r}; "
                    "end the header with an empty line",
                )
            else:
                key = match["key"].decode("ascii")
                value = (match["value"] or b"").strip().decode("utf-8", "replace")
                if key.lower() in header.lines:
                    header.problem(
                        lineno, f"header field {key!r} given twice (first at line {header.lines[key.lower()]})"
                    )
                header.lines.setdefault(key.lower(), lineno)
                header.pieces.append((key, [value]))
        index += 1
    return index


def _check_keys(header: _Header) -> None:
    known = {k.lower(): k for k in KNOWN_KEYS}
    for key, _ in header.fields:
        low = key.lower()
        if low in known or low.startswith(("x-", "bug-")):
            continue
        close = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(KNOWN_KEYS)} (or X-*)"
        header.problem(header.lines[low], f"unknown header field {key!r}{hint}")
    present = {key.lower(): value for key, value in header.fields}
    for key in REQUIRED_KEYS:
        if key.lower() not in present:
            header.problem(1, f"missing required header field '{key}:' (required: {', '.join(REQUIRED_KEYS)})")
        elif not present[key.lower()].strip():
            # An empty Versions would match every version and an empty Package would skip silently.
            header.problem(header.lines[key.lower()], f"{key}: is empty; {_EMPTY_HINTS[key.lower()]}")


def _specifier_hint(text: str) -> str:
    candidate = text.strip()
    try:
        Version(candidate)
    except InvalidVersion:
        return "; write a PEP 440 specifier set such as '>=1.80.10,<1.80.16'"
    return f"; did you mean '=={candidate}'?"


class _LineSource:
    """Feeds decoded diff lines to unidiff and remembers how far it got, for error locations."""

    def __init__(self, raw_lines: list[bytes], start: int) -> None:
        self._raw = raw_lines
        self._start = start
        self.position = start

    def __iter__(self) -> Iterator[str]:
        for index in range(self._start, len(self._raw)):
            self.position = index
            yield self._raw[index].decode("utf-8", "surrogateescape")


def _clean_path(raw: str, *, display: str, line: int) -> str | None:
    """Turn a diff path (``a/litellm/x.py``) into a target-relative path, refusing unsafe ones."""
    if raw == "/dev/null":
        return None
    if raw.startswith('"'):
        msg = f"quoted (C-escaped) file name {raw!r} is not supported; rename the file or regenerate the diff"
        raise PatchParseError(display, line, msg)
    if raw.startswith("/"):
        msg = f"absolute path {raw!r}: paths must be relative to site-packages, as a/<path> and b/<path>"
        raise PatchParseError(display, line, msg)
    if any("\udc80" <= c <= "\udcff" for c in raw):
        shown = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        msg = f"file name {shown!r} is not valid UTF-8; wheels (and their RECORD) only hold UTF-8 names"
        raise PatchParseError(display, line, msg)
    parts = raw.split("/")
    if len(parts) < 2 or parts[0] not in ("a", "b"):
        msg = f"path {raw!r} lacks the a/ or b/ prefix that 'patch -p1' strips; write a/{raw} and b/{raw}"
        raise PatchParseError(display, line, msg)
    problem = path_problem("/".join(parts[1:]))
    if problem is not None:
        raise PatchParseError(display, line, f"unsafe path {raw!r}: {problem}")
    # What str(PurePosixPath(...)) gives for a path path_problem accepts (no empty, "." or ".." part).
    return "/".join(parts[1:])


_NO_NEWLINE = b"\\ No newline at end of file"
_HUNK_KINDS = {ord(" "): LineKind.CONTEXT, ord("+"): LineKind.ADDED, ord("-"): LineKind.REMOVED}
_EMPTY_CONTEXT = (ord("\r"), ord("\n"))


def _hunk_header(raw_lines: list[bytes], cursor: int) -> int:
    """The index of the first hunk header at or after ``cursor``, the next one unidiff parsed.

    A line unidiff took as a hunk header matches its header pattern; lines of hunk bodies never start with
    ``@``, and a line of other text that matches the pattern would have been a hunk or an error.
    """
    while not (
        raw_lines[cursor].startswith(b"@@ -")
        and RE_HUNK_HEADER.match(raw_lines[cursor].decode("utf-8", "surrogateescape"))
    ):
        cursor += 1
    return cursor


def _convert_hunk(hunk: UnidiffHunk, index: int, header: int, raw_lines: list[bytes], display: str) -> tuple[Hunk, int]:
    """Build the model's hunk from the patch file's bytes, starting at its ``@@`` line (index ``header``).

    unidiff has checked the structure (headers, every hunk's line counts); the lines are read here from the
    bytes by position, as unidiff counted them, so no intermediate object is made per line. Returns the hunk
    and the index of the first line after it.
    """
    lines: list[Line] = []
    append = lines.append
    make = Line
    removed_left, added_left = hunk.source_length, hunk.target_length
    kinds, empty = _HUNK_KINDS, _EMPTY_CONTEXT
    context, added, removed = LineKind.CONTEXT, LineKind.ADDED, LineKind.REMOVED
    position = header + 1
    while True:  # unidiff reads at least one line of every hunk, as here
        raw = raw_lines[position]
        position += 1
        first = raw[0]
        if first == 92:  # "\\": the line before has no newline at end of file
            if not lines:
                raise PatchParseError(display, position, "'\\ No newline' marker before any line of the hunk")
            last = lines[-1]
            lines[-1] = make(last.kind, last.text, b"", last.diff_line_no)
        else:
            if first in empty:  # a blank context line whose leading space an editor stripped
                kind, content = context, raw
            else:
                kind, content = kinds[first], raw[1:]
            if kind is not added:
                removed_left -= 1
            if kind is not removed:
                added_left -= 1
            if content[-1:] != b"\n":
                append(make(kind, content, b"\n", position))
            elif content[-2:] == b"\r\n":
                append(make(kind, content[:-2], b"\r\n", position))
            else:
                append(make(kind, content[:-1], b"\n", position))
        if removed_left <= 0 and added_left <= 0:
            break
    # What unidiff attaches to the hunk after its counted lines: "No newline" markers and blank separators.
    while position < len(raw_lines):
        raw = raw_lines[position]
        if raw.startswith(_NO_NEWLINE):
            last = lines[-1]
            lines[-1] = Line(last.kind, last.text, b"", last.diff_line_no)
        elif raw != b"\n":
            break
        position += 1
    converted = Hunk(
        index=index,
        source_start=hunk.source_start,
        source_length=hunk.source_length,
        target_start=hunk.target_start,
        target_length=hunk.target_length,
        lines=tuple(lines),
        diff_line_no=header + 1,
        section=hunk.section_header,
    )
    return converted, position


def _mode(value: str | None) -> int | None:
    return int(value, 8) if value else None


def _convert_file(pf: PatchedFile, offset: int, display: str, raw_lines: list[bytes], cursor: list[int]) -> FilePatch:
    line = offset + (pf.diff_line_no or 1)
    if line >= 2 and raw_lines[line - 1].startswith(b"+++ ") and raw_lines[line - 2].startswith(b"--- "):
        line -= 1  # name the '--- a/...' line that opens the section, not the '+++' line unidiff saw last
    info = [str(x) for x in (pf.patch_info or [])]
    if pf.is_binary_file or any(x.startswith("GIT binary patch") for x in info):
        msg = "binary patches are not supported; ship binary files another way"
        raise PatchParseError(display, line, msg)
    for mode in (pf.source_mode, pf.target_mode):
        if mode and int(mode, 8) & 0o170000 in (_MODE_SYMLINK, _MODE_GITLINK):
            msg = f"file mode {mode} (symbolic link or submodule) is not supported; only regular files are patched"
            raise PatchParseError(display, line, msg)
    source = _clean_path(pf.source_file, display=display, line=line)
    target = _clean_path(pf.target_file, display=display, line=line)
    is_copy = any(x.startswith("copy from ") for x in info)
    is_rename = any(x.startswith("rename from ") for x in info)
    if source is not None and target is not None and source != target and not (is_copy or is_rename):
        # GNU patch would edit the '---' file in place, the old code renamed it: git apply's refusal is safest.
        msg = (
            f"--- a/{source} and +++ b/{target} name different files, but there is no 'rename from' or "
            "'copy from' header; sitepatch refuses this, as git apply does: give both lines the same path, "
            "or make the rename with 'git diff -M'"
        )
        raise PatchParseError(display, line, msg)
    if source is None and target is None:
        raise PatchParseError(display, line, "both sides of the file are /dev/null")
    if source is None:
        kind = FileKind.CREATE
    elif target is None:
        kind = FileKind.DELETE
    elif source != target:
        kind = FileKind.COPY if is_copy else FileKind.RENAME
    else:
        kind = FileKind.MODIFY
    converted = []
    for i, h in enumerate(pf, start=1):
        hunk, cursor[0] = _convert_hunk(h, i, _hunk_header(raw_lines, cursor[0]), raw_lines, display)
        converted.append(hunk)
    hunks = tuple(converted)
    if kind is FileKind.MODIFY and not hunks and pf.source_mode == pf.target_mode:
        raise PatchParseError(display, line, f"file section for {target} has no hunks")
    return FilePatch(
        kind=kind,
        source_path=source,
        target_path=target,
        hunks=hunks,
        diff_line_no=line,
        old_mode=_mode(pf.source_mode) if pf.source_mode != pf.target_mode or kind is FileKind.DELETE else None,
        new_mode=_mode(pf.target_mode) if pf.source_mode != pf.target_mode or kind is FileKind.CREATE else None,
    )


def _check_hunk_starts(raw_lines: list[bytes], start: int, display: str) -> None:
    """Refuse an ``@@`` line that is not a hunk header: unidiff would skip it and blame the file's first line."""
    for index in range(start, len(raw_lines)):
        raw = raw_lines[index]
        if not raw.startswith(b"@@"):
            continue
        text = _strip_eol(raw)[0].rstrip(b"\r")
        if not _HUNK_HEADER.match(text):
            shown = text[:60].decode("utf-8", "replace")
            msg = f"malformed hunk header {shown!r}; it must read '@@ -START,COUNT +START,COUNT @@'"
            raise PatchParseError(display, index + 1, msg)


def _parse_diff(raw_lines: list[bytes], start: int, display: str) -> tuple[FilePatch, ...]:
    _check_hunk_starts(raw_lines, start, display)
    source = _LineSource(raw_lines, start)
    try:
        try:
            # Structure only (headers, hunk line counts): unidiff builds no object per line this way.
            patchset = PatchSet(iter(source), metadata_only=True)
        except UnidiffParseError:
            # The full parse gives the precise error, and accepts blank context lines that unidiff < 1.0
            # refuses in the structure-only mode.
            source = _LineSource(raw_lines, start)
            patchset = PatchSet(iter(source))
    except UnidiffParseError as err:
        line = min(source.position + 1, len(raw_lines))
        text = str(err).strip()
        if "shorter" in text:
            opening = next((i for i in range(source.position, start - 1, -1) if raw_lines[i].startswith(b"@@ ")), None)
            if opening is not None:
                line = opening + 1
            text = "the hunk has fewer lines than its @@ header counts (truncated, or wrong counts)"
        elif "longer" in text:
            text = "the hunk has more lines than its @@ header counts"
        raise PatchParseError(
            display, line, f"malformed diff: {text}; regenerate it with 'diff -u' or 'git diff'"
        ) from err
    if not patchset:
        raise PatchParseError(
            display, start + 1, "the patch has a header but no diff (no '--- a/...' / '+++ b/...' section)"
        )
    cursor = [start]
    files = tuple(_convert_file(pf, start, display, raw_lines, cursor) for pf in patchset)
    _check_hunk_ends(files, raw_lines, display)
    seen: dict[str, int] = {}
    for fp in files:
        for path in {fp.source_path, fp.target_path} - {None}:
            assert path is not None
            if path in seen:
                msg = (
                    f"{path} appears twice in this patch (first at line {seen[path]}); merge its hunks into one section"
                )
                raise PatchParseError(display, fp.diff_line_no, msg)
            seen[path] = fp.diff_line_no
    return files


def _check_hunk_ends(files: tuple[FilePatch, ...], raw_lines: list[bytes], display: str) -> None:
    """Refuse hunk lines left over after a hunk's counted lines: its @@ counts are wrong."""
    for fp in files:
        for hunk in fp.hunks:
            if not hunk.lines:
                continue
            after = hunk.lines[-1].diff_line_no  # 1-based line of the last line, so the index of the next one
            while after < len(raw_lines) and raw_lines[after].startswith(b"\\"):
                after += 1
            if after >= len(raw_lines):
                continue
            nxt = raw_lines[after]
            signature = nxt.rstrip(b"\r\n") == b"-- "  # git format-patch's signature separator
            if nxt[:1] in (b" ", b"+", b"-") and not nxt.startswith((b"--- ", b"+++ ")) and not signature:
                msg = (
                    f"line belongs to no hunk: the hunk at line {hunk.diff_line_no} has more lines than its "
                    "@@ header counts; fix the counts or regenerate the diff"
                )
                raise PatchParseError(display, after + 1, msg)


def _check_hunk_headers(raw_lines: list[bytes], start: int, display: str) -> None:
    """Refuse diff header lines whose line endings disagree: a sign of a patch mangled by an editor."""
    endings: dict[bytes, int] = {}
    for index in range(start, len(raw_lines)):
        raw = raw_lines[index]
        if raw.startswith((b"@@ ", b"--- ", b"+++ ", b"diff ")):
            _, eol = _strip_eol(raw)
            if eol and endings and eol not in endings:
                first = next(iter(endings.values()))
                msg = (
                    "mixed line endings in the diff's header lines (CRLF and LF; "
                    f"compare line {first}); convert the patch file to one line ending"
                )
                raise PatchParseError(display, index + 1, msg)
            endings.setdefault(eol, index + 1)


def _without_crlf(raw_lines: list[bytes]) -> list[bytes]:
    """Strip the CR of every CRLF line when every diff header line ends in CRLF, as GNU patch does.

    A patch file converted to CRLF as a whole (an editor, a mail client, ``git config core.autocrlf``) then
    reads like the LF file it was made from; line endings of the target are matched as always (an LF hunk
    line matches a CRLF file line). Mixed endings in header lines are refused by :func:`_check_hunk_headers`.
    """
    headers = [raw for raw in raw_lines if raw.startswith((b"@@ ", b"--- ", b"+++ ", b"diff "))]
    if not headers or not all(raw.endswith(b"\r\n") for raw in headers):
        return raw_lines
    return [raw[:-2] + b"\n" if raw.endswith(b"\r\n") else raw for raw in raw_lines]


def _depends(fields: PatchHeader, header: _Header, number: str) -> tuple[str, ...]:
    text = fields.get("Depends")
    if text is None:
        return ()
    found: list[str] = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        if not _PATCH_ID.match(item):
            header.problem(header.lines["depends"], f"Depends: {item!r} is not a patch id (four digits, e.g. 0004)")
        elif item == number:
            header.problem(header.lines["depends"], f"Depends: {item} is this patch's own id")
        elif item not in found:
            found.append(item)
    if not found and not header.problems:
        header.problem(header.lines["depends"], "Depends: is empty; list patch ids such as '0004, 0007'")
    return tuple(found)


def parse_patch(data: bytes, *, path: Path, display: str | None = None) -> Patch:
    """Parse one patch file.

    :param data: the patch file's bytes.
    :param path: where it was read from; its name gives the patch number and variant.
    :param display: how to name the file in errors (defaults to ``path``).
    :raises PatchParseError: on the first problem, with the file and line.
    :raises PatchSetError: when the header has several problems, all of them.
    """
    shown = display or str(path)
    parts = split_name(path.name)
    if parts is None:
        msg = "file name must be NNNN-slug.diff or NNNN-slug+variant.diff (NNNN: four digits)"
        raise PatchParseError(shown, 0, msg)
    number, variant = parts
    if not data.strip():
        raise PatchParseError(shown, 0, "the patch file is empty")
    raw_lines = data.splitlines(keepends=True)
    for index, raw in enumerate(raw_lines):
        if len(raw) > MAX_LINE_BYTES:
            msg = f"line is {len(raw)} bytes long, over the {MAX_LINE_BYTES} byte limit"
            raise PatchParseError(shown, index + 1, msg)
    raw_lines = _without_crlf(raw_lines)
    header, start = _read_header(raw_lines, shown)
    _check_keys(header)
    fields = PatchHeader(tuple(header.fields))

    versions = SpecifierSet()
    text = fields.get("Versions")
    if text is not None:
        try:
            versions = SpecifierSet(text)
        except InvalidSpecifier:
            header.problem(
                header.lines["versions"], f"Versions: {text!r} is not a valid specifier{_specifier_hint(text)}"
            )
    requires: list[Requires] = []
    for item in re.split(r"[;\n]", fields.get("Requires") or ""):
        if not item.strip():
            continue
        try:
            requires.append(parse_requires(item.strip()))
        except ValueError as err:
            header.problem(header.lines["requires"], f"Requires: {item.strip()!r} is not a valid requirement ({err})")
    applied_upstream = None
    text = fields.get("Applied-Upstream")
    if text:
        try:
            applied_upstream = Version(text.split()[0])
        except InvalidVersion:
            line = header.lines["applied-upstream"]
            header.problem(
                line, f"Applied-Upstream: {text!r} must start with the version that has the fix, e.g. '1.80.16'"
            )
    depends = _depends(fields, header, number)
    affects = None
    text = fields.get("Affects")
    if text is not None and not text.strip():
        header.problem(
            header.lines["affects"], "Affects: is empty; give the versions that have the defect, e.g. '>=1.80,<1.84'"
        )
    elif text is not None:
        try:
            affects = SpecifierSet(text)
        except InvalidSpecifier:
            header.problem(
                header.lines["affects"], f"Affects: {text!r} is not a valid specifier{_specifier_hint(text)}"
            )
    if header.problems:
        if len(header.problems) == 1:
            raise header.problems[0]
        raise PatchSetError([str(p) for p in header.problems])
    _check_hunk_headers(raw_lines, start, shown)
    files = _parse_diff(raw_lines, start, shown)
    return Patch(
        path=path,
        name=path.name,
        number=number,
        variant=variant,
        sha256=hashlib.sha256(data).hexdigest(),
        subject=fields.get("Subject") or "",
        package=canonicalize_name(fields.get("Package") or ""),
        versions=versions,
        requires=tuple(requires),
        applied_upstream=applied_upstream,
        tests=tuple((fields.get("Test") or "").split()),
        header=fields,
        files=files,
        header_lines=dict(header.lines),
        depends=depends,
        affects=affects,
    )


def parse_diff(data: bytes, *, display: str) -> tuple[FilePatch, ...]:
    """Parse a bare diff (no sitepatch header; a ``git format-patch`` envelope is skipped).

    :raises PatchParseError: naming ``display`` and the line.
    """
    raw_lines = data.splitlines(keepends=True)
    for index, raw in enumerate(raw_lines):
        if len(raw) > MAX_LINE_BYTES:
            msg = f"line is {len(raw)} bytes long, over the {MAX_LINE_BYTES} byte limit"
            raise PatchParseError(display, index + 1, msg)
    raw_lines = _without_crlf(raw_lines)
    _check_hunk_headers(raw_lines, 0, display)
    return _parse_diff(raw_lines, 0, display)


def load_patches(directory: Path) -> tuple[Patch, ...]:
    """Parse every ``*.diff`` in ``directory``, in file-name order.

    :raises PatchSetError: listing every file that failed to parse (nothing is returned then).
    :raises TargetError: when ``directory`` is not a directory (a usage error, not a patch's fault).
    """
    if not directory.is_dir():
        msg = f"{directory}: patch directory not found; pass --patches DIR"
        raise TargetError(msg)
    patches: list[Patch] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.diff")):
        try:
            kind = path.stat().st_mode
        except OSError as err:
            problems.append(f"{path}: cannot read: {err.strerror or err}")
            continue
        if not stat.S_ISREG(kind):
            # Opening a FIFO would block the run forever, and a device or socket is no patch either.
            problems.append(f"{path}: not a regular file; patch files must be plain files (remove or rename it)")
            continue
        try:
            patches.append(parse_patch(path.read_bytes(), path=path))
        except PatchSetError as err:
            problems.extend(err.problems)
        except PatchParseError as err:
            problems.append(str(err))
        except OSError as err:
            problems.append(f"{path}: cannot read: {err.strerror or err}")
    if problems:
        raise PatchSetError(problems)
    return tuple(patches)
