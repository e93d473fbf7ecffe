"""Shipping: the patched image's build step and startup guard, the CI workflow, the matrix report, the docs.

Docker cannot run here, so the build step (``docker/patch_image.py``, the command the Dockerfile's RUN runs)
and the guard (``docker/entrypoint.sh``) run against a site-packages laid out like the image's, at the
Dockerfile's own ``SITE_PACKAGES`` under a temporary root. The workflow is read with a small parser of the
YAML subset it is written in (no PyYAML in the ``tests`` session).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fakesite import make_diff, make_site, snapshot, write_patch
from sitepatch.cli import main as sitepatch_main

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
WORKFLOW = ROOT / ".github" / "workflows" / "nox.yml"
PRISTINE_P2 = Path("/work/venvs/p2-pristine")

sys.path.insert(0, str(ROOT / "tools"))

import ci_matrix  # noqa: E402 - tools/ is not a package
import matrix  # noqa: E402
import report  # noqa: E402

SOURCE = b"".join(f"value_{i} = {i}\n".encode() for i in range(1, 41))
"""The fake litellm module: 40 lines of Python (the build step byte-compiles what it patched)."""
PATCHED = SOURCE.replace(b"value_20 = 20\n", b"value_20 = 20  # fixed\n")


# --- helpers -----------------------------------------------------------------------------------------------


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, env=env, timeout=120)


def dockerfile_args() -> dict[str, str]:
    """The defaults of the Dockerfile's ARG lines."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))


def image_site(root: Path) -> Path:
    """Where the image's site-packages is under ``root``: the Dockerfile's SITE_PACKAGES default."""
    return root / dockerfile_args()["SITE_PACKAGES"].lstrip("/")


def build_step(
    site: Path, version: str, *, lockfile: Path | None = None, patches: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's RUN step, with this interpreter as the image's."""
    extra: list[str | Path] = []
    if lockfile is not None:
        extra += ["--lockfile", lockfile]
    if patches is not None:
        extra += ["--patches", patches]
    return run(sys.executable, DOCKER / "patch_image.py", "--site-packages", site, "--litellm-version", version, *extra)


class FakeImage:
    """A temporary image root: a fake ``litellm`` at the Dockerfile's site-packages, one patch, a lock."""

    def __init__(
        self, tmp_path: Path, *, version: str = "1.81.0", source: bytes = SOURCE, patched: bytes = PATCHED
    ) -> None:
        files = {"litellm/__init__.py": b"", "litellm/mod.py": source}
        self.site = make_site(image_site(tmp_path / "image"), files, name="litellm", version=version)
        self.patches = tmp_path / "patches"
        diff = make_diff(SOURCE, patched, "litellm/mod.py")
        write_patch(self.patches, "0001-fix.diff", diff, package="litellm", versions=">=1.81,<1.82")
        self.lockfile = tmp_path / "versions.lock"
        self.lockfile.write_text(json.dumps(fake_lock()))
        # Record the lock from a pristine 1.81.0 install, as `nox -s lock(PIN)` does (in this process: fast).
        scratch = make_site(tmp_path / "scratch", {**files, "litellm/mod.py": SOURCE}, name="litellm", version="1.81.0")
        common = ["--site-packages", str(scratch), "--patches", str(self.patches)]
        assert sitepatch_main(["apply", *common]) == 0
        assert sitepatch_main(["lock", "update", "--pin", "1.81.0", "--lockfile", str(self.lockfile), *common]) == 0

    @property
    def module(self) -> Path:
        return self.site / "litellm" / "mod.py"

    def build(self, version: str = "1.81.0") -> subprocess.CompletedProcess[str]:
        return build_step(self.site, version, lockfile=self.lockfile, patches=self.patches)


def fake_lock() -> dict[str, Any]:
    """A lock with one pin, 1.81.0 (litellm only), and nothing recorded yet."""
    return {
        "schema_version": 1,
        "pins": {
            "1.81.0": {
                "python": "3.11",
                "requirements": "pins/none.txt",
                "distributions": {"litellm": "1.81.0"},
                "patches": {},
                "files": {},
            }
        },
    }


@pytest.fixture
def image(tmp_path: Path) -> FakeImage:
    return FakeImage(tmp_path)


# --- docker/Dockerfile -------------------------------------------------------------------------------------


def test_dockerfile_builds_from_the_official_image_of_a_pinned_version() -> None:
    args = dockerfile_args()
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert args["LITELLM_IMAGE"].startswith("ghcr.io/berriai/litellm:")
    assert "${LITELLM_VERSION}" in args["LITELLM_IMAGE"]
    assert re.search(r"^FROM \$\{LITELLM_IMAGE\}$", text, flags=re.MULTILINE)
    lock = json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))
    assert args["LITELLM_VERSION"] in lock["pins"]


def test_dockerfile_runs_the_build_step_strictly_on_the_images_site_packages() -> None:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    run_step = " ".join(re.findall(r"^RUN (.*(?:\n(?:    |\t).*)*)", text, flags=re.MULTILINE))
    assert "/opt/sitepatch/docker/patch_image.py" in run_step
    assert '--site-packages "${SITE_PACKAGES}"' in run_step
    assert '--litellm-version "${LITELLM_VERSION}"' in run_step
    for copied in ("apply_patches.py", "versions.lock", "coverage.json", "sitepatch/", "patches/", "docker/"):
        assert re.search(rf"^COPY .*{re.escape(copied)}", text, flags=re.MULTILINE), copied
    # The build step itself applies with fuzz 0, verifies the lock and checks status.
    script = (DOCKER / "patch_image.py").read_text(encoding="utf-8")
    assert '"--max-fuzz", "0"' in script
    assert '"--max-fuzz", "0", "--strict"' in script
    assert '"lock", "verify"' in script


def test_dockerfile_guards_start_and_health_with_the_entrypoint_script() -> None:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, flags=re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert entrypoint[0] == "/opt/sitepatch/docker/entrypoint.sh"
    health = re.search(r"^HEALTHCHECK .*\n\s+CMD (\[.*\])$", text, flags=re.MULTILINE)
    assert health is not None
    assert json.loads(health.group(1)) == ["/opt/sitepatch/docker/entrypoint.sh", "--check"]
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


def test_image_requirements_are_the_runtime_dependencies_hash_pinned() -> None:
    text = (DOCKER / "requirements.txt").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", text, flags=re.MULTILINE))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert sorted(pins) == sorted(re.findall(r'"([a-z0-9-]+)[<>=!~ ]', block)) == ["packaging", "unidiff"]


# --- the build step ----------------------------------------------------------------------------------------


def test_build_step_patches_the_pinned_version_and_byte_compiles_it(image: FakeImage) -> None:
    result = image.build()
    assert result.returncode == 0, result.stdout + result.stderr
    assert image.module.read_bytes() == PATCHED
    assert "litellm 1.81.0" in result.stdout
    assert "is patched" in result.stdout
    assert list((image.site / "litellm" / "__pycache__").glob("mod.*.pyc"))
    status = run(sys.executable, ROOT / "apply_patches.py", "status", "--site-packages", image.site)
    assert status.returncode == 0


def test_build_step_is_a_no_op_when_run_again(image: FakeImage) -> None:
    assert image.build().returncode == 0
    before = snapshot(image.site)
    assert image.build().returncode == 0
    assert snapshot(image.site) == before


@pytest.mark.parametrize(
    ("installed", "argument", "message"),
    [
        pytest.param("1.81.0", "1.80.10", "litellm 1.81.0 is installed", id="image is not the pinned version"),
        pytest.param("1.81.5", "1.81.5", "is not a pin of", id="version is not in versions.lock"),
        pytest.param("1.81.0", "1.81.x", "is not a version", id="build argument is not a version"),
    ],
)
def test_build_step_refuses_another_version_before_writing_anything(
    tmp_path: Path, installed: str, argument: str, message: str
) -> None:
    image = FakeImage(tmp_path, version=installed)
    before = snapshot(image.site)
    result = image.build(argument)
    assert result.returncode != 0
    assert message in result.stderr
    assert snapshot(image.site) == before
    assert not (image.site / ".sitepatch").exists()


def test_build_step_refuses_a_distribution_the_pin_does_not_have(image: FakeImage) -> None:
    lock = json.loads(image.lockfile.read_text())
    lock["pins"]["1.81.0"]["distributions"]["litellm-enterprise"] = "0.1.27"
    image.lockfile.write_text(json.dumps(lock))
    result = image.build()
    assert result.returncode == 1
    assert "litellm-enterprise (not installed)" in result.stderr
    assert image.module.read_bytes() == SOURCE


def test_build_step_fails_when_a_hunk_does_not_apply_at_fuzz_0(tmp_path: Path) -> None:
    # An upstream change next to the hunk: GNU patch would take it with fuzz; the image build must not.
    image = FakeImage(tmp_path, source=SOURCE.replace(b"value_18 = 18\n", b"value_18 = 18  # upstream\n"))
    before = snapshot(image.site)
    result = image.build()
    assert result.returncode == 1
    assert "applying the patch set failed" in result.stderr
    assert snapshot(image.site) == before


def test_build_step_fails_when_a_patched_module_does_not_compile(tmp_path: Path) -> None:
    image = FakeImage(tmp_path, patched=SOURCE.replace(b"value_20 = 20\n", b"value_20 = = 20\n"))
    result = image.build()
    assert result.returncode == 1
    assert "the patched litellm/mod.py does not compile" in result.stderr


def test_build_step_fails_when_the_result_differs_from_the_lock(image: FakeImage) -> None:
    lock = json.loads(image.lockfile.read_text())
    lock["pins"]["1.81.0"]["files"]["litellm/mod.py"] = "0" * 64
    image.lockfile.write_text(json.dumps(lock))
    result = image.build()
    assert result.returncode == 1
    assert "differs from versions.lock" in result.stderr


@pytest.mark.parametrize(
    "where", [pytest.param("missing", id="no such directory"), pytest.param("empty", id="litellm not installed")]
)
def test_build_step_names_the_interpreters_site_packages_when_the_argument_is_wrong(tmp_path: Path, where: str) -> None:
    site = tmp_path / "usr" / "lib" / "python3.13" / "site-packages"
    if where == "empty":
        site.mkdir(parents=True)
    result = build_step(site, "1.81.0")
    assert result.returncode == 2
    assert "SITE_PACKAGES" in result.stderr


@pytest.mark.skipif(not PRISTINE_P2.is_dir(), reason="the pristine litellm 1.81.0 tree is not here")
def test_build_step_and_guard_on_a_real_litellm_tree_laid_out_like_the_image(tmp_path: Path) -> None:
    site = image_site(tmp_path)
    shutil.copytree(PRISTINE_P2, site)
    result = build_step(site, "1.81.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "summary: versions.lock is current" in result.stdout
    guard = run_guard(site, "--check")
    assert guard.returncode == 0
    # A reinstall puts the pristine file back: the container must refuse to start.
    shutil.copy2(
        PRISTINE_P2 / "litellm/proxy/auth/user_api_key_auth.py", site / "litellm/proxy/auth/user_api_key_auth.py"
    )
    guard = run_guard(site, sys.executable, "-c", "print('started')")
    assert guard.returncode == 1
    assert "started" not in guard.stdout
    assert "lost     0010-pass-through-subpath-auth.diff" in guard.stderr


# --- the startup guard -------------------------------------------------------------------------------------


SHELL = shutil.which("sh")
needs_sh = pytest.mark.skipif(SHELL is None, reason="no POSIX sh")


def run_guard(site: Path | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SITEPATCH_")}
    environ.update({"SITEPATCH_HOME": str(ROOT), "SITEPATCH_PYTHON": sys.executable, **env})
    if site is not None:
        environ["SITEPATCH_SITE_PACKAGES"] = str(site)
    return run(SHELL or "sh", DOCKER / "entrypoint.sh", *args, env=environ)


START = (sys.executable, "-c", "import sys; print('started', sys.argv[1:])", "--port", "4000")


@pytest.fixture
def patched_image(image: FakeImage) -> FakeImage:
    assert image.build().returncode == 0
    return image


@needs_sh
def test_guard_starts_the_command_with_its_arguments_when_every_patch_is_in_place(patched_image: FakeImage) -> None:
    result = run_guard(patched_image.site, *START)
    assert result.returncode == 0, result.stderr
    assert "started ['--port', '4000']" in result.stdout
    assert "sitepatch guard: summary: 1 of 1 patch(es) in place; everything recorded is in place" in result.stdout


@needs_sh
@pytest.mark.parametrize(
    ("damage", "verdict"),
    [
        pytest.param(SOURCE, r"\nlost +0001-fix.diff: back to pristine", id="file rewritten to pristine"),
        pytest.param(
            PATCHED + b"# hand edit\n", r"\nmodified +0001-fix.diff: changed since", id="file changed by hand"
        ),
    ],
)
def test_guard_refuses_to_start_when_a_patch_is_gone(patched_image: FakeImage, damage: bytes, verdict: str) -> None:
    patched_image.module.write_bytes(damage)
    result = run_guard(patched_image.site, *START)
    assert result.returncode == 1
    assert "started" not in result.stdout
    assert re.search(verdict, result.stderr)
    assert "sitepatch guard: refusing to start" in result.stderr


@needs_sh
def test_guard_refuses_to_start_on_an_install_that_was_never_patched(image: FakeImage) -> None:
    result = run_guard(image.site, *START)
    assert result.returncode == 3
    assert "NOT patched" in result.stderr
    assert "started" not in result.stdout


@needs_sh
def test_guard_warn_mode_reports_and_starts_anyway(patched_image: FakeImage) -> None:
    patched_image.module.write_bytes(SOURCE)
    result = run_guard(patched_image.site, *START, SITEPATCH_GUARD="warn")
    assert result.returncode == 0
    assert "started" in result.stdout
    assert "WARNING" in result.stderr


@needs_sh
def test_guard_check_mode_is_the_health_check(patched_image: FakeImage) -> None:
    assert run_guard(patched_image.site, "--check").returncode == 0
    patched_image.module.write_bytes(SOURCE)
    result = run_guard(patched_image.site, "--check")
    assert result.returncode == 1
    assert "NOT everything recorded is in place" in result.stdout


@needs_sh
def test_guard_passes_the_commands_exit_code_through(patched_image: FakeImage) -> None:
    result = run_guard(patched_image.site, sys.executable, "-c", "raise SystemExit(3)")
    assert result.returncode == 3


@needs_sh
@pytest.mark.parametrize(
    ("site", "args", "env"),
    [
        pytest.param(False, START, {}, id="no site-packages configured"),
        pytest.param(True, START, {"SITEPATCH_GUARD": "off"}, id="unknown guard mode"),
        pytest.param(True, (), {}, id="no command"),
    ],
)
def test_guard_usage_errors_exit_64(image: FakeImage, site: bool, args: tuple[str, ...], env: dict[str, str]) -> None:
    result = run_guard(image.site if site else None, *args, **env)
    assert result.returncode == 64
    assert "sitepatch guard:" in result.stderr or "usage:" in result.stderr


# --- .github/workflows -------------------------------------------------------------------------------------


def parse_yaml(text: str) -> Any:
    """Parse the block-style YAML subset the workflow is written in (mappings, sequences, scalars, ``|``)."""
    lines = [
        (len(raw) - len(raw.lstrip(" ")), raw.strip(), raw)
        for raw in text.splitlines()
        if raw.strip() and not raw.lstrip().startswith("#")
    ]
    raw_lines = text.splitlines()
    key_re = re.compile(r"^([A-Za-z_][\w-]*):(?: (.*))?$")

    def scalar(value: str) -> Any:
        assert "\t" not in value
        assert not value.startswith(("[", "{", "&", "*", "!")), f"flow or tagged value not in the subset: {value}"
        if value.startswith('"'):
            return json.loads(value)
        if value.startswith("'"):
            assert value.endswith("'")
            return value[1:-1].replace("''", "'")
        assert " #" not in value, f"trailing comment not in the subset: {value}"
        return value

    def literal(i: int, indent: int) -> tuple[str, int]:
        # Block scalars keep their lines as written: find them in the raw text.
        start = raw_lines.index(lines[i - 1][2]) + 1
        body = []
        for raw in raw_lines[start:]:
            if raw.strip() and len(raw) - len(raw.lstrip(" ")) <= indent:
                break
            body.append(raw)
        while i < len(lines) and lines[i][0] > indent:
            i += 1
        margin = min(len(b) - len(b.lstrip(" ")) for b in body if b.strip())
        return "\n".join(b[margin:] for b in body).rstrip("\n") + "\n", i

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- ") or lines[i][1] == "-":
            return sequence(i, indent)
        return mapping(i, indent)

    def value_of(rest: str | None, i: int, indent: int) -> tuple[Any, int]:
        if rest in (None, ""):
            if i < len(lines) and lines[i][0] > indent:
                return block(i, lines[i][0])
            return None, i
        assert rest is not None
        if rest in ("|", "|-"):
            text, i = literal(i, indent)
            return (text.rstrip("\n") if rest == "|-" else text), i
        return scalar(rest), i

    def mapping(i: int, indent: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
            match = key_re.match(lines[i][1])
            assert match, f"not a mapping entry: {lines[i][1]!r}"
            key, rest = match.groups()
            assert key not in result, f"duplicate key {key}"
            result[key], i = value_of(rest, i + 1, indent)
        assert i == len(lines) or lines[i][0] < indent, f"bad indentation at {lines[i][1]!r}"
        return result, i

    def sequence(i: int, indent: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            rest = lines[i][1][2:]
            if key_re.match(rest):
                # "- key: value" opens a mapping indented two more than the dash.
                lines[i] = (indent + 2, rest, lines[i][2])
                item, i = mapping(i, indent + 2)
            else:
                item = scalar(rest)
                i += 1
            result.append(item)
        return result, i

    doc, end = mapping(0, 0)
    assert end == len(lines)
    return doc


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return parse_yaml(WORKFLOW.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def nox_steps(job: dict[str, Any]) -> list[str]:
    return [s["run"] for s in job["steps"] if "run" in s and re.search(r"(^|\s)nox\s", s["run"])]


def test_yaml_subset_parser_reads_what_the_workflow_uses() -> None:
    text = "a: 1\nb:\n  - x\n  - k: 'it''s'\n    m: \"q\"\nc: |\n  one\n    two\nd:\n"
    assert parse_yaml(text) == {"a": "1", "b": ["x", {"k": "it's", "m": "q"}], "c": "one\n  two\n", "d": None}
    with pytest.raises(AssertionError):
        parse_yaml("a: [1, 2]\n")


def test_workflow_lists_the_sessions_with_nox_at_run_time(workflow: dict[str, Any]) -> None:
    lister = [name for name, job in workflow["jobs"].items() if "strategy" not in job]
    assert lister == ["list"]
    job = workflow["jobs"]["list"]
    runs = [s.get("run", "") for s in job["steps"]]
    assert "nox --list --json > sessions.json" in runs
    assert 'python tools/ci_matrix.py sessions.json >> "$GITHUB_OUTPUT"' in runs
    matrix_step = next(s for s in job["steps"] if "ci_matrix.py" in s.get("run", ""))
    for output in ("sessions", "summaries"):
        assert job["outputs"][output] == f"${{{{ steps.{matrix_step['id']}.outputs.{output} }}}}"


def test_workflow_runs_one_job_per_listed_session_and_no_hand_kept_list(workflow: dict[str, Any]) -> None:
    runners = {name: job for name, job in workflow["jobs"].items() if "strategy" in job}
    assert set(runners) == {"session", "summary"}
    for name, job in runners.items():
        output = "sessions" if name == "session" else "summaries"
        assert job["strategy"]["matrix"] == {"include": f"${{{{ fromJSON(needs.list.outputs.{output}) }}}}"}
        assert "list" in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"])
        assert job["strategy"]["fail-fast"] == "false"
        assert job["name"] == "${{ matrix.session }}"
        (step,) = [s for s in job["steps"] if "run" in s and "--session" in s["run"]]
        assert step["run"] == 'nox --non-interactive --error-on-missing-interpreters --session "$SESSION"'
        assert step["env"] == {"SESSION": "${{ matrix.session }}"}
        setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
        assert setup["with"]["python-version"] == "${{ matrix.python }}"
    # No session and no pin is named anywhere in the workflow.
    text = WORKFLOW.read_text(encoding="utf-8")
    lock = json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))
    for pin in lock["pins"]:
        assert pin not in text
    assert not re.search(r"(-s|--session)\s+[\"']?(tests|lint|patched|unpatched|matrix|report)\b", text)


def test_workflow_summaries_run_after_every_session_on_their_merged_reports(workflow: dict[str, Any]) -> None:
    session, summary = workflow["jobs"]["session"], workflow["jobs"]["summary"]
    upload = next(s for s in session["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ always() }}"
    assert upload["with"]["path"] == "reports/"
    assert upload["with"]["name"].startswith("reports-")
    assert summary["needs"] == ["list", "session"]
    assert summary["if"].startswith("${{ !cancelled()")
    download = next(s for s in summary["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "reports-*", "merge-multiple": "true", "path": "reports/"}
    steps = summary["steps"]
    assert steps.index(download) < next(i for i, s in enumerate(steps) if "--session" in s.get("run", ""))


LISTING: list[dict[str, Any]] = [
    {"session": "tests", "name": "tests", "python": None, "tags": [], "call_spec": {}},
    {"session": "lint", "name": "lint", "python": None, "tags": [], "call_spec": {}},
    {"session": "patched(1.81.0)", "name": "patched", "python": "3.11", "tags": [], "call_spec": {"pin": "1.81.0"}},
    {"session": "tests_all-3.13", "name": "tests_all", "python": "3.13", "tags": [], "call_spec": {}},
    {"session": "matrix", "name": "matrix", "python": None, "tags": ["reports"], "call_spec": {}},
    {"session": "report", "name": "report", "python": None, "tags": ["reports"], "call_spec": {}},
]


def test_ci_matrix_puts_every_listed_session_in_exactly_one_job() -> None:
    jobs = ci_matrix.jobs(LISTING)
    names = [j["session"] for j in jobs["sessions"] + jobs["summaries"]]
    assert sorted(names) == sorted(e["session"] for e in LISTING)
    assert [j["session"] for j in jobs["summaries"]] == ["matrix", "report"]
    assert {j["session"]: j["python"] for j in jobs["sessions"]} == {
        "tests": "3.11",
        "lint": "3.11",
        "patched(1.81.0)": "3.11",
        "tests_all-3.13": "3.13",
    }


def test_ci_matrix_prints_github_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "sessions.json"
    listing.write_text(json.dumps(LISTING))
    assert ci_matrix.main([str(listing)]) == 0
    out = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert set(out) == {"sessions", "summaries"}
    assert json.loads(out["summaries"]) == [
        {"session": "matrix", "python": "3.11"},
        {"session": "report", "python": "3.11"},
    ]


def test_ci_matrix_refuses_an_empty_or_duplicated_listing(tmp_path: Path) -> None:
    listing = tmp_path / "sessions.json"
    listing.write_text("[]")
    assert ci_matrix.main([str(listing)]) == 1
    with pytest.raises(ValueError, match="twice"):
        ci_matrix.jobs([LISTING[0], LISTING[0]])


@pytest.mark.skipif(
    shutil.which("nox") is None and not Path(sys.executable).with_name("nox").exists(), reason="nox is not installed"
)
def test_ci_matrix_covers_every_session_of_this_noxfile() -> None:
    nox = shutil.which("nox") or str(Path(sys.executable).with_name("nox"))
    listed = run(nox, "--list", "--json", "-f", ROOT / "noxfile.py")
    assert listed.returncode == 0, listed.stderr
    listing = json.loads(listed.stdout)
    jobs = ci_matrix.jobs(listing)
    assert sorted(j["session"] for j in jobs["sessions"] + jobs["summaries"]) == sorted(e["session"] for e in listing)
    lock = json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))
    for pin in lock["pins"]:
        assert f"patched({pin})" in [j["session"] for j in jobs["sessions"]]


# --- tools/report.py ---------------------------------------------------------------------------------------


def write_reports(directory: Path, pin: str, *, needed: bool = True) -> list[str]:
    """Reports as the patched and unpatched sessions write them, for every patch the lock selects on ``pin``."""
    lock = json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))
    names = list(lock["pins"][pin]["patches"])
    directory.mkdir(exist_ok=True)
    apply = {"ok": True, "patches": [{"name": n, "status": "applied", "reason": ""} for n in names]}
    (directory / f"{pin}-patched.json").write_text(json.dumps({"pin": pin, "apply": apply, "patches": names}))
    tests = {n[:4]: {f"tests/regression/test_{n[:4]}.py::test_it": "passed"} for n in names}
    (directory / f"{pin}-patched-tests.json").write_text(json.dumps(tests))
    unpatched = {n[:4]: {f"tests/regression/test_{n[:4]}.py::test_it": "failed"} for n in names}
    problems = []
    if not needed:
        unpatched[names[0][:4]] = {f"tests/regression/test_{names[0][:4]}.py::test_it": "passed"}
        problems.append(f"patch {names[0]} is no longer needed on {pin}: retire it")
    doc = {"pin": pin, "patches": names, "tests": unpatched, "problems": problems}
    (directory / f"{pin}-unpatched.json").write_text(json.dumps(doc))
    return names


def test_report_renders_markdown_and_html_from_the_session_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    names = write_reports(reports, "1.81.0")
    md, page = report.write(reports)
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# LiteLLM patches x pins\n\n" + matrix.table(matrix.build(reports)))
    assert "| 0010 pass-through-subpath-auth | not run, not run | applied, needed | not run, not run |" in text
    assert "| 0001 managed-file-object-optional | not run, not run | fixed upstream (1.80.16) |" in text
    assert "None reported." in text
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<td class="ok">') == len(names)
    assert "<script" not in html
    assert not re.search(r"(src|href)=", html)
    assert "provider&#x27;s confirmation" in html  # subjects are escaped


def test_report_marks_a_patch_that_is_no_longer_needed_as_a_problem(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    names = write_reports(reports, "1.81.0", needed=False)
    built = matrix.build(reports)
    column = [p.id for p in built.pins].index("1.81.0")
    verdicts = [row.cells[column].verdict for row in built.rows if row.cells[column].patch == names[0]]
    assert verdicts == ["problem"]
    assert built.problems == (f"patch {names[0]} is no longer needed on 1.81.0: retire it",)
    assert '<td class="problem">applied, NOT needed' in report.html_page(built)


def test_report_names_a_test_that_fails_with_the_patch(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    names = write_reports(reports, "1.81.0")
    outcomes = json.loads((reports / "1.81.0-patched-tests.json").read_text())
    outcomes[names[1][:4]] = {"tests/regression/x.py::test_y": "failed"}
    (reports / "1.81.0-patched-tests.json").write_text(json.dumps(outcomes))
    built = matrix.build(reports)
    assert built.problems == (f"1.81.0: {names[1]}: tests/regression/x.py::test_y failed with the patch applied",)


def test_report_without_reports_shows_every_selected_cell_as_not_run(tmp_path: Path) -> None:
    built = matrix.build(tmp_path / "none")
    selected = [c for row in built.rows for c in row.cells if c.kind == "selected"]
    assert selected
    assert {c.verdict for c in selected} == {"pending"}
    assert built.sources == ()
    assert "no session report" in report.html_page(built)


def test_report_is_deterministic(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(reports, "1.80.10")
    first = [p.read_bytes() for p in report.write(reports)]
    assert [p.read_bytes() for p in report.write(reports)] == first


def test_matrix_table_is_the_historic_format(tmp_path: Path) -> None:
    table = matrix.render(tmp_path)
    pins = list(json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))["pins"])
    assert table.splitlines()[:2] == [
        "| patch | " + " | ".join(f"litellm {pin}" for pin in pins) + " |",
        "|---" * (len(pins) + 1) + "|",
    ]


# --- docs --------------------------------------------------------------------------------------------------


DOC_FILES = [*sorted((ROOT / "docs").glob("*.md")), DOCKER / "README.md"]


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_name_only_patches_and_files_that_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for name in re.findall(r"patches/(\d{4}-[\w.+-]+\.diff)", text):
        assert (ROOT / "patches" / name).is_file(), name
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (doc.parent / target).resolve().exists(), target


def test_migration_guides_exist_with_worked_examples() -> None:
    names = {p.name for p in DOC_FILES}
    assert {"migrating-from-sitecustomize.md", "migrating-from-bind-mounts.md"} <= names
    for name in ("migrating-from-sitecustomize.md", "migrating-from-bind-mounts.md"):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert re.search(r"patches/00\d\d-[a-z0-9-]+(\+[A-Za-z0-9._-]+)?\.diff", text), name


def test_build_step_refuses_an_image_a_known_defect_would_stay_in(image: FakeImage) -> None:
    # A second patch whose defect 1.81.0 has (Affects) but that no variant covers: the image is not protected.
    diff = make_diff(SOURCE, SOURCE.replace(b"value_3 = 3\n", b"value_3 = 33\n"), "litellm/mod.py")
    write_patch(
        image.patches, "0002-other.diff", diff, package="litellm", versions=">=1.90", extra={"Affects": ">=1.80"}
    )
    before = snapshot(image.site)

    result = image.build()

    assert result.returncode == 1
    assert "this image would NOT be protected: no variant covers 0002 (litellm 1.81.0)" in result.stderr
    assert snapshot(image.site) == before
