"""Read releases from a package index without installing them: the JSON API, and wheels by HTTP range requests.

A wheel is a zip file whose central directory sits at its end. :class:`RemoteWheel` asks the server for the
last 64 KiB (a suffix range), reads the central directory from it (asking for the rest of the directory when it
is larger), then fetches only the members it is asked for, each with one range request covering its local
header and compressed bytes, as pip's lazy wheel does. ``zipfile`` does the decompression and the CRC check.
When the server ignores ``Range`` and sends the whole file, the wheel is kept in the cache and read from there.

:class:`HttpFetcher` is a small client on ``http.client``, bounded against a hostile or broken index: http and
https URLs only (also after a redirect), at most :data:`MAX_RESPONSE_BYTES` per answer, one total deadline per
request (:data:`REQUEST_DEADLINE`, kept by a timer that shuts the socket down, so a server sending a byte at a
time cannot hold it), and :data:`MAX_MEMBER_BYTES` per wheel member, inflated in steps and counted. A malformed
answer (a truncated body, a garbage status line, an over-long header line) is retried, then a
:class:`FetchError` naming the URL; so is an index page of the wrong shape, naming the field.

:class:`ReleaseCache` keeps what was read on disk (``<cache>/releases/<name>/<version>.json`` plus
content-addressed ``<cache>/blobs/``), so a second sweep of the same releases makes no request at all, and each
file is checked against the wheel's ``RECORD`` hash before it is stored.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import csv
import email.parser
import http.client
import io
import json
import os
import socket
import tempfile
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from sitepatch._record import field, frozen, mutable
from sitepatch.dist import file_digest, record_digest
from sitepatch.errors import TargetError

__all__ = [
    "DEFAULT_INDEX",
    "MAX_MEMBER_BYTES",
    "MAX_REDIRECTS",
    "MAX_RESPONSE_BYTES",
    "READ_TIMEOUT",
    "REQUEST_DEADLINE",
    "FetchError",
    "FetchStats",
    "Fetcher",
    "HttpFetcher",
    "Release",
    "ReleaseCache",
    "ReleaseFiles",
    "RemoteWheel",
    "default_cache_dir",
    "list_releases",
    "wheel_filename_problem",
]


def __dir__() -> list[str]:
    return __all__


DEFAULT_INDEX = "https://pypi.org/pypi"
"""The JSON API root: ``<index>/<name>/json`` lists a project's releases and files."""
_TAIL = 64 * 1024
_SLACK = 1024
"""Extra bytes fetched after a member's local header: its extra field may be longer than the central one."""
_SCHEMA = 1


MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""The largest response body the sweep reads (256 MiB): a whole wheel when a server ignores ``Range``.

LiteLLM's largest wheel on PyPI (1.110.2, win_amd64) is 45 MB and its JSON listing 2.6 MB; a larger body, or a
``Content-Length`` announcing one, is refused before it is read.
"""
MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""The largest wheel member the sweep inflates (64 MiB), counted while it is inflated in 64 KiB steps."""
REQUEST_DEADLINE = 300.0
"""Seconds one request may take in total (connect, headers and body), whatever the server's pace."""
READ_TIMEOUT = 60.0
"""Seconds a connect or a single socket read may wait."""
MAX_REDIRECTS = 5
"""Redirects followed per request (to http and https URLs only)."""
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(TargetError):
    """A release or file could not be read from the index."""


class Fetcher(Protocol):
    """HTTP GET, injected so that tests serve wheels from memory or a local server."""

    def get(self, url: str, byte_range: tuple[int, int | None] | None = None) -> tuple[int, bytes]:
        """GET ``url``; ``byte_range`` is ``(start, end)`` inclusive, or ``(-n, None)`` for the last n bytes.

        :returns: the HTTP status (206 when the range was honoured, 200 for the whole body) and the body.
        """


@mutable
class FetchStats:
    """What a sweep fetched: requests and bytes, per release and in total."""

    requests: int = 0
    bytes: int = 0
    per_release: dict[str, int] = field(default_factory=dict)
    """``name==version`` -> bytes fetched for that release's wheel."""
    whole_wheels: list[str] = field(default_factory=list)
    """Wheels fetched whole because the server ignored ``Range``."""


class _TransientError(Exception):
    """A request failed in a way a retry may fix (a broken connection, a server error)."""


def _http_url(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{url}: only http and https URLs can be fetched; check the --index URL and the index's file URLs"
        raise FetchError(msg)
    return parts


class _Watchdog:
    """Shut a connection's socket down when its request's deadline passes, so a blocked read returns."""

    def __init__(self, connection: http.client.HTTPConnection, deadline: float) -> None:
        self.expired = False
        self._connection = connection
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also under TLS: it wakes a read blocked in another thread.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:  # noqa: PYI034 - a private class, never subclassed
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


@mutable
class HttpFetcher:
    """:class:`Fetcher` over ``http.client``: http(s) only, bounded in size and time; retries a failed request.

    Every request has a total deadline (:data:`REQUEST_DEADLINE`), a per-read timeout (:data:`READ_TIMEOUT`)
    and a body limit (:data:`MAX_RESPONSE_BYTES`); a broken connection, a malformed response or an HTTP 5xx is
    retried ``retries`` times, a deadline or a size over the limit is not.
    """

    stats: FetchStats = field(default_factory=FetchStats)
    timeout: float = READ_TIMEOUT
    retries: int = 2
    deadline: float = REQUEST_DEADLINE
    max_bytes: int = MAX_RESPONSE_BYTES

    def get(self, url: str, byte_range: tuple[int, int | None] | None = None) -> tuple[int, bytes]:
        """See :meth:`Fetcher.get`.

        :raises FetchError: when the URL is not http(s), the answer is over the limits, or the request fails
            after the retries.
        """
        headers = {"User-Agent": "sitepatch", "Accept-Encoding": "identity"}
        if byte_range is not None:
            start, end = byte_range
            headers["Range"] = f"bytes={start}" if end is None else f"bytes={start}-{end}"
        _http_url(url)
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(0.5 * attempt)
            try:
                status, body = self._request(url, headers)
            except _TransientError as err:
                last = err.__cause__ or err
                continue
            self.stats.requests += 1
            self.stats.bytes += len(body)
            return status, body
        what = " ".join(str(last).split())[:200].encode("ascii", "backslashreplace").decode() if last else ""
        what = f"{type(last).__name__}: {what}" if last is not None else "no answer"
        msg = (
            f"{url}: request failed after {self.retries + 1} attempt(s) ({what}); check the network or the --index URL"
        )
        raise FetchError(msg) from last

    def _request(self, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        deadline = time.monotonic() + self.deadline
        for _ in range(MAX_REDIRECTS + 1):
            connection, target, sent = self._connect(_http_url(url), headers)
            with _Watchdog(connection, deadline) as watchdog:
                try:
                    connection.request("GET", target, headers=sent)
                    answer = self._answer(connection.getresponse(), url, deadline)
                except FetchError:
                    raise
                except (OSError, http.client.HTTPException) as err:
                    if watchdog.expired or time.monotonic() > deadline:
                        raise self._late(url) from err
                    raise _TransientError(str(err)) from err
                finally:
                    connection.close()
            if isinstance(answer, str):
                url = answer
                continue
            return answer
        msg = f"{url}: more than {MAX_REDIRECTS} redirects; check the --index URL"
        raise FetchError(msg)

    def _connect(
        self, parts: urllib.parse.SplitResult, headers: dict[str, str]
    ) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
        """A connection for ``parts``, the request target and the headers to send.

        The proxy is the one the environment names (``https_proxy``, ``no_proxy``...), read as urllib reads it.
        """
        import urllib.request  # noqa: PLC0415 - the environment's proxy settings, read as urllib reads them

        host = parts.hostname or ""
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        proxy = urllib.request.getproxies().get(parts.scheme)
        if not proxy or urllib.request.proxy_bypass(host):
            return kind(host, parts.port, timeout=self.timeout), target, headers
        via = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        auth = {}
        if via.username is not None:
            token = base64.b64encode(
                f"{urllib.parse.unquote(via.username)}:{urllib.parse.unquote(via.password or '')}".encode()
            )
            auth["Proxy-Authorization"] = f"Basic {token.decode('ascii')}"
        connection = kind(via.hostname or "", via.port or 8080, timeout=self.timeout)
        if parts.scheme == "https":
            # A tunnel: TLS runs end to end with the index, the proxy sees only the host name.
            connection.set_tunnel(host, parts.port, headers=auth)
            return connection, target, headers
        return connection, urllib.parse.urlunsplit(parts._replace(fragment="")), {**headers, **auth}

    def _answer(self, response: http.client.HTTPResponse, url: str, deadline: float) -> tuple[int, bytes] | str:
        """The status and body of a usable answer, or the URL a redirect points to."""
        location = response.getheader("Location")
        if response.status in _REDIRECTS and location:
            return urllib.parse.urljoin(url, location)
        if response.status >= 500:
            msg = f"HTTP {response.status} {response.reason}"
            raise _TransientError(msg)
        if response.status not in (200, 206):
            msg = f"{url}: HTTP {response.status} {response.reason}"
            raise FetchError(msg)
        return response.status, self._body(response, url, deadline)

    def _late(self, url: str) -> FetchError:
        return FetchError(
            f"{url}: no complete answer within {self.deadline:g} s (the limit per request); "
            "the server is too slow or stalling, try again later or another --index"
        )

    def _body(self, response: http.client.HTTPResponse, url: str, deadline: float) -> bytes:
        announced = response.getheader("Content-Length") or ""
        if announced.strip().isdigit() and int(announced) > self.max_bytes:
            msg = (
                f"{url}: the server announces {int(announced)} bytes, over the {self.max_bytes} byte limit per response"
            )
            raise FetchError(msg)
        chunks: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                raise self._late(url)
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > self.max_bytes:
                msg = f"{url}: the answer is over the {self.max_bytes} byte limit per response; refused"
                raise FetchError(msg)
            chunks.append(chunk)
        if response.length:
            # http.client reports a body shorter than its Content-Length only through the bytes left.
            raise http.client.IncompleteRead(b"".join(chunks), response.length)
        return b"".join(chunks)


@frozen
class Release:
    """One release on the index and the wheel chosen to read it from."""

    name: str
    version: Version
    wheel: str
    """The wheel's file name."""
    url: str
    """The wheel's absolute URL."""
    size: int
    upload_time: str
    """ISO 8601 upload time of the chosen wheel (UTC)."""
    yanked: bool = False


def _wheel_rank(filename: str) -> tuple[int, str]:
    # Any wheel carries the same .py files; a pure one is smallest and most likely cached elsewhere.
    if filename.endswith("-none-any.whl"):
        return 0, filename
    if "manylinux" in filename and "x86_64" in filename:
        return 1, filename
    return 2, filename


def wheel_filename_problem(filename: str) -> str | None:
    """Why ``filename`` (from the index) is not a plain wheel file name, or ``None`` when it is one.

    The name becomes a path in the cache (``<cache>/wheels/<filename>``) when the server sends a wheel whole,
    so anything but a bare ``name-version(-build)-python-abi-platform.whl`` is refused: a slash, a backslash or
    ``..`` would write the server's bytes outside the cache.

    >>> wheel_filename_problem("demo-1.0-py3-none-any.whl") is None
    True
    >>> wheel_filename_problem("../../x/evil-1.0-py3-none-any.whl")
    'a path, not a file name'
    """
    if not filename or "/" in filename or "\\" in filename or filename.startswith(".") or ":" in filename:
        return "a path, not a file name"
    if any(ord(c) < 32 or c == "\x7f" for c in filename):
        return "control characters in the name"
    try:
        parse_wheel_filename(filename)
    except InvalidWheelFilename as err:
        return str(err)
    return None


def list_releases(
    name: str,
    fetcher: Fetcher,
    *,
    index: str = DEFAULT_INDEX,
    cache: ReleaseCache | None = None,
    offline: bool = False,
) -> tuple[Release, ...]:
    """Every release of ``name`` on the index that has a wheel, oldest first (yanked ones included, flagged).

    :param offline: use the copy of the listing saved by an earlier run instead of asking the index.
    :raises FetchError: when the index cannot be read (or, offline, nothing was saved).
    """
    url = f"{index.rstrip('/')}/{canonicalize_name(name)}/json"
    saved = cache.index_path(name) if cache is not None else None
    if offline:
        if saved is None or not saved.is_file():
            msg = f"{name}: no saved release listing in the cache; run once without --offline"
            raise FetchError(msg)
        raw = saved.read_bytes()
    else:
        status, raw = fetcher.get(url)
        if status != 200:
            msg = f"{url}: HTTP {status}"
            raise FetchError(msg)
        if saved is not None:
            _write_atomic(saved, raw)
    files_by_version = _releases_of(raw, url)
    releases: list[Release] = []
    for text, files in files_by_version.items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        entries = [_wheel_entry(f, url, text, n) for n, f in enumerate(_file_list(files, url, text))]
        wheels = [f for f in entries if f is not None]
        if not wheels:
            continue
        for wheel in wheels:
            problem = wheel_filename_problem(str(wheel["filename"]))
            if problem is not None:
                msg = (
                    f"{url}: release {text}: the wheel file name {wheel['filename']!r} is refused ({problem}); "
                    "the index is broken or hostile: nothing was written; use another --index"
                )
                raise FetchError(msg)
        chosen = min(wheels, key=lambda f: _wheel_rank(str(f["filename"])))
        releases.append(
            Release(
                name=str(canonicalize_name(name)),
                version=version,
                wheel=str(chosen["filename"]),
                url=urllib.parse.urljoin(url, str(chosen["url"])),
                size=chosen["size"],
                upload_time=str(chosen.get("upload_time_iso_8601") or chosen.get("upload_time") or ""),
                yanked=all(bool(f.get("yanked")) for f in wheels),
            )
        )
    return tuple(sorted(releases, key=lambda r: r.version))


def _releases_of(raw: bytes, url: str) -> dict[str, Any]:
    """The ``releases`` object of a JSON API project page, checked to be an object."""
    try:
        document = json.loads(raw)
    except ValueError as err:
        msg = f"{url}: not a JSON API project page ({err}); check the --index URL"
        raise FetchError(msg) from err
    releases = document.get("releases") if isinstance(document, dict) else None
    if not isinstance(releases, dict):
        shown = type(releases).__name__ if isinstance(document, dict) and "releases" in document else "missing"
        msg = f"{url}: not a JSON API project page ('releases' is {shown}, not an object of versions)"
        msg += "; check the --index URL"
        raise FetchError(msg)
    return releases


def _file_list(files: object, url: str, version: str) -> list[Any]:
    if not isinstance(files, list):
        msg = f"{url}: releases[{version!r}] is a {type(files).__name__}, not a list of files"
        msg += "; the index page is malformed"
        raise FetchError(msg)
    return files


def _wheel_entry(entry: object, url: str, version: str, number: int) -> dict[str, Any] | None:
    """A file entry of the listing, checked, with ``size`` as an int; ``None`` when it is not a wheel."""
    where = f"{url}: releases[{version!r}][{number}]"
    if not isinstance(entry, dict):
        msg = f"{where} is a {type(entry).__name__}, not a file object; the index page is malformed"
        raise FetchError(msg)
    filename = entry.get("filename")
    if not isinstance(filename, str) or not filename.endswith(".whl"):
        return None
    if filename.count("-") < 4 or not isinstance(entry.get("url"), str):
        msg = f"{where}: {filename!r} is not a wheel file name with a URL (name-version-python-abi-platform.whl)"
        raise FetchError(msg + "; the index page is malformed")
    size = entry.get("size")
    if size is None:
        size = 0
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        msg = f"{where}: size {size!r} is not a number of bytes; the index page is malformed"
        raise FetchError(msg)
    return {**entry, "size": size}


class _SparseFile(io.RawIOBase):
    """A seekable read-only view of a remote file of known size, made of the byte ranges fetched so far."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]) -> None:
        super().__init__()
        self._size = size
        self._fetch = fetch
        self._starts: list[int] = []
        self._chunks: dict[int, bytes] = {}
        self._pos = 0

    def add(self, start: int, data: bytes) -> None:
        """Remember ``data`` as the file's bytes from ``start``."""
        if start not in self._chunks:
            bisect.insort(self._starts, start)
        if len(data) >= len(self._chunks.get(start, b"")):
            self._chunks[start] = data

    def _covering(self, start: int, end: int) -> bytes | None:
        index = bisect.bisect_right(self._starts, start) - 1
        while index >= 0:
            begin = self._starts[index]
            chunk = self._chunks[begin]
            if begin + len(chunk) >= end:
                return chunk[start - begin : end - begin]
            index -= 1
        return None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if end <= self._pos:
            return b""
        data = self._covering(self._pos, end)
        if data is None:
            data = self._fetch(self._pos, end)
            self.add(self._pos, data)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:  # noqa: ANN401 - the buffer protocol has no precise type
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class RemoteWheel:
    """A wheel on the index read member by member with range requests (or whole, if ranges are refused)."""

    def __init__(
        self, release: Release, fetcher: Fetcher, *, whole_dir: Path | None = None, max_member: int = MAX_MEMBER_BYTES
    ) -> None:
        """Open the wheel: fetch its central directory.

        :param whole_dir: where to keep the wheel if the server sends it whole (read from there next time).
        :param max_member: the largest member :meth:`read` inflates.
        :raises FetchError: when the wheel cannot be read or is not a zip file.
        """
        self.release = release
        self.fetched = 0
        self.max_member = max_member
        self._fetcher = fetcher
        problem = wheel_filename_problem(release.wheel)
        if problem is not None:
            msg = f"{release.url}: the wheel file name {release.wheel!r} is refused ({problem})"
            raise FetchError(msg)
        kept = whole_dir / release.wheel if whole_dir is not None else None
        self.whole = False
        try:
            if kept is not None and kept.is_file():
                self._file: io.RawIOBase | io.BufferedReader = kept.open("rb")
                self.whole = True
            else:
                self._file = self._open_remote(kept)
            self._zip = zipfile.ZipFile(self._file)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            if isinstance(err, FetchError):
                raise
            msg = f"{release.url}: not a readable wheel ({err})"
            raise FetchError(msg) from err
        self.names = frozenset(self._zip.namelist())

    def _get(self, start: int, end: int | None) -> tuple[int, bytes]:
        status, body = self._fetcher.get(self.release.url, (start, end))
        self.fetched += len(body)
        return status, body

    def _open_remote(self, kept: Path | None) -> io.RawIOBase | io.BufferedReader:
        status, tail = self._get(-_TAIL, None)
        if status == 200:
            return self._keep_whole(tail, kept)
        size = self.release.size or 0
        if not size:
            msg = f"{self.release.url}: the index does not give the wheel's size"
            raise FetchError(msg)
        sparse = _SparseFile(size, self._fetch_range)
        sparse.add(max(0, size - len(tail)), tail)
        end = tail.rfind(b"PK\x05\x06")
        if end >= 0 and len(tail) - end >= 22:
            cd_size = int.from_bytes(tail[end + 12 : end + 16], "little")
            cd_offset = int.from_bytes(tail[end + 16 : end + 20], "little")
            tail_start = size - len(tail)
            if cd_offset < tail_start and cd_offset + cd_size <= size:
                # The central directory is larger than the tail: fetch the rest of it in one request.
                sparse.add(cd_offset, self._fetch_range(cd_offset, tail_start) + tail)
        return sparse

    def _keep_whole(self, data: bytes, kept: Path | None) -> io.BufferedReader | io.RawIOBase:
        self.whole = True
        if kept is None:
            return io.BytesIO(data)  # type: ignore[return-value]
        _write_atomic(kept, data)
        return kept.open("rb")

    def _fetch_range(self, start: int, end: int) -> bytes:
        status, body = self._get(start, end - 1)
        if status == 200:
            # Not a range: the whole file; take the part asked for.
            return body[start:end]
        if len(body) != end - start:
            msg = f"{self.release.url}: asked for bytes {start}-{end - 1}, got {len(body)} bytes"
            raise FetchError(msg)
        return body

    def read(self, names: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each member of ``names`` that the wheel has (one range request per member)."""
        found: dict[str, bytes] = {}
        for name in names:
            if name not in self.names:
                continue
            info = self._zip.getinfo(name)
            if isinstance(self._file, _SparseFile):
                start = info.header_offset
                end = min(
                    self.release.size, start + 30 + len(info.orig_filename.encode()) + _SLACK + info.compress_size
                )
                if self._file._covering(start, end) is None:  # noqa: SLF001 - the class's own helper
                    self._file.add(start, self._fetch_range(start, end))
            found[name] = self._inflate(info)
        return found

    def _inflate(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, inflated in steps and counted against :data:`MAX_MEMBER_BYTES` as they come."""
        where = f"{self.release.url}: {info.filename}"
        if info.flag_bits & 0x1:
            msg = f"{where} is encrypted; a wheel's members never are, so this is not a usable wheel"
            raise FetchError(msg)
        if info.file_size > self.max_member:
            msg = f"{where} declares {info.file_size} bytes, over the {self.max_member} byte limit per member; refused"
            raise FetchError(msg)
        try:
            with self._zip.open(info) as member:
                data = self._counted(member, where)
        except NotImplementedError as err:
            msg = f"{where} uses compression method {info.compress_type}, which this Python cannot read ({err})"
            raise FetchError(msg) from err
        except FetchError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as err:
            msg = f"{where} is damaged ({err}); run again, or delete the cache entry"
            raise FetchError(msg) from err
        return data

    def _counted(self, member: IO[bytes], where: str) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while chunk := member.read(_CHUNK):
            total += len(chunk)
            if total > self.max_member:
                msg = f"{where} inflates past the {self.max_member} byte limit per member; refused"
                raise FetchError(msg)
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Release the underlying file."""
        self._zip.close()
        self._file.close()


@frozen
class ReleaseFiles:
    """What a sweep knows about one release: its metadata and the files it was asked for."""

    release: Release
    requires_dist: tuple[str, ...]
    record: dict[str, str]
    """The RECORD hash of each file asked for (``""`` when RECORD lists it without a hash)."""
    top_levels: tuple[str, ...]
    """The top-level names RECORD owns (for new files a patch creates)."""
    files: dict[str, bytes]
    """The bytes of each file asked for that the release has (verified against RECORD)."""


def default_cache_dir() -> Path:
    """``$SITEPATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/sitepatch``, else ``~/.cache/sitepatch``."""
    if os.environ.get("SITEPATCH_CACHE_DIR"):
        return Path(os.environ["SITEPATCH_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sitepatch"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _parse_record(text: str) -> dict[str, str]:
    record: dict[str, str] = {}
    for row in csv.reader(io.StringIO(text)):
        if row and row[0]:
            record[row[0]] = row[1] if len(row) > 1 else ""
    return record


@mutable
class ReleaseCache:
    """The on-disk cache of release listings, release metadata and file contents."""

    root: Path
    fetcher: Fetcher
    stats: FetchStats = field(default_factory=FetchStats)
    offline: bool = False
    """Never ask the index; a file that is not cached is an error."""

    def index_path(self, name: str) -> Path:
        """Where the JSON listing of ``name`` is saved."""
        return self.root / "index" / f"{canonicalize_name(name)}.json"

    def _meta_path(self, release: Release) -> Path:
        return self.root / "releases" / release.name / f"{release.version}.json"

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest

    def _load_meta(self, release: Release) -> dict[str, Any] | None:
        try:
            meta = json.loads(self._meta_path(release).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("schema") != _SCHEMA or meta.get("wheel") != release.wheel:
            return None
        return meta

    def files(self, release: Release, paths: Sequence[str]) -> ReleaseFiles:
        """The metadata of ``release`` and the contents of ``paths`` in it, from the cache or the index.

        :raises FetchError: when the index cannot be read, a file does not match RECORD, or (offline) a file is
            not cached.
        """
        meta = self._load_meta(release) or {}
        known: dict[str, Any] = dict(meta.get("files") or {})
        missing = [p for p in paths if p not in known]
        if missing or not meta:
            if self.offline:
                msg = f"{release.name} {release.version}: {len(missing) or 'its metadata'} file(s) not in the cache"
                raise FetchError(msg + "; run once without --offline")
            meta = self._fetch(release, missing, meta, known)
            known = meta["files"]
        files: dict[str, bytes] = {}
        record: dict[str, str] = {}
        for path in paths:
            entry = known[path]
            if entry.get("hash") is None:
                continue
            record[path] = entry["hash"]
            if entry.get("blob"):
                try:
                    files[path] = self._blob_path(entry["blob"]).read_bytes()
                except OSError as err:
                    msg = f"{release.name} {release.version}: cached {path} is missing; delete {self.root} entry"
                    raise FetchError(msg) from err
        return ReleaseFiles(
            release=release,
            requires_dist=tuple(meta.get("requires_dist") or ()),
            record=record,
            top_levels=tuple(meta.get("top_levels") or ()),
            files=files,
        )

    def _fetch(self, release: Release, missing: Sequence[str], meta: dict[str, Any], known: dict[str, Any]) -> Any:  # noqa: ANN401
        wheel = RemoteWheel(release, self.fetcher, whole_dir=self.root / "wheels")
        try:
            name, _, rest = release.wheel.partition("-")
            stem = f"{name}-{rest.partition('-')[0]}"
            dist_info = f"{stem}.dist-info"
            wanted = [f"{dist_info}/METADATA", f"{dist_info}/RECORD", *missing]
            if f"{dist_info}/RECORD" not in wheel.names:
                dist_info = next((n.split("/")[0] for n in wheel.names if n.endswith(".dist-info/RECORD")), dist_info)
                wanted = [f"{dist_info}/METADATA", f"{dist_info}/RECORD", *missing]
            data = wheel.read(wanted)
        finally:
            wheel.close()
        key = f"{release.name}=={release.version}"
        self.stats.per_release[key] = self.stats.per_release.get(key, 0) + wheel.fetched
        self.stats.bytes += wheel.fetched
        if wheel.whole:
            self.stats.whole_wheels.append(release.wheel)
        record = _parse_record(data.get(f"{dist_info}/RECORD", b"").decode("utf-8", "replace"))
        metadata = email.parser.BytesParser().parsebytes(data.get(f"{dist_info}/METADATA", b""), headersonly=True)
        for path in missing:
            listed = record.get(path)
            content = data.get(path)
            if listed is None or content is None:
                known[path] = {"hash": None}
                continue
            if listed and record_digest(content) != listed:
                msg = f"{release.wheel}: {path} does not match its RECORD hash; the download is damaged, run again"
                raise FetchError(msg)
            digest = file_digest(content)
            blob = self._blob_path(digest)
            if not blob.is_file():
                _write_atomic(blob, content)
            known[path] = {"hash": listed, "blob": digest}
        new_meta = {
            "schema": _SCHEMA,
            "name": release.name,
            "version": str(release.version),
            "wheel": release.wheel,
            "upload_time": release.upload_time,
            "requires_dist": meta.get("requires_dist") or list(metadata.get_all("Requires-Dist") or ()),
            "top_levels": meta.get("top_levels")
            or sorted(
                {p.split("/", 1)[0] for p in record if "/" in p and not p.split("/", 1)[0].endswith(".dist-info")}
            ),
            "files": known,
        }
        _write_atomic(self._meta_path(release), json.dumps(new_meta, indent=1, sort_keys=True).encode())
        return new_meta
