"""Build fake site-packages trees and patches for the engine's tests (no network, no real LiteLLM)."""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

__all__ = ["SOURCE", "make_diff", "make_site", "record_hash", "snapshot", "write_patch"]


SOURCE = b"".join(f"line {i}\n".encode() for i in range(1, 41))
"""The fixture module's pristine content: 40 numbered lines."""


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_site(
    root: Path,
    files: Mapping[str, bytes],
    *,
    name: str = "demo",
    version: str = "1.0",
    editable: bool = False,
    unrecorded: Mapping[str, bytes] | None = None,
) -> Path:
    """Install a fake distribution: its files, and a dist-info with METADATA and a hashed RECORD."""
    root.mkdir(parents=True, exist_ok=True)
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    rows = []
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rows.append(f"{rel},{record_hash(data)},{len(data)}")
    for rel, data in (unrecorded or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA fake.\n")
    rows.append(f"{dist_info.name}/METADATA,,")
    rows.append(f"{dist_info.name}/RECORD,,")
    if editable:
        (dist_info / "direct_url.json").write_text(json.dumps({"url": "file:///src", "dir_info": {"editable": True}}))
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")
    return root


def make_diff(old: bytes | None, new: bytes | None, path: str, *, context: int = 3) -> bytes:
    """A unified diff of ``old`` → ``new`` (``None``: the file does not exist), with a/ and b/ prefixes."""
    a = old.splitlines(keepends=True) if old else []
    b = new.splitlines(keepends=True) if new else []
    src = b"/dev/null" if old is None else f"a/{path}".encode()
    dst = b"/dev/null" if new is None else f"b/{path}".encode()
    out = []
    for line in difflib.diff_bytes(difflib.unified_diff, a, b, fromfile=src, tofile=dst, n=context):
        if line.endswith(b"\n"):
            out.append(line)
        else:
            out.append(line + b"\n\\ No newline at end of file\n")
    return b"".join(out)


def write_patch(
    directory: Path,
    name: str,
    diff: bytes,
    *,
    package: str = "demo",
    versions: str = ">=1.0",
    subject: str = "A fix",
    extra: Mapping[str, str] | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    header = [f"Subject: {subject}", f"Package: {package}", f"Versions: {versions}"]
    header.extend(f"{k}: {v}" for k, v in (extra or {}).items())
    path = directory / name
    path.write_bytes(("\n".join(header) + "\n\n").encode() + diff)
    return path


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (but sitepatch's own state) with its sha256; symlinks by their target."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".sitepatch"):
            continue
        if path.is_symlink():
            result[rel] = "->" + str(path.readlink())
        elif path.is_file():
            result[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result
