# ruff: noqa: INP001 - a script run by docker/Dockerfile, not a package module
"""Patch the LiteLLM of a container image at build time: the step ``docker/Dockerfile`` runs.

``python docker/patch_image.py --site-packages DIR --litellm-version X.Y.Z`` with the image's interpreter:

1. the litellm installed in DIR must be exactly X.Y.Z (the base image's tag and the build argument agree);
2. X.Y.Z must be a pin of ``versions.lock``, and every distribution the pin names must be installed at the
   pinned version (the set was tested on exactly that install);
3. apply the set strictly: ``apply_patches.py --max-fuzz 0 --strict``, all or nothing, after a ``check
   --strict`` that refuses (writing nothing) an install a known defect would stay in (an uncovered patch);
4. ``lock verify --pin X.Y.Z``: exactly the lock's patches applied, with the lock's post-images;
5. ``status``: everything recorded is in place;
6. byte-compile the patched modules: a patch that leaves invalid Python fails the build, and a container that
   cannot write ``__pycache__`` does not recompile them at every start.

Exit codes: 0 the image is patched; 1 a check failed (nothing is written before step 3; a failed apply writes
nothing); 2 usage or environment error (no such site-packages, litellm not installed there).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import py_compile
import sys
import sysconfig
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sitepatch.cli import main as sitepatch_main  # noqa: E402 - the checkout's engine, as apply_patches.py runs it

PREFIX = "patch_image: "


class CheckError(Exception):
    """A check failed; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def sitepatch(*args: str, capture: bool = False) -> tuple[int, str]:
    """Run ``apply_patches.py ARGS`` in this process; its output goes to ours unless captured."""
    sys.stdout.write(f"{PREFIX}$ apply_patches.py {' '.join(args)}\n")
    sys.stdout.flush()
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if capture else contextlib.nullcontext():
        code = sitepatch_main(list(args), default_patches=REPO / "patches")
    return code, out.getvalue()


def _json(args: list[str]) -> dict[str, Any]:
    code, out = sitepatch(*args, "--json", capture=True)
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise CheckError(f"{args[0]} printed no JSON", 2)
    if code == 2:
        raise CheckError(str(doc.get("error")), 2)
    return doc


def _hint() -> str:
    return f"set the SITE_PACKAGES build argument ({sys.executable} installs into {sysconfig.get_path('purelib')})"


def _is(pin_id: str, wanted: Version) -> bool:
    try:
        return Version(pin_id) == wanted
    except InvalidVersion:
        return False


def check_versions(site: Path, expected: str, lockfile: Path, patches: Path) -> str:
    """Steps 1 and 2: the installed versions are the pin's, before anything is written; returns the pin id."""
    try:
        wanted = Version(expected)
    except InvalidVersion as err:
        raise CheckError(f"--litellm-version {expected!r} is not a version", 2) from err
    doc = _json(["list", "--site-packages", str(site), "--patches", str(patches)])
    installed: dict[str, str] = {canonicalize_name(k): str(v) for k, v in doc.get("distributions", {}).items()}
    if "litellm" not in installed:
        raise CheckError(f"litellm is not installed in {site}: is this the image's site-packages? {_hint()}", 2)
    if Version(installed["litellm"]) != wanted:
        raise CheckError(
            f"litellm {installed['litellm']} is installed in {site}, but the build pins {expected}: "
            "build FROM the image of that version, or pass the installed version as LITELLM_VERSION"
        )
    pins: dict[str, Any] = json.loads(lockfile.read_text(encoding="utf-8"))["pins"]
    pin_id = next((str(pin_id) for pin_id in pins if _is(pin_id, wanted)), None)
    if pin_id is None:
        raise CheckError(
            f"litellm {expected} is not a pin of {lockfile} (pins: {', '.join(pins)}); the patch set is only "
            "shipped on installs it was tested on: add the pin first (README, 'Moving a pin')"
        )
    for name, version in pins[pin_id]["distributions"].items():
        have = installed.get(canonicalize_name(name))
        if have is None or Version(have) != Version(version):
            raise CheckError(
                f"{name} {have or '(not installed)'} is in {site}, but versions.lock pin {pin_id} has {version}"
            )
    return pin_id


def compile_patched(site: Path, status: dict[str, Any]) -> list[str]:
    """Step 6: byte-compile every patched ``.py`` file; returns their paths."""
    paths = sorted({f["path"] for p in status.get("patches", []) for f in p.get("files", [])})
    compiled = []
    for rel in paths:
        path = site / rel
        if rel.endswith(".py") and path.is_file():
            try:
                py_compile.compile(str(path), doraise=True)
            except py_compile.PyCompileError as err:
                raise CheckError(f"the patched {rel} does not compile: {err.msg.strip()}") from err
            compiled.append(rel)
    return compiled


def patch_image(site: Path, expected: str, lockfile: Path, patches: Path) -> None:
    """All six steps; raises :class:`CheckError` at the first that fails."""
    if not site.is_dir():
        raise CheckError(f"{site}: no such site-packages directory; {_hint()}", 2)
    pin = check_versions(site, expected, lockfile, patches)
    common = ["--site-packages", str(site), "--patches", str(patches)]
    planned = _json(["check", *common, "--max-fuzz", "0"])
    if planned.get("uncovered"):
        names = ", ".join(f"{u['patch']} ({u['package']} {u['version']})" for u in planned["uncovered"])
        raise CheckError(f"this image would NOT be protected: no variant covers {names}; nothing was written")
    if (code := sitepatch("apply", *common, "--max-fuzz", "0", "--strict")[0]) != 0:
        raise CheckError("applying the patch set failed; nothing was written", code)
    lock = ["lock", "verify", "--pin", pin, "--lockfile", str(lockfile), *common]
    if (code := sitepatch(*lock)[0]) != 0:
        raise CheckError(f"what was applied differs from versions.lock pin {pin}", code)
    if (code := sitepatch("status", *common)[0]) != 0:
        raise CheckError("status: not everything recorded is in place", code)
    compiled = compile_patched(site, _json(["status", *common]))
    sys.stdout.write(f"{PREFIX}byte-compiled {len(compiled)} patched module(s)\n")


def main(argv: list[str] | None = None) -> int:
    """Run the build step; see the module docstring."""
    parser = argparse.ArgumentParser(prog="patch_image.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--site-packages", type=Path, required=True, metavar="DIR")
    parser.add_argument("--litellm-version", required=True, metavar="X.Y.Z")
    parser.add_argument("--lockfile", type=Path, default=REPO / "versions.lock", metavar="FILE")
    parser.add_argument("--patches", type=Path, default=REPO / "patches", metavar="DIR")
    args = parser.parse_args(argv)
    try:
        patch_image(args.site_packages, args.litellm_version, args.lockfile, args.patches)
    except CheckError as err:
        sys.stderr.write(f"{PREFIX}error: {err}\n")
        return err.code
    sys.stdout.write(f"{PREFIX}litellm {args.litellm_version} in {args.site_packages} is patched\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
