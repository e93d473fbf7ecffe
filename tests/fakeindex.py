"""A fake package index on 127.0.0.1: JSON API pages and wheels built in the test, served with Range support."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from fakesite import record_hash

if TYPE_CHECKING:
    from sitepatch.remote import Release

__all__ = ["FakeIndex", "make_wheel", "serve", "serve_raw"]


def make_wheel(
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    requires: Sequence[str] = (),
    padding: int = 0,
    stored: bool = False,
    recorded: Mapping[str, bytes] | None = None,
) -> bytes:
    """A wheel of ``name`` ``version`` with ``files``, a METADATA with ``requires`` and a hashed RECORD.

    :param padding: bytes of incompressible data in an extra member, to make the wheel big.
    :param stored: store members uncompressed (so a test can damage their bytes in place).
    :param recorded: contents to compute RECORD hashes from instead of the real ones (a lying RECORD).
    """
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    members = dict(files)
    if padding:
        members[f"{name.replace('-', '_')}/_padding.bin"] = os.urandom(padding)
    meta = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
    meta.extend(f"Requires-Dist: {r}\n" for r in requires)
    members[f"{dist_info}/METADATA"] = ("".join(meta) + "\nA fake.\n").encode()
    members[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    lies = recorded or {}
    rows = [f"{path},{record_hash(lies.get(path, data))},{len(data)}" for path, data in members.items()]
    rows.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return buffer.getvalue()


@dataclass
class FakeIndex:
    """Projects, their releases' wheels, and a log of what was asked."""

    projects: dict[str, dict[str, tuple[str, bytes, str]]] = field(default_factory=dict)
    """name -> version -> (wheel file name, wheel bytes, upload time)."""
    ranges: bool = True
    """Honour Range headers (False: always send the whole file, like a server without range support)."""
    yanked: set[tuple[str, str]] = field(default_factory=set)
    log: list[tuple[str, str | None, int]] = field(default_factory=list)
    """(path, Range header, bytes sent) of every request."""
    url: str = ""
    pages: dict[str, bytes] = field(default_factory=dict)
    """name -> a JSON page served as is instead of the one built from ``projects`` (a malformed listing)."""

    def add(self, name: str, version: str, wheel: bytes, upload_time: str = "2026-01-01T00:00:00Z") -> None:
        """Publish ``wheel`` as the release ``name`` ``version``."""
        filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        self.projects.setdefault(name, {})[version] = (filename, wheel, upload_time)

    def page(self, name: str) -> bytes:
        if name in self.pages:
            return self.pages[name]
        releases = {
            version: [
                {
                    "filename": filename,
                    # Relative, like the mirror's: resolved against the JSON page's URL.
                    "url": f"../../files/{filename}",
                    "size": len(data),
                    "upload_time_iso_8601": uploaded,
                    "yanked": (name, version) in self.yanked,
                    "packagetype": "bdist_wheel",
                }
            ]
            for version, (filename, data, uploaded) in self.projects.get(name, {}).items()
        }
        return json.dumps({"info": {"name": name}, "releases": releases}).encode()

    def wheel(self, filename: str) -> bytes | None:
        for versions in self.projects.values():
            for name, data, _ in versions.values():
                if name == filename:
                    return data
        return None

    @property
    def bytes_sent(self) -> int:
        return sum(n for _, _, n in self.log)


def _handler(index: FakeIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            wanted = self.headers.get("Range")
            parts = self.path.strip("/").split("/")
            body: bytes | None = None
            if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json":
                known = parts[1] in index.projects or parts[1] in index.pages
                body = index.page(parts[1]) if known else None
                wanted = None
            elif len(parts) == 2 and parts[0] == "files":
                body = index.wheel(parts[1])
            if body is None:
                index.log.append((self.path, wanted, 0))
                self.send_error(404)
                return
            status = 200
            headers = {}
            if wanted and index.ranges and wanted.startswith("bytes="):
                spec = wanted[len("bytes=") :]
                start_text, _, end_text = spec.partition("-")
                size = len(body)
                if not start_text:
                    start, end = max(0, size - int(end_text)), size - 1
                else:
                    start = int(start_text)
                    end = min(size - 1, int(end_text)) if end_text else size - 1
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                body = body[start : end + 1]
                status = 206
            index.log.append((self.path, wanted, len(body)))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(index: FakeIndex) -> Iterator[FakeIndex]:
    """Serve ``index`` on 127.0.0.1 in a thread; ``index.url`` is its JSON API root."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(index))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    index.url = f"http://127.0.0.1:{server.server_address[1]}/pypi"
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def serve_raw(
    answer: Callable[[socket.socket, threading.Event], None], heads: list[bytes] | None = None
) -> Iterator[str]:
    """A hostile server on 127.0.0.1 that answers every connection with ``answer(connection, stop)``, bytes as is.

    The request head is read first (and appended to ``heads``); ``stop`` is set when the test leaves the block
    (a dripping answer ends then).
    Yields the server's root URL (``http://127.0.0.1:PORT``).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def one(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    data = connection.recv(4096)
                    if not data:
                        return
                    head += data
                if heads is not None:
                    heads.append(head)
                answer(connection, stop)
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=one, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def release_of(index: FakeIndex, name: str, version: str) -> Release:
    """The ``sitepatch.remote.Release`` of ``name`` ``version`` as the served ``index`` lists it."""
    from packaging.version import Version

    from sitepatch.remote import HttpFetcher, list_releases

    (found,) = [r for r in list_releases(name, HttpFetcher(), index=index.url) if r.version == Version(version)]
    return found
