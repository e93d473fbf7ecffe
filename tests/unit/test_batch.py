"""Parse once, plan many: one parsed patch set planned against several targets (sitepatch.batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, write_patch
from sitepatch.apply import DiskReader
from sitepatch.batch import MemoryReader, memory_target, plan_many
from sitepatch.dist import Distribution, Target
from sitepatch.parse import load_patches
from sitepatch.plan import ALREADY, APPLIED, FAILED, SKIPPED

PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")


@pytest.fixture
def patch_set(patches: Path) -> Path:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<3")
    return patches


def test_one_parsed_set_gets_a_verdict_for_each_release(patch_set: Path) -> None:
    patches = load_patches(patch_set)
    releases = {
        "1.0": SOURCE,  # applies
        "1.5": PATCHED,  # fixed in this release: already applied
        "2.0": SOURCE.replace(b"line 19\n", b"line nineteen\n"),  # context changed: fails
        "3.0": SOURCE,  # outside Versions: skipped
    }
    targets = [memory_target({"demo/mod.py": data}, {"demo": version}) for version, data in releases.items()]
    verdicts = {str(t.get("demo").version): plan.patches[0].status for t, plan in plan_many(patches, targets)}  # type: ignore[union-attr]
    assert verdicts == {"1.0": APPLIED, "1.5": ALREADY, "2.0": FAILED, "3.0": SKIPPED}


def test_planning_in_memory_equals_planning_the_installed_tree(patch_set: Path, site: Path) -> None:
    patches = load_patches(patch_set)
    disk = Target.open(site)
    memory = memory_target({"demo/mod.py": SOURCE, "demo/__init__.py": b""}, {"demo": "1.0"})
    (_, on_disk), (_, in_memory) = plan_many(patches, [(disk, DiskReader(disk.root)), memory])
    assert on_disk.patches == in_memory.patches
    assert [(c.path, c.after) for c in on_disk.changes] == [(c.path, c.after) for c in in_memory.changes]


def test_a_file_that_differs_from_its_record_is_refused_in_memory_too(patch_set: Path) -> None:
    record = {"demo/mod.py": "sha256=not-the-hash"}
    target, reader = memory_target({"demo/mod.py": SOURCE}, {"demo": "1.0"}, records={"demo": record})
    ((_, plan),) = plan_many(load_patches(patch_set), [(target, reader)])
    assert not plan.ok
    assert "modified since demo 1.0 was installed" in plan.problems[0]


def test_the_memory_reader_refuses_paths_that_climb_out() -> None:
    reader = MemoryReader({"demo/mod.py": SOURCE})
    assert reader.unsafe("demo/mod.py") is None
    assert reader.unsafe("/etc/passwd") == "/etc/passwd: resolves outside the target"
    assert reader.unsafe("demo/../../x") is not None
    assert reader.read("demo/missing.py") is None


def test_a_distribution_from_its_record_needs_no_directory() -> None:
    dist = Distribution.from_record("LiteLLM_Enterprise", "0.1.25", {"litellm_enterprise/a.py": ""})
    assert dist.name == "litellm-enterprise"
    assert str(dist.version) == "0.1.25"
    assert dist.owns("litellm_enterprise/new.py")
    assert not dist.owns("litellm/new.py")
