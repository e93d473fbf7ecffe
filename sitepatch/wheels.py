"""Find the pristine bytes of installed files: sitepatch's own copies, uv's and pip's caches, or the index.

Every candidate is checked against the distribution's RECORD hash before it is used, so a cache of another
build or a damaged download can never pass for the pristine file.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sitepatch._record import field, mutable
from sitepatch.dist import Distribution, record_digest

__all__ = ["Downloader", "PristineFinder", "pip_download"]


def __dir__() -> list[str]:
    return __all__


Downloader = Callable[[str, str, Path], Sequence[Path]]
"""``(name, version, directory) -> wheel files``: fetch the wheel(s) of one release into ``directory``."""


def pip_download(name: str, version: str, directory: Path) -> Sequence[Path]:
    """Download the wheel of ``name==version`` with pip (no dependencies), any platform's wheel will do."""
    subprocess.run(  # noqa: S603 - fixed command, names validated by packaging
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"),
            *(f"{name}=={version}", "-d", str(directory)),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return sorted(directory.glob("*.whl"))


def _cache_root(variable: str, default: str) -> Path:
    if os.environ.get(variable):
        return Path(os.environ[variable])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / default


@mutable
class PristineFinder:
    """Look up pristine file contents of one distribution, verified against its RECORD."""

    dist: Distribution
    kept: Callable[[str], bytes | None] = lambda _path: None
    """sitepatch's own pristine copies (``.sitepatch/pristine``)."""
    downloader: Downloader | None = None
    """How to fetch the wheel when no cache has it; ``None``: never download."""
    uv_cache: Path = field(default_factory=lambda: _cache_root("UV_CACHE_DIR", "uv"))
    pip_cache: Path = field(default_factory=lambda: _cache_root("PIP_CACHE_DIR", "pip"))
    tried: list[str] = field(default_factory=list)
    """Where it looked, for the error message when a file cannot be found."""

    def _verified(self, path: str, data: bytes | None) -> bytes | None:
        if data is not None and record_digest(data) == self.dist.record.get(path):
            return data
        return None

    def _uv_roots(self) -> Iterator[Path]:
        name = self.dist.dist_info.name
        if not self.uv_cache.is_dir():
            return
        for archive in sorted(self.uv_cache.glob("archive-v*")):
            for root in archive.iterdir():
                if (root / name / "RECORD").is_file():
                    yield root

    def _pip_wheels(self) -> Iterator[zipfile.ZipFile]:
        wanted = f"{self.dist.dist_info.name}/RECORD"
        if not self.pip_cache.is_dir():
            return
        for path in self.pip_cache.rglob("*"):
            if not path.is_file() or path.stat().st_size < 1024:  # smaller than any wheel
                continue
            with path.open("rb") as handle:
                if handle.read(4) != b"PK\x03\x04":
                    continue
            try:
                archive = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                continue
            if wanted in archive.namelist():
                yield archive
            else:
                archive.close()

    def find(self, paths: Sequence[str]) -> tuple[dict[str, bytes], list[str]]:
        """The pristine bytes of each of ``paths``; and the paths that could not be found anywhere."""
        found: dict[str, bytes] = {}
        missing = [p for p in paths if p in self.dist.record]
        self.tried.append("sitepatch's pristine copies")
        self._collect(missing, found, self.kept)
        if missing:
            self.tried.append(f"uv cache {self.uv_cache}")
            for root in self._uv_roots():
                self._collect(missing, found, functools.partial(_read_under, root))
        if missing:
            self.tried.append(f"pip cache {self.pip_cache}")
            for archive in self._pip_wheels():
                with archive:
                    self._take(archive, missing, found)
        if missing and self.downloader is not None:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    for wheel in self.downloader(str(self.dist.name), str(self.dist.version), Path(tmp)):
                        with zipfile.ZipFile(wheel) as archive:
                            self._take(archive, missing, found)
            except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as err:
                # Offline, no pip (the Docker image has none), no such release: the files stay missing.
                self.tried.append(f"a download of the wheel from the package index, which failed ({_why(err)})")
            else:
                self.tried.append("a download of the wheel from the package index")
        return found, missing

    def _take(self, archive: zipfile.ZipFile, missing: list[str], found: dict[str, bytes]) -> None:
        names = set(archive.namelist())
        self._collect(missing, found, lambda path: archive.read(path) if path in names else None)

    def _collect(self, missing: list[str], found: dict[str, bytes], read: Callable[[str], bytes | None]) -> None:
        """Move each missing path whose candidate from ``read`` matches RECORD into ``found``."""
        for path in list(missing):
            data = self._verified(path, read(path))
            if data is not None:
                found[path] = data
                missing.remove(path)


def _why(err: BaseException) -> str:
    """A download failure in one line: pip's last line of stderr when it ran and failed."""
    if isinstance(err, subprocess.CalledProcessError):
        output = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else str(err.stderr or "")
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit {err.returncode}"
    return str(err)


def _read_under(root: Path, path: str) -> bytes | None:
    full = root / path
    return full.read_bytes() if full.is_file() else None
