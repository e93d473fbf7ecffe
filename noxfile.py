"""Sessions: ``tests`` and ``lint`` for the engine; ``patched``/``unpatched`` per pinned LiteLLM (versions.lock).

Run ``nox`` for the default sessions, ``nox -l`` to list them all.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = ["tests", "lint"]

RUNTIME = ["unidiff>=0.7.5", "packaging>=22"]
TEST = ["pytest>=8", "hypothesis>=6.100", "pytest-cov>=5"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the engine's unit and property tests with branch coverage (no network, no LiteLLM)."""
    session.install(*RUNTIME, *TEST)
    session.run(
        "pytest",
        "--cov=sitepatch",
        "--cov-branch",
        "--cov-report=term",
        *session.posargs,
    )


@nox.session(python=["3.10", "3.11", "3.12", "3.13"], default=False)
def tests_all(session: nox.Session) -> None:
    """Run the engine's tests on every supported Python that is installed."""
    session.install(*RUNTIME, *TEST)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and types: ruff (lint and format) and mypy --strict."""
    session.install(*RUNTIME, "ruff>=0.8", "mypy>=1.13", "nox", "pytest", "hypothesis")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
