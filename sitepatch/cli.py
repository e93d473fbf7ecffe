"""The command line: parse arguments, dispatch to the command's module, render the result, map errors to exit codes.

Exit codes: 0 every selected patch applied or already applied (``status``: everything in place); 1 a patch
failed, a file was refused, or (``--strict``) an install would stay uncovered, and nothing was written; 2 a
usage or environment error (a bad argument, a missing directory, none of the set's packages installed, an
unreadable file, a damaged manifest, journal, record or lock); 3 ``status`` only: not patched (no manifest);
130 interrupted by SIGINT, 143 by SIGTERM (a run that was writing rolls back first). ``--json`` prints one
JSON object built from the same result objects as the human output, errors included.

Each command lives in its own module under :mod:`sitepatch.commands`, imported only when that command runs:
``status`` runs at every container start, and what it does not import it does not pay for. A plain ``status``
command line (only the common options, each once, well-formed) is read without :mod:`argparse`, whose import
costs as much as the rest of ``status``; every other command line, and every error, goes through the parser.
"""

from __future__ import annotations

import os
import sys

from sitepatch import __version__
from sitepatch.commands import EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_INTERRUPTED
from sitepatch.errors import InterruptedRunError, ManifestError, SitepatchError, TargetError, WriteError

TYPE_CHECKING = False  # typing, argparse and pathlib are not imported for status; type checkers take this branch
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any, NoReturn, TextIO

    from sitepatch.commands._outcome import Outcome

__all__ = ["main"]


def __dir__() -> list[str]:
    return __all__


COMMANDS = (
    "apply",
    "check",
    "status",
    "revert",
    "list",
    "lock",
    "new",
    "refresh",
    "import",
    "export",
    "upstream-status",
    "sweep",
    "evidence",
    "constraints",
)
MODULES = {
    "apply": "apply",
    "check": "apply",
    "status": "status",
    "revert": "revert",
    "list": "listing",
    "lock": "lock",
    "new": "new",
    "refresh": "refresh",
    "import": "importing",
    "export": "export",
    "upstream-status": "upstream",
    "sweep": "sweep",
    "evidence": "evidence",
    "constraints": "constraints",
}
"""The module of :mod:`sitepatch.commands` that runs each command; each has ``run(args, *, hook) -> Outcome``."""


class UsageError(Exception):
    """A bad command line; ``main`` reports it (as JSON too, with ``--json``) and exits 2."""

    def __init__(self, message: str, usage: str) -> None:
        self.message = message
        self.usage = usage
        super().__init__(message)


def _bad_value(message: str) -> Exception:
    import argparse  # noqa: PLC0415 - loaded already whenever the parser calls a converter

    return argparse.ArgumentTypeError(message)


def _fuzz(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _bad_value(f"{text!r} is not a whole number") from None
    if value < 0:
        msg = f"{value} is negative; give 0 (exact context, the default) or more"
        raise _bad_value(msg)
    return value


def _jobs(text: str) -> int:
    value = _fuzz(text)
    if value < 1:
        raise _bad_value(f"{value}: give 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad_value(f"{text!r} is not a number of seconds") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:  # noqa: PLR0124 - NaN; math is not needed
        raise _bad_value(f"{text!r} must be a finite number of seconds, 0 or more")
    return value


COMMON_OPTIONS = (
    ("--site-packages", "DIR", "the site-packages directory to patch"),
    ("--python", "PATH", "patch the site-packages of this interpreter"),
    ("--patches", "DIR", "patch directory (default: {patches})"),
    ("--json", None, "print one JSON object instead of text"),
    ("--lock-timeout", "SECONDS", "wait this long for another run"),
)
"""The options every command takes: flag, metavar (``None``: a switch), help. The first two exclude each other."""
_MAX_FUZZ = ("--max-fuzz", "N", "ignore up to N outer context lines (default 0)")
_FORCE = ("--force", None, "patch files that are not pristine as they are (loudly)")
_STRICT = (
    "--strict",
    None,
    "when a patch leaves this install unprotected (uncovered), write nothing and exit 1",
)
_VERBOSE = ("--verbose", None, "also list each variant skipped as outside Versions (-v)")
PLANNING_OPTIONS = {
    "apply": (
        _MAX_FUZZ,
        _FORCE,
        ("--dry-run", None, "plan and report every verdict; write nothing"),
        _STRICT,
        _VERBOSE,
    ),
    "check": (_MAX_FUZZ, _FORCE, _STRICT, _VERBOSE),
}
"""The options ``apply`` and ``check`` take besides :data:`COMMON_OPTIONS`, in the same form."""
_SHORT = {"--verbose": ("-v",)}
"""Short spellings; a command line using one is read by argparse, not by :func:`_quick_arguments`."""
_EXCLUSIVE = ("--site-packages", "--python")
_DEFAULTS: dict[str, object] = {"--lock-timeout": 300.0, "--max-fuzz": 0}
_PATHS = ("--site-packages", "--patches")
_CONVERTERS: dict[str, Callable[[str], object]] = {"--lock-timeout": _seconds, "--max-fuzz": _fuzz}
"""How option values are read, both without argparse and as argparse's ``type`` (paths aside: see there)."""
QUICK_COMMANDS = frozenset({"status", "check", "apply"})
"""Commands whose plain command lines :func:`_quick_arguments` reads from the option tables, without argparse.

``status`` gets its paths as strings (it works with :mod:`os` paths and never imports :mod:`pathlib`); the
others get :class:`~pathlib.Path` objects, as from argparse."""


class _Arguments:
    """What :func:`_quick_arguments` gives a command: the attributes argparse's namespace would have."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def _read_options(
    tokens: Sequence[str], options: Sequence[tuple[str, str | None, str]]
) -> dict[str, str | bool] | None:
    """The options of a plain command line, by flag; ``None`` when it is not plain."""
    metavars = {flag: metavar for flag, metavar, _ in options}
    given: dict[str, str | bool] = {}
    rest = iter(tokens)
    for token in rest:
        flag, equals, value = token.partition("=")
        if flag not in metavars or flag in given:
            return None
        if metavars[flag] is None:
            if equals:
                return None
            given[flag] = True
            continue
        if not equals:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        given[flag] = value
    if all(flag in given for flag in _EXCLUSIVE):
        return None
    return given


def _quick_arguments(arguments: Sequence[str], default_patches: str | os.PathLike[str] | None) -> Any:  # noqa: ANN401 - a namespace
    """The parsed arguments of a plain command line of a :data:`QUICK_COMMANDS` command, else ``None``.

    Plain: each option of the command at most once, spelled in full, as ``--flag VALUE`` or ``--flag=VALUE``
    with a non-empty value not starting with ``-``. Anything else (help, abbreviations, mistakes) is left to
    argparse, which accepts the same lines with the same result and reports the rest. argparse's import and
    its parser cost ``status`` as much as its own work.
    """
    if not arguments or arguments[0] not in QUICK_COMMANDS:
        return None
    command = arguments[0]
    options = COMMON_OPTIONS + PLANNING_OPTIONS.get(command, ())
    given = _read_options(arguments[1:], options)
    if given is None:
        return None
    converters = dict(_CONVERTERS)
    if command != "status":
        from pathlib import Path  # noqa: PLC0415 - status takes its paths as strings

        converters.update(dict.fromkeys(_PATHS, Path))
    values: dict[str, object] = {"command": command}
    for flag, metavar, _ in options:
        value = given.get(flag)
        try:
            converted = converters.get(flag, str)(value) if isinstance(value, str) else value
        except Exception:  # noqa: BLE001 - argparse's ArgumentTypeError: argparse reports it
            return None
        if value is None:
            converted = False if metavar is None else _DEFAULTS.get(flag)
        values[flag[2:].replace("-", "_")] = converted
    if values["patches"] is None:
        values["patches"] = converters.get("--patches", str)(os.fspath(default_patches or "patches"))
    return _Arguments(**values)


class _Unbuilt:
    """Stands for the parser of a command that is not on the command line: its arguments are not built."""

    def __getattr__(self, _name: str) -> Callable[..., object]:
        return lambda *_args, **_kwargs: None


class _Subcommands:
    """The subcommands action, building only the parser of the chosen command (``None``: every one).

    argparse's cost grows with every parser and argument; a run needs its own command's only. Help and
    errors about the command itself come from a parser built with every command.
    """

    def __init__(self, action: Any, chosen: str | None) -> None:  # noqa: ANN401 - argparse's private type
        self.action = action
        self.chosen = chosen

    def add_parser(self, name: str, **options: Any) -> Any:  # noqa: ANN401 - a parser or a stand-in
        if self.chosen is None or name == self.chosen:
            return self.action.add_parser(name, **options)
        return _Unbuilt()


def _add_options(
    parser: argparse.ArgumentParser,
    options: Sequence[tuple[str, str | None, str]],
    converters: dict[str, Callable[[str], object]],
    defaults: dict[str, object],
) -> None:
    """Add options from a table (:data:`COMMON_OPTIONS`, :data:`PLANNING_OPTIONS`) to an argparse parser."""
    import argparse  # noqa: PLC0415 - loaded already by the caller

    # Hidden options stay out of the group: argparse cannot format the usage of a group with a hidden member.
    exclusive = [flag for flag, _, text in options if flag in _EXCLUSIVE and text != argparse.SUPPRESS]
    where = parser.add_mutually_exclusive_group() if exclusive else parser
    for flag, metavar, text in options:
        group = where if flag in exclusive else parser
        if metavar is None:
            group.add_argument(*_SHORT.get(flag, ()), flag, action="store_true", help=text)
            continue
        settings: dict[str, Any] = {"metavar": metavar, "help": text.format(patches=defaults.get("--patches"))}
        if text == argparse.SUPPRESS:
            settings = {"help": text}
        if flag in converters:
            settings["type"] = converters[flag]
        if flag in defaults:
            settings["default"] = defaults[flag]
        group.add_argument(flag, **settings)


def _build_parser(default_patches: Path, chosen: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; with ``chosen``, only that command's own parser is built."""
    import argparse  # noqa: PLC0415 - not for a plain status command line
    from pathlib import Path  # noqa: PLC0415

    class _Parser(argparse.ArgumentParser):
        """argparse, but a usage error is raised instead of printed, so that ``--json`` can report it too."""

        def error(self, message: str) -> NoReturn:
            raise UsageError(message, self.format_usage())

    converters: dict[str, Callable[[str], object]] = {**_CONVERTERS, **dict.fromkeys(_PATHS, Path)}
    defaults = {**_DEFAULTS, "--patches": default_patches}
    common = _Parser(add_help=False)
    _add_options(common, COMMON_OPTIONS, converters, defaults)
    # sweep, evidence and constraints read the index and the record, never an install: the target options are
    # accepted (as every command accepts them) but not offered in their help.
    untargeted = _Parser(add_help=False)
    _add_options(
        untargeted,
        [(flag, metavar, argparse.SUPPRESS if flag in _EXCLUSIVE else text) for flag, metavar, text in COMMON_OPTIONS],
        converters,
        defaults,
    )

    parser = _Parser(
        prog="sitepatch",
        description="Apply a version-matched, context-checked set of unified diffs to site-packages, all or nothing.",
    )
    parser.add_argument("--version", action="version", version=f"sitepatch {__version__}")
    commands = _Subcommands(parser.add_subparsers(dest="command", metavar="COMMAND"), chosen)
    for name, text in (
        ("apply", "apply the selected patches (the default)"),
        ("check", "plan and report; write nothing"),
    ):
        sub = commands.add_parser(name, parents=[common], help=text, description=text)
        _add_options(sub, PLANNING_OPTIONS[name], converters, defaults)
    commands.add_parser("status", parents=[common], help="compare the target with the manifest")
    revert = commands.add_parser("revert", parents=[common], help="restore the pristine files of everything applied")
    revert.add_argument("--force", action="store_true", help="also overwrite files changed since they were patched")
    revert.add_argument("--dry-run", action="store_true", help="report what would be restored; write nothing")
    commands.add_parser("list", parents=[common], help="every patch and whether it is selected here")
    lock = commands.add_parser(
        "lock",
        parents=[common],
        help="check versions.lock against the patches, or verify/update a pin from an applied target",
        description=(
            "check: the patch files and headers agree with versions.lock (no install needed). "
            "verify --pin ID: the target's manifest matches the pin. update --pin ID: record the target's manifest."
        ),
    )
    new = commands.add_parser(
        "new", parents=[common], help="write a patch from the edits made to an installed distribution"
    )
    new.add_argument("name", help="the patch's slug, e.g. files-retrieve-fix")
    new.add_argument(
        "paths", nargs="*", help="only these files (relative to site-packages); default: every edited file"
    )
    new.add_argument("--package", required=True, help="the distribution whose files were edited")
    new.add_argument("--subject", default="", help="the Subject header (default: from NAME)")
    new.add_argument("--description", default="", help="the Description header")
    new.add_argument("--offline", action="store_true", help="never download the wheel to get pristine files")
    refresh = commands.add_parser(
        "refresh",
        parents=[common],
        help="rewrite patches that apply only with an offset or fuzz to the installed version",
    )
    refresh.add_argument("patch", nargs="*", help="patch file names or numbers")
    refresh.add_argument("--all", action="store_true", help="every patch whose package is installed")
    refresh.add_argument(
        "--widen", action="store_true", help="rewrite in place and widen Versions (default: new variant)"
    )
    refresh.add_argument(
        "--max-fuzz", type=_fuzz, default=2, metavar="N", help="fuzz allowed while refreshing (default 2)"
    )
    refresh.add_argument("--dry-run", action="store_true", help="report; write nothing")
    imp = commands.add_parser(
        "import", parents=[common], help="turn an upstream diff (a PR's .diff, a format-patch file) into patches"
    )
    imp.add_argument("source", help="a diff file, or an http(s) URL of one")
    imp.add_argument("--name", default="", help="the patch's slug (default: from the subject)")
    imp.add_argument("--subject", default="", help="the Subject header (default: from the diff)")
    imp.add_argument("--force", action="store_true", help="write the patches even if they do not apply here")
    imp.add_argument("--dry-run", action="store_true", help="report; write nothing")
    export = commands.add_parser(
        "export", parents=[common], help="export a patch as a git format-patch file and pull-request body"
    )
    export.add_argument("patch", help="the patch file name or number")
    export.add_argument("--output", type=Path, default=Path("export"), metavar="DIR", help="default: ./export")
    export.add_argument("--repo", type=Path, metavar="PATH", help="a local git clone of upstream to apply it in")
    export.add_argument("--tag", help="the upstream tag to branch from (default: v<lowest version in Versions>)")
    export.add_argument(
        "--author", default="sitepatch <sitepatch@users.noreply.invalid>", help="the From: of the patch"
    )
    export.add_argument("--execute", action="store_true", help="run the git commands in --repo (default: show them)")
    upstream = commands.add_parser(
        "upstream-status", parents=[common], help="classify every patch against the installed (newer) release"
    )
    upstream.add_argument("--max-fuzz", type=_fuzz, default=0, metavar="N")
    _add_sweep_parsers(commands, untargeted)
    lock.add_argument("action", choices=("check", "verify", "update"))
    lock.add_argument("--pin", metavar="ID", help="the pin (verify, update)")
    lock.add_argument("--lockfile", type=Path, metavar="FILE", help="default: versions.lock beside the patch directory")
    return parser


DEFAULT_INDEX = "https://pypi.org/pypi"
"""The JSON API root ``sweep`` reads (kept here, not imported: the parser must stay cheap to build)."""


def _add_sweep_parsers(commands: _Subcommands, common: argparse.ArgumentParser) -> None:
    from pathlib import Path  # noqa: PLC0415 - not for a plain status command line

    sweep = commands.add_parser(
        "sweep",
        parents=[common],
        help="plan every patch against every release on the index (no install)",
        description=(
            "For each release of PACKAGE on the index (default: from the lowest pin in versions.lock to the "
            "newest; final releases only), read RECORD, METADATA and the files the patches touch with HTTP "
            "range requests (cached), pair it with the litellm-enterprise releases its [proxy] extra admits, and "
            "plan every variant in memory. Exit 1 when a selected variant conflicts in any pairing."
        ),
    )
    sweep.add_argument("--index", default=DEFAULT_INDEX, metavar="URL", help=f"JSON API root (default {DEFAULT_INDEX})")
    sweep.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="release cache (default: $SITEPATCH_CACHE_DIR, else ~/.cache/sitepatch)",
    )
    sweep.add_argument("--offline", action="store_true", help="use only the cache; never ask the index")
    sweep.add_argument("--package", default="litellm", help="the swept distribution (default litellm)")
    sweep.add_argument(
        "--companion",
        default="litellm-enterprise",
        help="the distribution each release's [proxy] extra pins (default litellm-enterprise; '' for none)",
    )
    sweep.add_argument("--from", dest="lower", metavar="VERSION", help="oldest release (default: the lowest pin)")
    sweep.add_argument("--to", dest="upper", metavar="VERSION", help="newest release (default: the newest)")
    sweep.add_argument("--releases", default="", metavar="V,V", help="exactly these releases (comma-separated)")
    sweep.add_argument("--pre", action="store_true", help="also sweep pre- and development releases")
    sweep.add_argument(
        "--pairings",
        choices=("every", "ends"),
        default="every",
        help=(
            "which companion releases an extra's range is paired with: every one on the index (default), or "
            "ends: all of up to 3, else the lowest, the one current a day after the upload, and the newest"
        ),
    )
    sweep.add_argument("--max-fuzz", type=_fuzz, default=0, metavar="N", help="fuzz apply would use (default 0)")
    sweep.add_argument("--output", type=Path, metavar="FILE", help="also write the JSON document to FILE")
    sweep.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="update the coverage record FILE (e.g. coverage.json beside the patch directory) with the verdicts",
    )
    sweep.add_argument("--lockfile", type=Path, metavar="FILE", help="default: versions.lock beside the patches")
    sweep.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    evidence = commands.add_parser(
        "evidence",
        parents=[common],
        help="install group representatives and range ends, run the regression tests unpatched and patched",
        description=(
            "Maintainers only: needs uv and the index. From a sweep document (sweep --output FILE), install each "
            "group's first release and each verdict range's ends with uv --exclude-newer <upload date + 1 day>, "
            "run the patches' regression tests unpatched (must fail in the test body) and patched (must pass), "
            "and merge the results into the coverage record."
        ),
    )
    evidence.add_argument("--sweep", type=Path, required=True, metavar="FILE", help="the sweep document")
    evidence.add_argument("--record", type=Path, metavar="FILE", help="coverage record to merge into (coverage.json)")
    evidence.add_argument("--work-dir", type=Path, metavar="DIR", help="venvs, junit files and the result cache")
    evidence.add_argument("--jobs", type=_jobs, default=1, metavar="N", help="releases tested at once (default 1)")
    evidence.add_argument("--shard", default="1/1", metavar="I/N", help="run only the I-th of N shards (default 1/1)")
    evidence.add_argument("--releases", default="", metavar="V,V", help="only these releases")
    evidence.add_argument("--patch-ids", default="", metavar="ID,ID", help="only these patch ids")
    evidence.add_argument("--python-version", default="3.11", metavar="X.Y", help="the venvs' Python (default 3.11)")
    evidence.add_argument("--dry-run", action="store_true", help="list the releases and patch ids; install nothing")

    constraints = commands.add_parser(
        "constraints",
        parents=[common],
        help="print a pip/uv constraints file admitting only releases every patch covers",
        description=(
            "Read the coverage record (default: coverage.json beside the patch directory) and print a "
            "constraints file that admits only the swept releases on which every patch is covered, so that "
            "`uv pip install -c covered.txt 'litellm[proxy]'` picks the newest protected release."
        ),
    )
    constraints.add_argument("--record", type=Path, metavar="FILE", help="the coverage record (default: coverage.json)")
    constraints.add_argument("--output", type=Path, metavar="FILE", help="write the constraints to FILE, not stdout")


def _emit(outcome: Outcome, *, as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        import json  # noqa: PLC0415 - only for --json

        out.write(json.dumps(outcome.document, indent=2) + "\n")
        return
    out.writelines(line + "\n" for line in outcome.lines)
    err.writelines(f"error: {problem}\n" for problem in outcome.errors)


def _normalise(argv: list[str]) -> list[str]:
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return ["apply", *argv]
    return argv


def main(
    argv: Sequence[str] | None = None,
    *,
    default_patches: str | os.PathLike[str] | None = None,
    hook: Callable[[str], None] | None = None,
) -> int:
    """Run the command line.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :param default_patches: the patch directory when ``--patches`` is not given (default: ``./patches``).
    :param hook: passed to the writer; tests use it to interrupt a run at a chosen step.
    :returns: the exit code.
    """
    arguments = _normalise(list(sys.argv[1:] if argv is None else argv))
    args = _quick_arguments(arguments, default_patches)
    if args is None:
        from pathlib import Path  # noqa: PLC0415 - not for a plain status command line

        chosen = arguments[0] if arguments[0] in COMMANDS else None
        parser = _build_parser(Path(default_patches or "patches"), chosen)
        try:
            args = parser.parse_args(arguments)
        except UsageError as error:
            return _usage_error(error, arguments)
    command = args.command
    as_json = bool(args.json)
    try:
        # __import__ rather than importlib.import_module: the same import, and it shows in -X importtime.
        module = __import__(f"sitepatch.commands.{MODULES.get(command, 'listing')}", fromlist=["run"])
        run: Callable[..., Outcome] = module.run
        outcome = run(args, hook=hook)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in RUNTIME_DEPENDENCIES:
            raise
        return _fail(_missing_dependencies(), EXIT_ENVIRONMENT, as_json=as_json, command=command)
    except InterruptedRunError as error:
        return _fail(error, error.exit_code, as_json=as_json, command=command)
    except (TargetError, ManifestError, WriteError) as error:
        return _fail(error, EXIT_ENVIRONMENT, as_json=as_json, command=command)
    except SitepatchError as error:
        return _fail(error, EXIT_FAILED, as_json=as_json, command=command)
    try:
        _emit(outcome, as_json=as_json, out=sys.stdout, err=sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, a pager) went away: the run's result still stands; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return outcome.code


RUNTIME_DEPENDENCIES = ("unidiff", "packaging")
"""What sitepatch imports besides the standard library (``apply_patches.py`` runs from a clone, uninstalled)."""


def _missing_dependencies() -> SitepatchError:
    """The error for an interpreter without the runtime dependencies, naming them and the pip command."""
    import importlib.util  # noqa: PLC0415 - only on this error

    missing = [name for name in RUNTIME_DEPENDENCIES if importlib.util.find_spec(name) is None]
    names = " ".join(missing or RUNTIME_DEPENDENCIES)
    return SitepatchError(
        f"{sys.executable} lacks {', '.join(missing or RUNTIME_DEPENDENCIES)}, which sitepatch needs: "
        f"run `{sys.executable} -m pip install {names}`, or run sitepatch with a Python that has them and name "
        "the environment to patch with --python PATH"
    )


def _usage_error(error: UsageError, arguments: Sequence[str]) -> int:
    import json  # noqa: PLC0415 - not at start-up

    if "--json" in arguments:
        command = arguments[0] if arguments and arguments[0] in COMMANDS else "apply"
        doc = {"command": command, "ok": False, "error": error.message, "problems": [error.message], "patches": []}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stderr.write(f"{error.usage}sitepatch: error: {error.message}\n")
    return EXIT_ENVIRONMENT


def _fail(error: SitepatchError, code: int, *, as_json: bool, command: str) -> int:
    if as_json:
        import json  # noqa: PLC0415 - not at start-up

        problems = list(getattr(error, "problems", ())) or [str(error)]
        doc = {"command": command, "ok": False, "error": str(error), "problems": problems, "patches": []}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stderr.write(f"error: {error}\n")
    return code
