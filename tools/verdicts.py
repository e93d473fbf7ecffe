"""Judge the regression tests' verdicts for the ``patched``, ``unpatched`` and ``isolation`` sessions.

``tests/regression/conftest.py`` classifies every test (``--verdicts FILE``): ``failed`` means the test failed
in its body on an assertion or on the exception its ``defect`` marker declares, so it showed its patch's
defect; ``error`` means the harness broke (set-up or tear-down error, another exception in the body, a
refused database or network call); ``passed`` and ``skipped`` are what they say. This module turns those
verdicts into the sessions' problems:

- ``patched``: every test of every patch selected for the pin passes, and so does every test of every
  patch fixed upstream there (with the set applied and that patch not in it).
- ``unpatched``: every test of every selected patch shows its defect; every test of a patch fixed upstream
  passes (the proof that upstream fixed it), unless the patch depends on a patch the pin still needs, in
  which case ``patched`` proves it.
- ``isolation``: with all selected patches applied but one (and the patches that depend on it), that
  patch's tests show its defect and every applied patch's tests pass.

A harness error, a skipped test, a collection error or a patch without tests is a problem in every session:
none of them is evidence either way. Only the standard library is imported at module level (``noxfile.py``
imports this module); :func:`fixed_upstream` imports ``sitepatch`` when called.

Usage (in a pin's session environment): ``python tools/verdicts.py fixed-upstream PIN`` prints, as JSON,
the patches fixed upstream on the pin with their ``Applied-Upstream`` version.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFECT",
    "ERROR",
    "PASSED",
    "SKIPPED",
    "Run",
    "TestVerdict",
    "dependencies",
    "dependents",
    "fixed_upstream",
    "judge_isolation",
    "judge_patched",
    "judge_unpatched",
    "leave_one_out",
    "main",
]

ROOT = Path(__file__).resolve().parents[1]

PASSED = "passed"
DEFECT = "failed"
ERROR = "error"
SKIPPED = "skipped"

_NUMBER = re.compile(r"\b(\d{4})(?:\b|-)")


@dataclass(frozen=True)
class TestVerdict:
    """One test's verdict as ``conftest.py`` classified it."""

    __test__ = False  # not a pytest test class

    nodeid: str
    patch: str
    """The patch number of the test's ``patch`` marker, or ``harness``."""
    verdict: str
    """``passed``, ``failed`` (showed the defect), ``error`` (harness) or ``skipped``."""
    reason: str = ""

    @property
    def name(self) -> str:
        """The test's node id without the file path, e.g. ``test_x[openai]``."""
        return self.nodeid.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Run:
    """The verdicts of one pytest run of the regression tests."""

    tests: tuple[TestVerdict, ...]
    collection_errors: tuple[str, ...] = ()
    exitstatus: int = 0

    @classmethod
    def load(cls, path: Path) -> Run:
        """Read a ``--verdicts`` file.

        :raises FileNotFoundError: if pytest did not get as far as writing it.
        """
        data = json.loads(path.read_text(encoding="utf-8"))
        tests = tuple(
            TestVerdict(nodeid, str(v["patch"]), str(v["verdict"]), str(v.get("reason", "")))
            for nodeid, v in sorted(data["tests"].items())
        )
        return cls(tests, tuple(map(str, data.get("collection_errors", []))), int(data.get("exitstatus", 0)))

    def of(self, number: str) -> list[TestVerdict]:
        """The verdicts of patch ``number``'s tests."""
        return [t for t in self.tests if t.patch == number]

    def harness_problems(self, context: str) -> list[str]:
        """Collection errors, harness errors and skipped tests: the run proves nothing where they are."""
        problems = [f"{context}: collection error: {error}" for error in self.collection_errors]
        problems.extend(
            f"{context}: {t.nodeid}: {t.reason or 'harness error'}" for t in self.tests if t.verdict == ERROR
        )
        problems.extend(f"{context}: {t.nodeid} was skipped: {t.reason}" for t in self.tests if t.verdict == SKIPPED)
        if self.exitstatus not in (0, 1):
            problems.append(f"{context}: pytest exited with status {self.exitstatus} (interrupted or usage error)")
        return problems


def _number(name: str) -> str:
    return name[:4]


def _missing(run: Run, numbers: Iterable[str], context: str) -> list[str]:
    return [f"{context}: patch {n} has no regression test that ran" for n in sorted(set(numbers)) if not run.of(n)]


def judge_patched(run: Run, *, pin: str, selected: Iterable[str], upstream: Mapping[str, str]) -> list[str]:
    """Problems of a ``patched`` run: any test of a selected or fixed-upstream patch that did not pass.

    :param selected: the file names (or numbers) of the patches applied to the pin.
    :param upstream: number -> ``Applied-Upstream`` version of the patches fixed upstream on the pin.
    """
    context = f"patched({pin})"
    numbers = sorted({_number(n) for n in selected})
    problems = run.harness_problems(context) + _missing(run, [*numbers, *upstream], context)
    problems.extend(
        f"{context}: patch {t.patch}: {t.name} fails with the set applied: {t.reason}"
        for n in numbers
        for t in run.of(n)
        if t.verdict == DEFECT
    )
    problems.extend(
        f"{context}: patch {t.patch} is marked fixed upstream ({upstream[n]}) but {t.name} fails with the set "
        f"applied: {t.reason}"
        for n in sorted(upstream)
        for t in run.of(n)
        if t.verdict == DEFECT
    )
    harness = [t for t in run.tests if t.patch == "harness" and t.verdict == DEFECT]
    problems.extend(f"{context}: harness self-test {t.name} failed: {t.reason}" for t in harness)
    return problems


def judge_unpatched(
    run: Run,
    *,
    pin: str,
    selected: Iterable[str],
    upstream: Mapping[str, str],
) -> list[str]:
    """Problems of an ``unpatched`` run (nothing applied).

    Every test of a selected patch must show the defect; every test of a fixed-upstream patch must pass.

    :param upstream: number -> ``Applied-Upstream`` of the fixed-upstream patches whose tests ran here.
    """
    context = f"unpatched({pin})"
    numbers = sorted({_number(n) for n in selected})
    problems = run.harness_problems(context) + _missing(run, [*numbers, *upstream], context)
    problems.extend(
        f"{context}: patch {t.patch} is no longer needed on {pin}: retire it ({t.name} passed unpatched)"
        for n in numbers
        for t in run.of(n)
        if t.verdict == PASSED
    )
    problems.extend(
        f"{context}: patch {t.patch} is marked fixed upstream ({upstream[n]}) but {t.name} still fails without "
        f"it on {pin}: {t.reason}"
        for n in sorted(upstream)
        for t in run.of(n)
        if t.verdict == DEFECT
    )
    return problems


def judge_isolation(run: Run, *, pin: str, left_out: str, also_out: Iterable[str], applied: Iterable[str]) -> list[str]:
    """Problems of one leave-one-out run: ``left_out`` (and ``also_out``, its dependents) not applied.

    ``left_out``'s tests must show its defect: with every other patch applied, a failure cannot come from
    another patch's defect. Every applied patch's tests must pass. The dependents' tests are not judged
    (they may need ``left_out``).
    """
    context = f"isolation({pin}) without {left_out}"
    skip = set(also_out)
    applied_numbers = sorted({_number(n) for n in applied} - {left_out} - skip)
    problems = run.harness_problems(context) + _missing(run, [left_out, *applied_numbers], context)
    problems.extend(
        f"{context}: {t.name} passes without patch {left_out}: it does not prove that patch (it fails unpatched "
        "only because of another patch's defect)"
        for t in run.of(left_out)
        if t.verdict == PASSED
    )
    problems.extend(
        f"{context}: patch {t.patch}: {t.name} fails when {left_out} is left out: it needs {left_out} "
        f"(declare `Depends: {left_out}` or make the test independent): {t.reason}"
        for n in applied_numbers
        for t in run.of(n)
        if t.verdict == DEFECT
    )
    return problems


# --------------------------------------------------------------------------------------------------
# Dependencies between patches (the `Depends:` header)
# --------------------------------------------------------------------------------------------------


def _header(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


def dependencies(patch_files: Iterable[Path]) -> dict[str, frozenset[str]]:
    r"""Patch number -> the numbers its ``Depends:`` header names (over all variants of the number).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "0005-x.diff").write_text("Subject: x\nDepends: 0004-files-retrieve\n\n--- a/x\n")
    >>> _ = (d / "0004-y.diff").write_text("Subject: y\n\n--- a/y\n")
    >>> dict(sorted(dependencies(sorted(d.glob("*.diff"))).items()))
    {'0004': frozenset(), '0005': frozenset({'0004'})}
    """
    found: dict[str, set[str]] = {}
    for path in patch_files:
        number = path.name[:4]
        header = _header(path.read_text(encoding="utf-8", errors="replace"))
        named = set(_NUMBER.findall(header.get("depends", "")))
        found.setdefault(number, set()).update(named - {number})
    return {number: frozenset(named) for number, named in found.items()}


def dependents(number: str, depends: Mapping[str, Iterable[str]], among: Iterable[str]) -> frozenset[str]:
    """The patches of ``among`` that depend on ``number``, directly or through others.

    >>> sorted(dependents("0004", {"0005": {"0004"}, "0006": {"0005"}, "0007": set()}, ["0005", "0006", "0007"]))
    ['0005', '0006']
    """
    pool = set(among)
    out: set[str] = set()
    frontier = {number}
    while frontier:
        frontier = {n for n in pool - out if set(depends.get(n, ())) & (frontier | out)} - out
        out |= frontier
    return frozenset(out - {number})


def leave_one_out(selected: Iterable[str], depends: Mapping[str, Iterable[str]]) -> list[tuple[str, frozenset[str]]]:
    """For each selected patch: its number and the selected patches that must be left out with it.

    >>> leave_one_out(["0004-a.diff", "0005-b.diff", "0010-c.diff"], {"0005": {"0004"}})
    [('0004', frozenset({'0005'})), ('0005', frozenset()), ('0010', frozenset())]
    """
    numbers = sorted({_number(n) for n in selected})
    return [(n, dependents(n, depends, numbers)) for n in numbers]


# --------------------------------------------------------------------------------------------------
# Patches fixed upstream on a pin
# --------------------------------------------------------------------------------------------------


def fixed_upstream(pin: str, *, lockfile: Path | None = None, patches_dir: Path | None = None) -> dict[str, str]:
    """Number -> ``Applied-Upstream`` of the patches not selected on ``pin`` because upstream has the fix.

    A number with a variant selected on the pin is not included. Reads the pin's distributions from
    ``versions.lock``; needs ``sitepatch``'s dependencies (``unidiff``, ``packaging``).
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from packaging.utils import canonicalize_name  # noqa: PLC0415 - only this function needs them
    from packaging.version import Version  # noqa: PLC0415

    from sitepatch.parse import load_patches  # noqa: PLC0415
    from sitepatch.selection import select_patches  # noqa: PLC0415

    lock = json.loads((lockfile or ROOT / "versions.lock").read_text(encoding="utf-8"))
    installed = {canonicalize_name(k): Version(v) for k, v in lock["pins"][pin]["distributions"].items()}
    decisions = select_patches(load_patches(patches_dir or ROOT / "patches"), installed)
    selected = {d.patch.number for d in decisions if d.selected}
    return {
        d.patch.number: str(d.patch.applied_upstream)
        for d in decisions
        if not d.selected and d.reason.startswith("fixed upstream") and d.patch.number not in selected
    }


def main(argv: list[str] | None = None) -> int:
    """``fixed-upstream PIN``: print :func:`fixed_upstream` as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "fixed-upstream":
        sys.stderr.write("usage: python tools/verdicts.py fixed-upstream PIN\n")
        return 2
    sys.stdout.write(json.dumps(fixed_upstream(args[1]), sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
