"""The suite's self-test: a copy of the patch set with one deliberately widening change.

``python tests/authz/mutate.py --patches DIR --applied APPLY.json --out DIR2`` copies the patch set to
``DIR2`` with :data:`MUTATION` made in the applied variant it targets, and prints the violation texts the
comparison must then report (one per line). It fails when the change cannot be made (the variant's code
moved on: update :data:`MUTATION`), so the self-test can never pass by mutating nothing.

The change: 0010's method check is dropped (``_request_matches_pass_through_endpoint`` returns ``True``
whatever ``methods`` the entry lists). Two entries on one path, the first ``auth: false, methods: [GET]``,
the second ``auth: true, methods: [POST]``: a POST to a sub-path, served by the second, is judged by the
first and let through without a key (hole 2 of issue 16).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutation:
    """A regular expression over the added lines of one patch's variants, its replacement, what it must cause."""

    patch: str
    """The patch number whose applied variant is changed."""
    pattern: str
    replacement: str
    expect: tuple[str, ...]
    """Texts the comparison's violations must include (``compare.py --expect-violations``)."""


MUTATION = Mutation(
    patch="0010",
    pattern=r"^\+(?P<indent>\s*)return method\.upper\(\) in \{str\(m\)\.upper\(\) for m in methods\}$",
    replacement=r"+\g<indent>return True",
    expect=("POST /pt/a/b by no-key (config dup-methods-off-get-on-post",),
)


class MutationError(Exception):
    """The mutation cannot be made on this pin."""


def mutate(patches: Path, applied: list[str], out: Path, mutation: Mutation = MUTATION) -> tuple[str, ...]:
    """Copy ``patches`` to ``out`` with ``mutation`` made in its applied variant; return the expected texts.

    :raises MutationError: no applied variant of the patch, or its text has no line the pattern matches.
    """
    targets = [name for name in applied if name.startswith(f"{mutation.patch}-")]
    if len(targets) != 1:
        raise MutationError(f"patch {mutation.patch} is not applied here (applied: {', '.join(applied)})")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(patches, out)
    target = out / targets[0]
    text = target.read_text(encoding="utf-8")
    changed, count = re.subn(mutation.pattern, mutation.replacement, text, flags=re.MULTILINE)
    if count == 0:
        raise MutationError(
            f"{targets[0]}: no line matches {mutation.pattern!r}: the variant changed; update tests/authz/mutate.py"
        )
    target.write_text(changed, encoding="utf-8")
    return mutation.expect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=Path, required=True)
    parser.add_argument("--applied", type=Path, required=True, help="the output of apply_patches.py --json")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    document = json.loads(args.applied.read_text(encoding="utf-8"))
    applied = [p["name"] for p in document.get("patches", []) if p.get("status") in {"applied", "already-applied"}]
    try:
        expect = mutate(args.patches, applied, args.out)
    except MutationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("\n".join(expect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
