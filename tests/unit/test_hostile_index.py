"""A hostile index on 127.0.0.1: the sweep's client stays bounded in size and time, and errors name the URL."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakeindex import FakeIndex, make_wheel, release_of, serve, serve_raw

from sitepatch.remote import (
    MAX_MEMBER_BYTES,
    FetchError,
    HttpFetcher,
    ReleaseCache,
    RemoteWheel,
    list_releases,
)

MOD = b"print('demo')\n"


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    fake = FakeIndex()
    with serve(fake):
        yield fake


def page(entries: object) -> bytes:
    return json.dumps({"info": {"name": "demo"}, "releases": entries}).encode()


def answer_with(data: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def answer(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(data)

    return answer


# -- item 8: scheme, sizes, deadline ------------------------------------------------------------------------


def test_a_wheel_url_that_is_a_file_url_is_refused(index: FakeIndex, tmp_path: Path) -> None:
    secret = tmp_path / "secret.whl"
    secret.write_bytes(make_wheel("demo", "1.0", {"demo/mod.py": MOD}))
    entry = {"filename": "demo-1.0-py3-none-any.whl", "url": secret.as_uri(), "size": secret.stat().st_size}
    index.pages["demo"] = page({"1.0": [entry]})
    (release,) = list_releases("demo", HttpFetcher(), index=index.url)

    with pytest.raises(FetchError, match="only http and https"):
        ReleaseCache(tmp_path / "cache", HttpFetcher()).files(release, ["demo/mod.py"])
    assert not (tmp_path / "cache" / "wheels").exists()


def test_a_redirect_to_a_file_url_is_refused() -> None:
    with (
        serve_raw(
            answer_with(b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n")
        ) as url,
        pytest.raises(FetchError, match="only http and https"),
    ):
        HttpFetcher(retries=0).get(f"{url}/pypi/demo/json")


def test_a_body_over_the_limit_is_refused_by_its_announced_length() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 8589934592\r\n\r\n"
    refused = pytest.raises(FetchError, match="announces 8589934592 bytes, over the 1000 byte limit")
    with serve_raw(answer_with(head + b"x" * 1024)) as url, refused:
        HttpFetcher(retries=0, max_bytes=1000).get(f"{url}/pypi/demo/json")


def test_a_body_over_the_limit_is_refused_while_it_is_read() -> None:
    # No Content-Length: the body runs until the connection closes.
    answer = answer_with(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 5000)
    with serve_raw(answer) as url, pytest.raises(FetchError, match="over the 1000 byte limit per response"):
        HttpFetcher(retries=0, max_bytes=1000).get(f"{url}/pypi/demo/json")


def test_a_server_that_drips_a_byte_at_a_time_meets_the_deadline() -> None:
    def drip(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.is_set():
            connection.sendall(b"x")
            time.sleep(0.05)

    heads: list[bytes] = []
    with serve_raw(drip, heads) as url:
        fetcher = HttpFetcher(retries=2, timeout=0.5, deadline=1.0)
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"no complete answer within 1 s"):
            fetcher.get(f"{url}/pypi/demo/json")
        # Cut off, not held for as long as the server drips (a wide margin for a loaded machine).
        assert time.monotonic() - started < 30
    # A deadline is not retried: one request, not three.
    assert len(heads) == 1


def test_a_server_that_drips_its_headers_meets_the_deadline() -> None:
    def drip(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            connection.sendall(b"X-Slow: y\r\n")
            time.sleep(0.05)

    with serve_raw(drip) as url, pytest.raises(FetchError, match=r"no complete answer within 1 s"):
        HttpFetcher(retries=0, timeout=0.5, deadline=1.0).get(f"{url}/pypi/demo/json")


def bomb_wheel(size: int) -> bytes:
    """A small wheel whose RECORD inflates to ``size`` bytes of zeros."""
    good = make_wheel("demo", "1.0", {"demo/mod.py": MOD})
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/RECORD"):
                data = b"\0" * size
            out.writestr(info.filename, data)
    return buffer.getvalue()


def test_a_member_that_inflates_past_the_limit_is_refused(index: FakeIndex, tmp_path: Path) -> None:
    wheel = bomb_wheel(MAX_MEMBER_BYTES + 1)
    assert len(wheel) < MAX_MEMBER_BYTES // 100
    index.add("demo", "1.0", wheel)
    release = release_of(index, "demo", "1.0")

    with pytest.raises(FetchError, match=r"RECORD declares \d+ bytes, over the 67108864 byte limit per member"):
        ReleaseCache(tmp_path, HttpFetcher()).files(release, ["demo/mod.py"])


def test_a_member_is_counted_as_it_is_inflated(index: FakeIndex) -> None:
    index.add("demo", "1.0", make_wheel("demo", "1.0", {"demo/mod.py": b"x" * 5000}))
    wheel = RemoteWheel(release_of(index, "demo", "1.0"), HttpFetcher(), max_member=6000)
    try:
        assert wheel.read(["demo/mod.py"]) == {"demo/mod.py": b"x" * 5000}
        wheel.max_member = 4999
        with pytest.raises(FetchError, match="over the 4999 byte limit per member"):
            wheel.read(["demo/mod.py"])
    finally:
        wheel.close()


# -- item 11: malformed responses and listings are errors, not tracebacks ------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"{" * 10, id="truncated body"),
        pytest.param(b"garbage\r\n\r\n", id="garbage status line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", id="over-long header line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad chunk size"),
        pytest.param(b"", id="connection closed at once"),
    ],
)
def test_a_malformed_answer_is_a_fetch_error_naming_the_url(answer: bytes) -> None:
    with (
        serve_raw(answer_with(answer)) as url,
        pytest.raises(FetchError, match=r"/pypi/demo/json: request failed after 2 attempt\(s\).*check the network"),
    ):
        HttpFetcher(retries=1).get(f"{url}/pypi/demo/json")


def test_a_sweep_against_a_truncating_index_exits_2_with_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sitepatch.cli import main

    patches = tmp_path / "patches"
    patches.mkdir()
    answer = answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{")
    with serve_raw(answer) as url:
        code = main(["sweep", "--patches", str(patches), "--cache-dir", str(tmp_path / "c"), "--index", f"{url}/pypi"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{url}/pypi/litellm/json: request failed" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        pytest.param([], r"'releases' is list, not an object of versions", id="releases a list"),
        pytest.param({"1.0": {"a": 1}}, r"releases\['1.0'\] is a dict, not a list of files", id="files an object"),
        pytest.param({"1.0": ["demo-1.0-py3-none-any.whl"]}, r"releases\['1.0'\]\[0\] is a str", id="entry a string"),
        pytest.param(
            {"1.0": [{"filename": "demo-1.0-py3-none-any.whl", "url": "x", "size": "big"}]},
            r"releases\['1.0'\]\[0\]: size 'big' is not a number of bytes",
            id="size not a number",
        ),
        pytest.param(
            {"1.0": [{"filename": "demo.whl", "url": "x", "size": 1}]},
            r"'demo.whl' is not a wheel file name",
            id="wheel name without a dash",
        ),
    ],
)
def test_a_listing_of_the_wrong_shape_names_the_field(index: FakeIndex, listing: object, message: str) -> None:
    index.pages["demo"] = page(listing)

    with pytest.raises(FetchError, match=message) as caught:
        list_releases("demo", HttpFetcher(), index=index.url)
    assert str(caught.value).startswith(f"{index.url}/demo/json")


def test_a_listing_that_is_not_an_object_is_refused(index: FakeIndex) -> None:
    index.pages["demo"] = b"[1, 2]"

    with pytest.raises(FetchError, match="'releases' is missing"):
        list_releases("demo", HttpFetcher(), index=index.url)


def rewrite(wheel: bytes, member: str, *, flag_bits: int = 0, compress_type: int | None = None) -> bytes:
    """``wheel`` with ``member``'s flags and compression method changed in both of its headers."""
    data = bytearray(wheel)
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        info = archive.getinfo(member)
        local = info.header_offset
    central = bytes(data).find(b"PK\x01\x02")
    while central >= 0:
        name_length = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + name_length] == member.encode():
            break
        central = bytes(data).find(b"PK\x01\x02", central + 4)
    for flags_at, method_at in ((local + 6, local + 8), (central + 8, central + 10)):
        if flag_bits:
            flags = int.from_bytes(data[flags_at : flags_at + 2], "little") | flag_bits
            data[flags_at : flags_at + 2] = flags.to_bytes(2, "little")
        if compress_type is not None:
            data[method_at : method_at + 2] = compress_type.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"flag_bits": 0x1}, r"demo/mod.py is encrypted", id="encrypted member"),
        pytest.param({"compress_type": 99}, r"demo/mod.py uses compression method 99", id="unsupported compression"),
    ],
)
def test_a_member_zipfile_cannot_read_is_a_fetch_error(
    index: FakeIndex, tmp_path: Path, change: dict[str, int], message: str
) -> None:
    wheel = make_wheel("demo", "1.0", {"demo/mod.py": MOD})
    index.add("demo", "1.0", rewrite(wheel, "demo/mod.py", **change))
    release = release_of(index, "demo", "1.0")

    with pytest.raises(FetchError, match=message):
        ReleaseCache(tmp_path, HttpFetcher()).files(release, ["demo/mod.py"])


# -- item 9: import URL reads a bounded body -----------------------------------------------------------------


def test_import_of_a_url_refuses_a_body_over_the_limit(run: Callable[..., tuple[int, str, str]]) -> None:
    limit = 16 * 1024 * 1024  # MAX_IMPORT_BYTES
    # No Content-Length: only counting while reading can stop it.
    body = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"+" * (limit + 1)
    with serve_raw(answer_with(body)) as url:
        code, out, err = run("import", f"{url}/pull/1.diff")

    assert code == 2, out + err
    assert f"{url}/pull/1.diff: the answer is over the 16777216 byte limit per response" in err
    assert "Traceback" not in err


def test_import_of_a_url_reads_the_diff(run: Callable[..., tuple[int, str, str]]) -> None:
    from fakesite import SOURCE, make_diff

    diff = make_diff(SOURCE, SOURCE.replace(b"line 20\n", b"line 20 (upstream)\n"), "demo/mod.py")
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(diff) + diff
    with serve_raw(answer_with(answer)) as url:
        code, out, err = run("import", f"{url}/pull/1.diff", "--name", "upstream-twenty", "--dry-run")

    assert code == 0, out + err
    assert "would write" in out


def test_the_environment_s_proxy_is_used_as_urllib_used_it(monkeypatch: pytest.MonkeyPatch) -> None:
    heads: list[bytes] = []
    answer = answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    with serve_raw(answer, heads) as proxy:
        monkeypatch.setenv("http_proxy", proxy.replace("http://", "http://user:pw@"))
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        assert HttpFetcher(retries=0).get("http://index.invalid/pypi/demo/json") == (200, b"{}")

    (head,) = heads
    assert head.startswith(b"GET http://index.invalid/pypi/demo/json HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dXNlcjpwdw==\r\n" in head
