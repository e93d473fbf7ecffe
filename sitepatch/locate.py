"""Find where a hunk belongs in a file: exact position, then offset search, then fuzz.

The rules follow GNU patch where it is sound and are stricter where it is not:

* The expected position is the hunk's header line plus the offset at which the previous hunk of the same
  file landed. Candidates never start before the end of the previous hunk (hunks stay in order).
* The whole allowed range is searched at fuzz 0, then at fuzz 1, and so on up to ``max_fuzz``.
* Fuzz ``f`` ignores up to ``f`` context lines at the outer ends of the hunk, exactly as GNU patch does
  (``f + leading - context`` lines at the top, ``f + trailing - context`` at the bottom, where ``context``
  is the larger of the two). A hunk with less context on one side than the other is anchored to that end of
  the file. Removed lines and the innermost context are never ignored.
* Unlike GNU patch and git apply, a hunk that matches at several positions at the lowest fuzz where it matches
  at all, none of them the expected one, is *ambiguous* and refused, with every candidate line reported.

Lines are compared without their line endings, so a patch made on LF files applies to CRLF files.
"""

from __future__ import annotations

from collections.abc import Sequence

from sitepatch._record import frozen

__all__ = ["Ambiguous", "Image", "Nearest", "Placement", "line_key", "locate", "nearest"]


def __dir__() -> list[str]:
    return __all__


def line_key(raw: bytes) -> bytes:
    r"""The form lines are compared in: without the line ending, so LF and CRLF agree.

    A last line that has no newline keeps a marker (a ``\n``, which no other key contains), so that, as in
    GNU patch, it only matches a hunk line that says "No newline at end of file".

    >>> line_key(b"x = 1\r\n"), line_key(b"x = 1\n"), line_key(b"x = 1")
    (b'x = 1', b'x = 1', b'x = 1\n')
    """
    if raw.endswith(b"\n"):
        return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    return raw + b"\n"


class Image:
    """The lines of one file version, with an index from line text to positions for fast search."""

    __slots__ = ("_index", "data", "keys", "lines")

    def __init__(self, data: bytes) -> None:
        self.data = data
        # Not bytes.splitlines: it also splits on \r, \v and \x0c, and diff tools split on \n only.
        parts = data.split(b"\n")
        last = parts.pop()
        self.lines: list[bytes] = [p + b"\n" for p in parts]
        # The keys are line_key() of each line, computed in bulk: without CRs, the parts are the keys.
        keys = [p[:-1] if p.endswith(b"\r") else p for p in parts] if b"\r" in data else parts
        if last:
            self.lines.append(last)
            keys.append(last + b"\n")
        self.keys: list[bytes] = keys
        self._index: dict[bytes, list[int]] | None = None

    def positions(self, key: bytes) -> list[int]:
        """Every 0-based position where a line with text ``key`` stands."""
        if self._index is None:
            index: dict[bytes, list[int]] = {}
            for pos, k in enumerate(self.keys):
                index.setdefault(k, []).append(pos)
            self._index = index
        return self._index.get(key, [])

    def __len__(self) -> int:
        return len(self.lines)


@frozen
class Placement:
    """Where a hunk was found."""

    start: int
    """0-based line where the hunk's whole pre-image would start (fuzzed-away lines included)."""
    offset: int
    """``start`` minus the line the hunk's header names."""
    fuzz: int
    top: int
    """Context lines ignored at the top of the hunk (fuzz)."""
    bottom: int
    """Context lines ignored at the bottom of the hunk (fuzz)."""
    length: int
    """How many file lines the matched part of the pre-image covers."""

    @property
    def end(self) -> int:
        """The 0-based line just after the matched region."""
        return self.start + self.top + self.length


@frozen
class Ambiguous:
    """The hunk matched at several places, none of them the expected one."""

    fuzz: int
    candidates: tuple[int, ...]
    """0-based lines where the whole pre-image would start."""


@frozen
class Nearest:
    """The best partial match of a hunk that did not apply, for the error report."""

    start: int
    matched: int
    """How many pre-image lines agree there."""
    actual: tuple[bytes, ...]
    """The file's lines at that position (as many as the pre-image has)."""


def _matches(keys: list[bytes], pattern: Sequence[bytes], at: int) -> bool:
    end = at + len(pattern)
    return at >= 0 and end <= len(keys) and keys[at:end] == (pattern if isinstance(pattern, list) else list(pattern))


def _find_all(image: Image, pattern: Sequence[bytes], lowest: int) -> list[int]:
    """Every position >= ``lowest`` where ``pattern`` stands, searching from its rarest line."""
    if not pattern:
        return list(range(lowest, len(image) + 1))
    best = min(range(len(pattern)), key=lambda i: len(image.positions(pattern[i])))
    keys = image.keys
    found = []
    for pos in image.positions(pattern[best]):
        at = pos - best
        if at >= lowest and _matches(keys, pattern, at):
            found.append(at)
    return found


def locate(  # noqa: PLR0913 - each argument is a distinct part of the search
    image: Image,
    pattern: Sequence[bytes],
    *,
    leading: int,
    trailing: int,
    header_start: int,
    expected: int,
    lowest: int,
    max_fuzz: int,
) -> Placement | Ambiguous | None:
    """Find ``pattern`` (a hunk's pre-image, as line keys) in ``image``.

    :param leading: context lines at the top of the hunk.
    :param trailing: context lines at the bottom of the hunk.
    :param header_start: the 1-based line the hunk header names for this side (``-N,...``).
    :param expected: the 0-based line where the pre-image should start, offsets of earlier hunks included.
    :param lowest: the first line the hunk may start at (the end of the previous hunk).
    :param max_fuzz: how many outer context lines may be ignored.
    :returns: a :class:`Placement`, :class:`Ambiguous`, or ``None`` when the hunk is not found.
    """
    n = len(pattern)
    context = max(leading, trailing)
    base = header_start - 1 if n else header_start
    for fuzz in range(min(max_fuzz, context) + 1):
        top = fuzz + leading - context
        bottom = fuzz + trailing - context
        at_start = top < 0 and header_start <= 1
        at_end = bottom < 0
        top = max(top, 0)
        bottom = max(bottom, 0)
        core = pattern[top : n - bottom]
        if not n:
            # A hunk with no pre-image (pure insertion without context) can only go where it says.
            hits = [expected] if lowest <= expected <= len(image) else []
        elif at_start or at_end:
            spot = 0 if at_start else len(image) - len(core)
            if at_start and at_end and len(core) != len(image):
                hits = []
            else:
                hits = [spot] if spot >= lowest and _matches(image.keys, core, spot) else []
        elif expected + top >= lowest and _matches(image.keys, core, expected + top):
            # Where it belongs: no other position can make it ambiguous, so there is no need to search.
            hits = [expected + top]
        else:
            hits = _find_all(image, core, lowest)
            if top:
                # As in GNU patch, the context lines fuzz ignores at the top must still lie inside the file and
                # after the previous hunk (those at the bottom may run past the end of the file).
                hits = [h for h in hits if h - top >= lowest]
        if not hits:
            continue
        want = expected + top
        if want in hits:
            chosen = want
        elif len(hits) == 1:
            chosen = hits[0]
        else:
            return Ambiguous(fuzz, tuple(h - top for h in hits))
        start = chosen - top
        return Placement(start=start, offset=start - base, fuzz=fuzz, top=top, bottom=bottom, length=len(core))
    return None


def nearest(image: Image, pattern: Sequence[bytes], *, expected: int, lowest: int) -> Nearest:
    """The position where most of ``pattern`` agrees with the file, nearest ``expected`` on a tie."""
    n = len(pattern)
    keys = image.keys
    best = (-1, 0, max(lowest, 0))
    last = max(len(keys) - n, lowest)
    for at in range(max(lowest, 0), last + 1):
        score = sum(1 for i in range(n) if at + i < len(keys) and keys[at + i] == pattern[i])
        rank = (score, -abs(at - expected), at)
        if rank[:2] > best[:2]:
            best = rank
    start = best[2]
    return Nearest(start=start, matched=max(best[0], 0), actual=tuple(image.lines[start : start + n]))
