"""Properties of issue 9: state files are untrusted, deletions are verified, upgrades never write old bytes."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fakesite import make_diff, make_site, snapshot, write_patch
from sitepatch.cli import main
from sitepatch.parse import parse_patch
from sitepatch.plan import apply_file_patch

# Every example builds a site and runs the CLI once or twice: a third of the profile's count.
FEW = settings(max_examples=max(10, settings.default.max_examples // 3))
SOURCE = b"".join(f"line {i}\n".encode() for i in range(1, 21))
PATCHED = SOURCE.replace(b"line 10\n", b"line ten\n")
PRECIOUS = b"precious\n"


def run(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


def outside_state(world: Path) -> dict[str, str]:
    """Everything beside the site: a write outside the target shows here."""
    return {k: v for k, v in snapshot(world).items() if not k.startswith("site/")}


@contextlib.contextmanager
def applied_world() -> Iterator[Path]:
    """A temporary directory with ``site`` (demo 1.0, patched by ``patches``) and precious files beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp)
        site = make_site(world / "site", {"demo/__init__.py": b"", "demo/mod.py": SOURCE, "demo/keep.py": SOURCE})
        write_patch(world / "patches", "0001-ten.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
        (world / "outside.txt").write_bytes(PRECIOUS)
        (world / "bin").mkdir()
        (world / "bin/tool").write_bytes(PRECIOUS)
        assert run("apply", "--site-packages", str(site), "--patches", str(world / "patches")) == 0
        yield world


HOSTILE_PATHS = [
    "../outside.txt",
    "../../outside.txt",
    "demo/../../outside.txt",
    "/etc/passwd",
    "",
    ".",
    "demo/",
    "demo//mod.py",
    "demo\\mod.py",
    "demo/\x00.py",
    ".sitepatch/manifest.json",
    "demo-1.0.dist-info/RECORD",
    "demo/keep.py",
    "demo/mod.py",
    "demo/new.py",
]
SHA_PRECIOUS = hashlib.sha256(PRECIOUS).hexdigest()
values = st.one_of(
    st.sampled_from(HOSTILE_PATHS),
    st.sampled_from([None, True, 0, -1, 420, 2**70, "644", 1.5, [], {}, [None], {"a": 1}]),
    st.sampled_from([SHA_PRECIOUS, hashlib.sha256(SOURCE).hexdigest(), "0" * 64, "zz"]),
    st.text(max_size=8),
)


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple[list[Any], str, Any]]:
    """A few edits: (path into the document, "set" or "delete", new value)."""
    return draw(
        st.lists(
            st.tuples(
                st.lists(st.one_of(st.integers(0, 3), st.sampled_from(list(FIELDS))), min_size=1, max_size=4),
                st.sampled_from(["set", "set", "delete"]),
                values,
            ),
            min_size=1,
            max_size=4,
        )
    )


FIELDS = {
    "schema_version",
    "files",
    "patches",
    "path",
    "pre_sha256",
    "post_sha256",
    "pre_mode",
    "post_mode",
    "distribution",
    "distributions",
    "version",
    "record_hash",
    "hunks",
    "before_sha256",
    "before_mode",
    "after_sha256",
    "manifest_before",
    "manifest_after",
    "operation",
}


def mutate(doc: Any, edits: list[tuple[list[Any], str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    for path, action, value in edits:
        node = doc
        for key in path[:-1]:
            if (isinstance(node, dict) and key in node) or (
                isinstance(node, list) and isinstance(key, int) and key < len(node)
            ):
                node = node[key]
            else:
                break
        last = path[-1]
        if isinstance(node, dict) and isinstance(last, str):
            if action == "delete":
                node.pop(last, None)
            else:
                node[last] = value
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            if action == "delete":
                del node[last]
            else:
                node[last] = value
    return doc


COMMANDS = [("status",), ("revert",), ("revert", "--force"), ("apply",), ("apply", "--force"), ("check",)]


@FEW
@given(mutations(), st.sampled_from(COMMANDS), st.booleans())
def test_a_generated_manifest_never_writes_outside_the_target_or_crashes(
    edits: list[tuple[list[Any], str, Any]], command: tuple[str, ...], garbage: bool
) -> None:
    with applied_world() as world:
        manifest = world / "site/.sitepatch/manifest.json"
        if garbage:
            manifest.write_bytes(json.dumps(edits, default=str).encode("utf-16"))
        else:
            manifest.write_text(json.dumps(mutate(json.loads(manifest.read_text()), edits)))
        outside = outside_state(world)
        inside = snapshot(world / "site")
        code = run(*command, "--site-packages", str(world / "site"), "--patches", str(world / "patches"))
        assert code in (0, 1, 2)
        assert outside_state(world) == outside
        if code != 0:
            assert snapshot(world / "site") == inside


class Killed(BaseException):
    pass


def die_at_manifest(step: str) -> None:
    if step == "manifest":
        raise Killed


@FEW
@given(mutations(), st.sampled_from([("apply",), ("revert",), ("revert", "--force")]))
def test_a_generated_journal_never_writes_outside_the_target_or_crashes(
    edits: list[tuple[list[Any], str, Any]], command: tuple[str, ...]
) -> None:
    with applied_world() as world:
        site = world / "site"
        patches = world / "patches"
        write_patch(patches, "0002-keep.diff", make_diff(SOURCE, PATCHED, "demo/keep.py"))
        with contextlib.suppress(Killed), contextlib.redirect_stdout(io.StringIO()):
            main(["apply", "--site-packages", str(site), "--patches", str(patches)], hook=die_at_manifest)
        journal = site / ".sitepatch/journal.json"
        journal.write_text(json.dumps(mutate(json.loads(journal.read_text()), edits)))
        outside = outside_state(world)
        inside = snapshot(site)
        code = run(*command, "--site-packages", str(site), "--patches", str(patches))
        assert code in (0, 1, 2)
        assert outside_state(world) == outside
        if code == 2:
            assert snapshot(site) == inside


# -- deletions, renames and modes never delete a file whose bytes differ from the pre-image ------------------

content = st.lists(st.sampled_from([b"a\n", b"b\n", b"x = 1\n", b"\n", b"def f():\n"]), min_size=0, max_size=6).map(
    b"".join
)


@st.composite
def trees_and_patches(draw: st.DrawFn) -> tuple[dict[str, bytes], list[bytes]]:
    names = [f"demo/f{i}.py" for i in range(draw(st.integers(1, 4)))]
    tree = {name: draw(content) for name in names}
    diffs = []
    for name in names:
        kind = draw(st.sampled_from(["delete", "delete-other", "rename", "mode", "none"]))
        if kind == "delete":
            diffs.append(make_diff(tree[name], None, name, context=draw(st.integers(0, 3))))
        elif kind == "delete-other":
            other = draw(content)
            if not other:
                other = b"z\n"
            git = f"diff --git a/{name} b/{name}\ndeleted file mode 100644\n".encode()
            body = make_diff(other, None, name)
            diffs.append(draw(st.sampled_from([body, git + body])))
        elif kind == "rename":
            new = name.replace(".py", "_moved.py")
            head = f"diff --git a/{name} b/{new}\nsimilarity index 90%\nrename from {name}\nrename to {new}\n".encode()
            edited = draw(content)
            hunks = make_diff(tree[name], edited, name).replace(f"+++ b/{name}".encode(), f"+++ b/{new}".encode())
            diffs.append(head + (hunks if tree[name] and edited != tree[name] else b""))
        elif kind == "mode":
            diffs.append(f"diff --git a/{name} b/{name}\nold mode 100644\nnew mode 100755\n".encode())
    return tree, diffs


@FEW
@given(trees_and_patches(), st.booleans())
def test_no_run_deletes_a_file_whose_bytes_differ_from_the_pre_image(
    case: tuple[dict[str, bytes], list[bytes]], force: bool
) -> None:
    tree, diffs = case
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp)
        site = make_site(world / "site", {"demo/__init__.py": b"", **tree})
        for i, diff in enumerate(diffs):
            write_patch(world / "patches", f"{i + 1:04d}-p.diff", diff)
        (world / "patches").mkdir(exist_ok=True)
        removed: dict[str, bytes] = {}
        renamed: dict[str, str] = {}
        for i in range(len(diffs)):
            try:
                patch = parse_patch(
                    (world / f"patches/{i + 1:04d}-p.diff").read_bytes(), path=Path(f"{i + 1:04d}-p.diff")
                )
            except ValueError:
                continue
            for fp in patch.files:
                if fp.target_path is None and fp.source_path is not None:
                    removed[fp.source_path] = b"".join(
                        line.text + line.eol for hunk in fp.hunks for line in hunk.source_lines()
                    )
                elif fp.kind.value == "rename" and fp.source_path is not None and fp.target_path is not None:
                    renamed[fp.source_path] = fp.target_path
        args = ["apply", "--site-packages", str(site), "--patches", str(world / "patches")]
        code = run(*args, *(["--force"] if force else []))
        assert code in (0, 1, 2)
        for name, data in tree.items():
            if (site / name).exists():
                continue
            assert code == 0
            if name in renamed:
                assert (site / renamed[name]).exists()
            else:
                assert removed.get(name) == data, (name, data, removed.get(name))


# -- a version change between runs never writes an older release's bytes -----------------------------------

lines_of = st.lists(st.sampled_from([b"a\n", b"b\n", b"c\n", b"line 10\n", b"x = 1\n"]), min_size=0, max_size=8)


@FEW
@given(lines_of, lines_of, st.sampled_from(COMMANDS[1:]), st.booleans())
def test_a_version_change_never_writes_the_older_release(
    head: list[bytes], tail: list[bytes], command: tuple[str, ...], fixed_upstream: bool
) -> None:
    with applied_world() as world:
        site = world / "site"
        release = PATCHED if fixed_upstream else SOURCE
        new = b"".join(head) + release + b"".join(tail)
        for dist_info in site.glob("demo-*.dist-info"):
            shutil.rmtree(dist_info)
        make_site(site, {"demo/__init__.py": b"", "demo/mod.py": new, "demo/keep.py": SOURCE}, version="2.0")
        code = run(*command, "--site-packages", str(site), "--patches", str(world / "patches"))
        patch = parse_patch((world / "patches/0001-ten.diff").read_bytes(), path=Path("0001-ten.diff"))
        patched, _, status = apply_file_patch(new, patch.files[0], max_fuzz=0)
        allowed = {new} | ({patched} if status == "applied" and patched is not None else set())
        final = (site / "demo/mod.py").read_bytes()
        assert final in allowed
        if SOURCE not in allowed:
            assert final != SOURCE
        manifest = site / ".sitepatch/manifest.json"
        if code == 0 and command[0] != "check" and manifest.exists():
            # What a later run trusts after one that wrote: only records of the new release.
            assert all(r["version"] == "2.0" for r in json.loads(manifest.read_text())["files"])
