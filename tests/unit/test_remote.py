"""Reading wheels on an index by range requests, and the release cache (a local server only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeindex import FakeIndex, make_wheel, release_of, serve

from sitepatch.remote import FetchError, HttpFetcher, ReleaseCache, RemoteWheel, list_releases

MOD = b"".join(f"line {i}\n".encode() for i in range(1, 41))


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    fake = FakeIndex()
    with serve(fake):
        yield fake


def test_a_central_directory_larger_than_the_tail_is_fetched_in_one_more_request(index: FakeIndex) -> None:
    # 3,000 members with long names: a central directory of several hundred KiB.
    files = {f"demo/pkg_{i:04d}/{'x' * 60}.py": b"" for i in range(3000)}
    files["demo/mod.py"] = MOD
    index.add("demo", "1.0", make_wheel("demo", "1.0", files))
    release = release_of(index, "demo", "1.0")
    index.log.clear()

    wheel = RemoteWheel(release, HttpFetcher())
    data = wheel.read(["demo/mod.py", "demo/absent.py"])
    wheel.close()

    assert data == {"demo/mod.py": MOD}
    ranges = [r for _, r, _ in index.log]
    assert ranges[0] == "bytes=-65536"
    assert len(ranges) == 3  # tail, the rest of the central directory, the member
    assert wheel.fetched < release.size


def test_a_file_that_does_not_match_record_is_refused(index: FakeIndex, tmp_path: Path) -> None:
    index.add("demo", "1.0", make_wheel("demo", "1.0", {"demo/mod.py": MOD}, recorded={"demo/mod.py": b"other"}))
    release = release_of(index, "demo", "1.0")

    with pytest.raises(FetchError, match="does not match its RECORD hash"):
        ReleaseCache(tmp_path, HttpFetcher()).files(release, ["demo/mod.py"])


def test_a_damaged_member_is_refused(index: FakeIndex, tmp_path: Path) -> None:
    wheel = make_wheel("demo", "1.0", {"demo/mod.py": MOD}, stored=True)
    index.add("demo", "1.0", wheel.replace(b"line 20\n", b"line XX\n"))
    release = release_of(index, "demo", "1.0")

    with pytest.raises(FetchError, match="damaged"):
        ReleaseCache(tmp_path, HttpFetcher()).files(release, ["demo/mod.py"])


def test_a_path_asked_for_later_is_fetched_and_merged_into_the_cache(index: FakeIndex, tmp_path: Path) -> None:
    index.add("demo", "1.0", make_wheel("demo", "1.0", {"demo/mod.py": MOD, "demo/other.py": b"x = 1\n"}))
    release = release_of(index, "demo", "1.0")
    cache = ReleaseCache(tmp_path, HttpFetcher())
    first = cache.files(release, ["demo/mod.py"])

    second = cache.files(release, ["demo/mod.py", "demo/other.py", "demo/none.py"])

    assert first.files == {"demo/mod.py": MOD}
    assert second.files == {"demo/mod.py": MOD, "demo/other.py": b"x = 1\n"}
    assert set(second.record) == {"demo/mod.py", "demo/other.py"}
    assert second.top_levels == ("demo",)
    offline = ReleaseCache(tmp_path, HttpFetcher(), offline=True)
    assert offline.files(release, ["demo/other.py"]).files == {"demo/other.py": b"x = 1\n"}
    with pytest.raises(FetchError, match="not in the cache"):
        offline.files(release, ["demo/new.py"])


def test_a_whole_wheel_kept_in_the_cache_is_read_from_there(index: FakeIndex, tmp_path: Path) -> None:
    index.ranges = False
    index.add("demo", "1.0", make_wheel("demo", "1.0", {"demo/mod.py": MOD, "demo/b.py": b"b\n"}))
    release = release_of(index, "demo", "1.0")
    cache = ReleaseCache(tmp_path, HttpFetcher())
    cache.files(release, ["demo/mod.py"])
    index.log.clear()

    assert cache.files(release, ["demo/b.py"]).files == {"demo/b.py": b"b\n"}
    assert index.log == []


def test_errors_name_the_url_and_what_to_do(index: FakeIndex, tmp_path: Path) -> None:
    fetcher = HttpFetcher(retries=0)
    with pytest.raises(FetchError, match=r"HTTP 404"):
        list_releases("nothing", fetcher, index=index.url)
    with pytest.raises(FetchError, match="only http"):
        fetcher.get("ftp://example.invalid/x")
    with pytest.raises(FetchError, match="request failed"):
        fetcher.get("http://127.0.0.1:9/none")
    with pytest.raises(FetchError, match="no saved release listing"):
        list_releases("demo", fetcher, index=index.url, cache=ReleaseCache(tmp_path, fetcher), offline=True)
    index.add("demo", "1.0", b"not a zip file at all" * 10)
    release = release_of(index, "demo", "1.0")
    with pytest.raises(FetchError, match="not a readable wheel"):
        RemoteWheel(release, fetcher)


def test_a_file_url_index_is_refused(tmp_path: Path) -> None:
    # A file URL from the index would copy a local file into the cache (or read /dev/zero forever).
    (tmp_path / "pypi" / "demo").mkdir(parents=True)
    (tmp_path / "pypi" / "demo" / "json").write_text(json.dumps({"releases": {}}))

    with pytest.raises(FetchError, match="only http and https"):
        list_releases("demo", HttpFetcher(), index=(tmp_path / "pypi").as_uri())


def test_a_page_that_is_not_the_json_api_is_refused(index: FakeIndex) -> None:
    index.pages["demo"] = b"<html>"

    with pytest.raises(FetchError, match="not a JSON API project page"):
        list_releases("demo", HttpFetcher(), index=index.url)
