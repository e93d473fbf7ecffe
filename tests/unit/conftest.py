from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_site


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site-packages with one distribution, ``demo`` 1.0, owning ``demo/mod.py`` (40 lines)."""
    return make_site(tmp_path / "site", {"demo/__init__.py": b"", "demo/mod.py": SOURCE})


@pytest.fixture
def patches(tmp_path: Path) -> Path:
    path = tmp_path / "patches"
    path.mkdir()
    return path


@pytest.fixture
def run(site: Path, patches: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI against the fixture site; returns (exit code, stdout, stderr)."""
    from sitepatch.cli import main

    def invoke(*args: str, **kwargs: object) -> tuple[int, str, str]:
        argv = list(args)
        if not any(a.startswith(("--site-packages", "--python")) for a in argv):
            argv += ["--site-packages", str(site)]
        if not any(a.startswith("--patches") for a in argv) and (not argv or argv[0] not in ("status", "revert")):
            argv += ["--patches", str(patches)]
        code = main(argv, **kwargs)  # type: ignore[arg-type]
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
