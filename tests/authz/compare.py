"""Compare two recordings of the authorization matrix: patched access must not exceed unpatched access.

The property: for every case (config, request, method, caller), if the patched proxy admits it, the unpatched
proxy admitted it too, or a patch applied on the pin declares it as an opening. Openings are the ``Opens:``
header field of the applied patches::

    Opens: surface=pass-through-subpath auth=off caller=any

One or more clauses, separated by ``;`` (or by a new continuation line); each clause is the three
``key=value`` words ``surface`` (where: :data:`matrix.SURFACES`), ``auth`` (the serving config entry's
``auth`` as registration reads it: ``off``, ``on``, ``unset``, or ``any``) and ``caller`` (a caller of
:data:`matrix.CALLERS`, or ``any``). A case is opened when one clause matches all three.

Pure: no LiteLLM. ``python tests/authz/compare.py --unpatched U.json --patched P.json --patches DIR
--applied APPLY.json [--out REPORT.json]`` exits 1 on any violation or harness problem.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

import authz_matrix as matrix  # noqa: E402 - after the path

AUTH_VALUES = ("off", "on", "unset", "any")
_KEYS = ("surface", "auth", "caller")


class OpensError(ValueError):
    """An ``Opens:`` field that does not follow the grammar."""


@dataclass(frozen=True)
class Opening:
    """One clause of an ``Opens:`` field."""

    surface: str
    auth: str
    caller: str
    patch: str = ""
    """The patch that declares it (for the report)."""

    def covers(self, case: Mapping[str, Any]) -> bool:
        """Whether this opening admits ``case`` (a recorded outcome with surface, auth and caller)."""
        return (
            self.surface == case["surface"]
            and self.auth in {"any", case["auth"]}
            and self.caller in {"any", case["caller"]}
        )

    def __str__(self) -> str:
        return f"surface={self.surface} auth={self.auth} caller={self.caller}"


def parse_opens(text: str, *, patch: str = "") -> tuple[Opening, ...]:
    """Parse an ``Opens:`` value.

    >>> parse_opens("surface=pass-through-subpath auth=off caller=any")
    (Opening(surface='pass-through-subpath', auth='off', caller='any', patch=''),)

    :raises OpensError: naming the clause and what is wrong with it.
    """
    clauses = [c.strip() for c in re.split(r"[;\n]", text) if c.strip()]
    if not clauses:
        raise OpensError(f"{patch or 'Opens'}: empty Opens field (leave it out when a patch opens nothing)")
    callers = {c.name for c in matrix.CALLERS}
    out = []
    for clause in clauses:
        words: dict[str, str] = {}
        for word in clause.split():
            key, sep, value = word.partition("=")
            if not sep or not value:
                raise OpensError(f"{patch or 'Opens'}: {clause!r}: {word!r} is not key=value")
            if key not in _KEYS:
                raise OpensError(f"{patch or 'Opens'}: {clause!r}: unknown key {key!r} (known: {', '.join(_KEYS)})")
            if key in words:
                raise OpensError(f"{patch or 'Opens'}: {clause!r}: {key} given twice")
            words[key] = value
        missing = [k for k in _KEYS if k not in words]
        if missing:
            raise OpensError(f"{patch or 'Opens'}: {clause!r}: missing {', '.join(missing)}")
        if words["surface"] not in matrix.SURFACES:
            raise OpensError(
                f"{patch or 'Opens'}: {clause!r}: unknown surface {words['surface']!r} "
                f"(known: {', '.join(matrix.SURFACES)})"
            )
        if words["auth"] not in AUTH_VALUES:
            raise OpensError(f"{patch or 'Opens'}: {clause!r}: auth must be one of {', '.join(AUTH_VALUES)}")
        if words["caller"] != "any" and words["caller"] not in callers:
            raise OpensError(f"{patch or 'Opens'}: {clause!r}: unknown caller {words['caller']!r}")
        out.append(Opening(words["surface"], words["auth"], words["caller"], patch))
    return tuple(out)


def openings_of(patch_files: Iterable[Path]) -> tuple[Opening, ...]:
    """The openings the given patch files declare (their ``Opens:`` header fields), read by sitepatch's parser."""
    from sitepatch.parse import parse_patch

    out: list[Opening] = []
    for path in patch_files:
        patch = parse_patch(path.read_bytes(), path=path)
        text = patch.header.get("Opens")
        if text is not None:
            out.extend(parse_opens(text, patch=path.name))
    return tuple(out)


@dataclass(frozen=True)
class Violation:
    """A case the patched proxy admits, the unpatched one refused, and no applied patch declares."""

    config: str
    request: str
    method: str
    caller: str
    surface: str
    auth: str
    unpatched_status: int
    patched_status: int

    def __str__(self) -> str:
        return (
            f"{self.method} {self.request} by {self.caller} (config {self.config}; {self.surface}, auth {self.auth}): "
            f"unpatched {self.unpatched_status} refused, patched {self.patched_status} admitted"
        )


def _key(case: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (case["config"], case["request"], case["method"], case["caller"])


def compare(unpatched: Mapping[str, Any], patched: Mapping[str, Any], openings: Iterable[Opening]) -> list[Violation]:
    """Every case patched admits beyond unpatched access and the declared openings.

    >>> case = {"config": "c", "request": "/pt/a", "method": "GET", "surface": "pass-through-subpath", "auth": "on"}
    >>> refused = {"outcomes": [{**case, "caller": "valid", "status": 401, "admitted": False}]}
    >>> admitted = {"outcomes": [{**case, "caller": "valid", "status": 200, "admitted": True}]}
    >>> [str(v) for v in compare(refused, admitted, [])]
    ['GET /pt/a by valid (config c; pass-through-subpath, auth on): unpatched 401 refused, patched 200 admitted']
    >>> compare(refused, admitted, parse_opens("surface=pass-through-subpath auth=on caller=valid"))
    []

    :param unpatched: a recording (``record.py``) of the unpatched install.
    :param patched: a recording of the same pin with the set applied.
    :raises ValueError: when the two recordings do not hold the same cases.
    """
    opened = tuple(openings)
    before = {_key(case): case for case in unpatched["outcomes"]}
    after = {_key(case): case for case in patched["outcomes"]}
    if set(before) != set(after):
        only = sorted(set(before) ^ set(after))[:5]
        raise ValueError(f"the recordings hold different cases (e.g. {only}): record both with the same matrix")
    violations = []
    for key in sorted(after):
        was, now = before[key], after[key]
        if not now["admitted"] or was["admitted"]:
            continue
        if any(o.covers(now) for o in opened):
            continue
        violations.append(
            Violation(
                config=now["config"],
                request=now["request"],
                method=now["method"],
                caller=now["caller"],
                surface=now["surface"],
                auth=now["auth"],
                unpatched_status=int(was["status"]),
                patched_status=int(now["status"]),
            )
        )
    return violations


def harness_problems(document: Mapping[str, Any], label: str) -> list[str]:
    """What makes a recording unusable: a caller the control request did not treat as its restriction says."""
    return [
        f"{label}: harness error: caller {c['caller']} is not what the matrix says it is on the control request "
        f"(POST {matrix.CONTROL.path}: {c['status']}, admitted={c['admitted']}, expected admitted="
        f"{c['expected_admitted']}; {c.get('detail', '')[:120]})"
        for c in document["controls"]
        if not c["ok"]
    ]


def widened(unpatched: Mapping[str, Any], patched: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every case admitted patched and refused unpatched (declared or not), for the report."""
    before = {_key(case): case for case in unpatched["outcomes"]}
    return [
        {
            **dict(zip(("config", "request", "method", "caller"), key, strict=True)),
            "surface": c["surface"],
            "auth": c["auth"],
            "unpatched": before[key]["status"],
            "patched": c["status"],
        }
        for key, c in sorted(((_key(c), c) for c in patched["outcomes"]), key=lambda pair: pair[0])
        if c["admitted"] and key in before and not before[key]["admitted"]
    ]


def applied_patches(apply_document: Mapping[str, Any], patches_dir: Path) -> list[Path]:
    """The patch files ``apply_patches.py --json`` applied (or found already applied)."""
    names = [p["name"] for p in apply_document.get("patches", []) if p.get("status") in {"applied", "already-applied"}]
    return [patches_dir / name for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unpatched", type=Path, required=True)
    parser.add_argument("--patched", type=Path, required=True)
    parser.add_argument("--patches", type=Path, required=True, help="the patch directory")
    parser.add_argument("--applied", type=Path, required=True, help="the output of apply_patches.py --json")
    parser.add_argument("--out", type=Path, help="write the report here")
    parser.add_argument(
        "--expect-violations",
        action="append",
        default=[],
        metavar="TEXT",
        help="self-test: succeed only if there are violations, and one names TEXT (repeatable)",
    )
    args = parser.parse_args(argv)
    unpatched = json.loads(args.unpatched.read_text(encoding="utf-8"))
    patched = json.loads(args.patched.read_text(encoding="utf-8"))
    applied = applied_patches(json.loads(args.applied.read_text(encoding="utf-8")), args.patches)
    openings = openings_of(applied)
    problems = harness_problems(unpatched, "unpatched") + harness_problems(patched, "patched")
    violations = compare(unpatched, patched, openings)
    report = {
        "distributions": patched.get("distributions"),
        "size": patched.get("size"),
        "applied": [p.name for p in applied],
        "openings": [{**asdict(o)} for o in openings],
        "seconds": {"unpatched": unpatched.get("seconds"), "patched": patched.get("seconds")},
        "harness_problems": problems,
        "violations": [asdict(v) for v in violations],
        "opened": widened(unpatched, patched),
        "harness_faults": sum(1 for c in patched["outcomes"] if c.get("faults")),
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    for problem in problems:
        print(problem)
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print(
        f"{len(patched['outcomes'])} cases; {len(report['opened'])} admitted only patched, "
        f"{len(violations)} of them not declared; {len(openings)} declared opening(s) of {len(applied)} patch(es)"
    )
    if args.expect_violations:
        texts = [str(v) for v in violations]
        missing = [t for t in args.expect_violations if not any(t in v for v in texts)]
        if problems or not violations or missing:
            print(f"SELF-TEST FAILED: the widening change was not reported (missing: {missing})")
            return 1
        print("self-test: the widening change is reported")
        return 0
    return 1 if problems or violations else 0


if __name__ == "__main__":
    sys.exit(main())
