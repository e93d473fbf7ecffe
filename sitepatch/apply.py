"""The only module that writes: atomic file replacement, the journal, the lock, recovery and revert.

A run that writes goes through these steps, each safe to interrupt at any instant:

1. Take the target's lock (``.sitepatch/lock``); concurrent runs wait their turn.
2. Recover: if a journal exists, a previous run was killed mid-way. Roll its files back to what they were
   before it (or, if its manifest was already written, just finish its clean-up).
3. Keep a copy of every file about to change (``.sitepatch/txn/``) and of its pristine image
   (``.sitepatch/pristine/``), then write the journal naming each file with its before and after hash. On a
   first apply a file before the run *is* its pristine image: the pristine copy serves as its roll-back copy
   too (the journal entry says ``"kept": true``), so the file is copied once, not twice.
4. Write each file as a temporary file beside it, then ``os.replace`` it: never in place, because uv
   hard-links site-packages files to its cache and an in-place write would corrupt every other venv.
   Stale bytecode of each changed module is removed.
5. Write the manifest (the commit point), then remove the journal and the copies of step 3.

Any error in step 4 rolls back at once, so the target is left exactly as it was. So does SIGINT or SIGTERM:
from step 3 to 5 both are deferred, and one that arrives before the commit point rolls the run back before
the process exits (130 or 143); one that arrives after it lets the run finish first.

Durability comes from ``fsync`` of the files each step wrote and of their directories, once per directory and
step, never from a system-wide ``sync``: only the order matters for recovery (copies before the journal,
target files before the manifest). A large step issues its ``fsync`` calls from a few threads, which the file
system commits together.

The journal, like the manifest, is read as untrusted input: every field is checked, every path held to the
rules of patch paths, and every copy it needs verified before recovery writes anything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sitepatch._jsonload import loads
from sitepatch._record import frozen
from sitepatch.disk import STATE_LINK_WAY_OUT, DiskReader, FileState, file_digest, read_manifest, state_problems
from sitepatch.errors import InterruptedRunError, LockBusyError, ManifestError, TargetError, WriteError
from sitepatch.manifest import JOURNAL_NAME, MANIFEST_NAME, STATE_DIR, Manifest, StateReader
from sitepatch.plan import Plan

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DiskReader", "StateDir", "write_file"]


def __dir__() -> list[str]:
    return __all__


JOURNAL_SCHEMA = 1
TMP_SUFFIX = ".sitepatch-tmp"


@frozen
class _Entry:
    """One file of the journal, checked."""

    path: str
    before_sha256: str | None
    before_mode: int | None
    index: int
    kept: bool = False
    """The file before the run is its pristine copy (``.sitepatch/pristine/``), so no ``txn/`` copy was made."""


@frozen
class _Journal:
    """The journal of an interrupted run, checked."""

    operation: str
    manifest_before: str | None
    manifest_after: str | None
    files: tuple[_Entry, ...]


def _rmtree(path: Path, *, ignore_errors: bool = False) -> None:
    import shutil  # noqa: PLC0415 - with bz2 and lzma, too much for check and --dry-run, which never remove

    shutil.rmtree(path, ignore_errors=ignore_errors)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Unsynced:
    """Files written without ``fsync``, made durable together before the next step depends on them.

    Each file is flushed once, then each directory that gained or lost an entry (and every directory up to
    ``root``, since some were just created) once: the writes of a step go to the disk in one batch, and no
    other process's data is flushed, as a system-wide ``sync`` would.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[Path] = []
        self.directories: dict[Path, None] = {}

    def wrote(self, path: Path) -> None:
        """``path`` was replaced or created."""
        self.files.append(path)
        self.changed(path)

    def changed(self, path: Path) -> None:
        """An entry of ``path``'s directory was added or removed."""
        directory = path.parent
        while directory not in self.directories:
            self.directories[directory] = None
            if directory in (self.root, directory.parent) or not directory.is_relative_to(self.root):
                break
            directory = directory.parent

    def flush(self) -> None:
        """Make every file and directory noted so far durable.

        The ``fsync`` calls run on a few threads at once (they release the GIL): the file system then commits
        them together instead of one journal commit after another.
        """
        if len(self.files) > _PARALLEL_FROM:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - only for many files

            with ThreadPoolExecutor(max_workers=_SYNC_THREADS) as pool:
                list(pool.map(_fsync_file, self.files))
                list(pool.map(_fsync_dir, self.directories))
        else:
            for path in self.files:
                _fsync_file(path)
            for directory in self.directories:
                _fsync_dir(directory)
        self.files.clear()
        self.directories.clear()


_PARALLEL_FROM = 4
_SYNC_THREADS = 8


def _flag(r: StateReader, doc: Any, key: str, field: str) -> bool:  # noqa: ANN401 - JSON
    value = doc.get(key, False) if isinstance(doc, dict) else False
    if not isinstance(value, bool):
        raise r.fail(field, f"must be true or false, not {value!r}")
    return value


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Stop(Exception):  # noqa: N818 - not an error: a deferred signal
    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)


def _stop_if(received: list[int]) -> None:
    if received:
        raise _Stop(received[0])


@contextlib.contextmanager
def _deferred_signals() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM while the body runs; the signals received are collected in the list yielded.

    The writer polls the list between files and stops cleanly; without this, Python's default SIGINT
    (KeyboardInterrupt at any bytecode) and SIGTERM (immediate death) leave the target half written until
    the next run recovers it, and a container is stopped with SIGTERM.
    """
    import signal  # noqa: PLC0415 - only a run that writes needs these: check and --dry-run import this module
    import threading  # noqa: PLC0415

    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    previous: dict[int, Any] = {}
    for wanted in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            previous[wanted] = signal.signal(wanted, note)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def write_file(path: Path, data: bytes, mode: int, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: a temporary file beside it, then ``os.replace``.

    The old file is never opened for writing, so hard links to it (uv's cache) keep their content.
    With ``sync=False`` the data is not flushed here: the caller flushes it (``_Unsynced``) before relying on it.

    :raises OSError: when writing fails; the temporary file is removed and ``path`` is untouched.
    """
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchmod(fd, mode & 0o7777)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if err.filename is None:
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _remove_bytecode(path: Path) -> None:
    """Remove the cached bytecode of a module so the interpreter cannot run stale code.

    Timestamp-based ``.pyc`` files are checked against the source's mtime and size only, and
    ``unchecked-hash`` ones are not checked at all: after a patch both could run the old code.
    """
    if path.suffix != ".py":
        return
    cache = os.path.join(path.parent, "__pycache__")
    stem = path.stem
    try:
        if not stat.S_ISDIR(os.lstat(cache).st_mode):
            return  # none, or a link: never followed (planning refuses a linked one before anything is written)
    except OSError:
        return
    # ``<stem>.<tag>.pyc``, found by listing: a glob would compile a pattern for each module (and read any
    # ``[`` in the name as a pattern).
    with contextlib.suppress(OSError):
        for name in os.listdir(cache):
            if name.endswith(".pyc") and name.split(".")[0] == stem and name.count(".") >= 2:
                os.unlink(os.path.join(cache, name))


class StateDir:
    """The ``.sitepatch`` directory of a target: manifest, pristine copies, journal and lock."""

    def __init__(self, root: Path) -> None:
        self.target = root
        self.path = root / STATE_DIR
        self.manifest_path = self.path / MANIFEST_NAME
        self.journal_path = self.path / JOURNAL_NAME
        self.txn = self.path / "txn"
        self.pristine = self.path / "pristine"
        self._new_pristine: list[Path] = []

    # -- reading -------------------------------------------------------------------------------------

    def read_manifest(self) -> Manifest | None:
        """The manifest, or ``None`` when sitepatch never wrote one here.

        :raises ManifestError: when it exists but cannot be read.
        """
        return read_manifest(str(self.manifest_path))

    def pending_journal(self) -> bool:
        """Whether an interrupted run left a journal behind."""
        return self.journal_path.exists()

    def check(self) -> None:
        """Refuse a state directory that holds anything but real directories and regular files.

        :raises TargetError: naming each symbolic link (or special file) below ``.sitepatch`` and what to do;
            raised before anything is written or deleted, since pruning the pristine store, restoring from
            ``txn/`` or keeping a pristine copy through a link would act on files outside the target.
        """
        problems = state_problems(str(self.path))
        if not problems:
            return
        if problems == [f"{self.path}: not a directory (a symbolic link or a file)"]:
            msg = (
                f"{problems[0]}; sitepatch keeps its state only in a real directory: remove it, reinstall the "
                "patched distributions, and apply again"
            )
        else:
            listed = "".join(f"\n  - {p}" for p in problems)
            msg = f"{self.path}: sitepatch reads and writes only real directories and files here:{listed}\n"
            msg += f"nothing was changed; {STATE_LINK_WAY_OUT}"
        raise TargetError(msg)

    # -- locking -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, *, timeout: float = 300.0) -> Iterator[None]:
        """Hold the target's lock; wait up to ``timeout`` seconds for another run to finish.

        :raises LockBusyError: when the lock is still held after ``timeout``.
        :raises TargetError: when the state directory cannot be created (read-only target), or is not a real
            directory (a symbolic link would send every write of sitepatch's own files elsewhere).
        """
        self.check()
        try:
            self.path.mkdir(exist_ok=True)
            fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as err:
            msg = f"{self.path}: cannot create sitepatch's state directory ({err.strerror}); is the target writable?"
            raise TargetError(msg) from err
        try:
            if fcntl is not None:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as err:
                        if err.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() >= deadline:
                            held = self.path / "lock"
                            msg = f"{held}: another sitepatch run still holds the lock after {timeout:.0f}s; try again"
                            raise LockBusyError(msg) from err
                        time.sleep(0.05)
                self.check()  # again, now that no other run is writing here
            yield
        finally:
            os.close(fd)

    # -- recovery ------------------------------------------------------------------------------------

    def recover(self) -> str:
        """Finish or roll back a run that was interrupted; call with the lock held.

        :returns: what was done (``""`` when there was nothing to do).
        :raises ManifestError: naming the journal and the field when the journal is damaged, or a copy it
            needs is missing; nothing is written then, and the message says how to get out.
        """
        # A run killed while writing one of sitepatch's own files (journal, manifest, a pristine copy) leaves
        # that file's temporary beside it; the target's own temporaries are handled with the journal below.
        for stray in self.path.rglob(f"*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                stray.unlink()
        if not self.journal_path.exists():
            if self.txn.exists():
                # Killed while copying, before the journal existed: nothing in the target was touched.
                _rmtree(self.txn)
                self._prune_after_rollback()
                return "removed the copies of a run killed before it changed anything"
            return ""
        journal = self._read_journal()
        if self._manifest_digest() == journal.manifest_after:
            self._finish()
            return f"completed the clean-up of an interrupted {journal.operation} (its manifest was already written)"
        self._check_copies(journal)
        for entry in journal.files:
            self._restore(entry)
        backup = self.txn / MANIFEST_NAME
        if journal.manifest_before is not None:
            write_file(self.manifest_path, backup.read_bytes(), 0o644)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.manifest_path.unlink()
        self._finish()
        self._prune_after_rollback()
        restored = f"{len(journal.files)} file(s) restored to their state before it"
        return f"rolled back an interrupted {journal.operation}: {restored}"

    def _prune_after_rollback(self) -> None:
        """Drop the pristine copies the restored manifest does not need (none, if it cannot be read)."""
        try:
            manifest = self.read_manifest()
        except ManifestError:
            return
        self._prune_pristine(manifest)

    def _read_journal(self) -> _Journal:
        """The journal, every field checked; paths held to the rules of patch paths and checked for symlinks."""
        r = StateReader(str(self.journal_path))
        try:
            info = self.journal_path.lstat()
            if not stat.S_ISREG(info.st_mode):
                raise r.fail("(file)", "not a regular file")
            doc: Any = loads(self.journal_path.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as err:
            raise r.fail("(file)", f"unreadable journal ({err})") from err
        if r.get(doc, "schema_version", "schema_version") != JOURNAL_SCHEMA:
            msg = f"{self.journal_path}: journal of an unknown schema; finish with the sitepatch version that wrote it"
            raise ManifestError(msg)
        entries = []
        reader = DiskReader(self.target)
        seen: set[str] = set()
        for i, item in enumerate(r.items(doc, "files", "files")):
            where = f"files[{i}]"
            path = r.path(item, "path", f"{where}.path")
            if path in seen:
                raise r.fail(f"{where}.path", f"{path!r} is listed twice")
            seen.add(path)
            unsafe = reader.unsafe_path(path)  # a linked __pycache__ is skipped by recovery, never refused
            if unsafe is not None:
                raise r.fail(f"{where}.path", unsafe)
            entries.append(
                _Entry(
                    path=path,
                    before_sha256=r.digest(item, "before_sha256", f"{where}.before_sha256"),
                    before_mode=r.mode(item, "before_mode", f"{where}.before_mode"),
                    index=i,
                    kept=_flag(r, item, "kept", f"{where}.kept"),
                )
            )
        return _Journal(
            operation=r.string(doc, "operation", "operation"),
            manifest_before=r.digest(doc, "manifest_before", "manifest_before"),
            manifest_after=r.digest(doc, "manifest_after", "manifest_after"),
            files=tuple(entries),
        )

    def _check_copies(self, journal: _Journal) -> None:
        """Every copy a roll-back needs is present and intact, before anything is written."""
        r = StateReader(str(self.journal_path))
        for entry in journal.files:
            if entry.before_sha256 is None or self._digest(self.target / entry.path) == entry.before_sha256:
                continue
            if self._digest(self._copy(entry)) != entry.before_sha256:
                copy = self._copy(entry).relative_to(self.target)
                raise r.fail(f"files[{entry.index}]", f"its copy {copy} is missing or damaged")
        if journal.manifest_before is not None and self._digest(self.txn / MANIFEST_NAME) != journal.manifest_before:
            copy = self.txn.relative_to(self.target) / MANIFEST_NAME
            raise r.fail("manifest_before", f"the manifest's copy {copy} is missing or damaged")

    @staticmethod
    def _digest(path: Path) -> str | None:
        try:
            if not stat.S_ISREG(path.lstat().st_mode):
                return None
            return file_digest(path.read_bytes())
        except OSError:
            return None

    def _manifest_digest(self) -> str | None:
        try:
            return file_digest(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return None

    def _copy(self, entry: _Entry) -> Path:
        """Where the journal keeps the file as it was before the run."""
        return (self.pristine if entry.kept else self.txn) / entry.path

    def _restore(self, entry: _Entry) -> None:
        path = self.target / entry.path
        with contextlib.suppress(OSError):
            path.with_name(f".{path.name}{TMP_SUFFIX}").unlink()
        if self._digest(path) == entry.before_sha256:
            return
        if entry.before_sha256 is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            data = self._copy(entry).read_bytes()
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file(path, data, entry.before_mode if entry.before_mode is not None else 0o644)
        _remove_bytecode(path)

    def _finish(self) -> None:
        self.journal_path.unlink()
        _fsync_dir(self.path)
        if self.txn.exists():
            _rmtree(self.txn)

    # -- writing -------------------------------------------------------------------------------------

    def commit(
        self,
        plan_changes: list[tuple[str, FileState | None, FileState | None, FileState | None]],
        manifest: Manifest | None,
        *,
        operation: str,
        hook: Callable[[str], None] | None = None,
    ) -> None:
        """Write a set of file changes and the new manifest as one transaction; call with the lock held.

        :param plan_changes: ``(path, before, after, pristine)`` for each file; ``after`` ``None`` deletes,
            ``pristine`` (when not ``None``) is kept in the pristine store if not already there.
        :param manifest: the manifest to write last (``None`` removes it).
        :param hook: called with a step name before each write; tests use it to simulate crashes.
        :raises WriteError: when a write fails; every change is rolled back first.
        """
        step = hook or (lambda _name: None)
        text = manifest.to_json().encode("utf-8") if manifest is not None else None
        with _deferred_signals() as received:
            self._commit(plan_changes, text, operation=operation, step=step, received=received)
        self._prune_pristine(manifest)
        if received:
            raise InterruptedRunError(received[0], "the run had passed its commit point, so it finished first")

    def _commit(
        self,
        plan_changes: list[tuple[str, FileState | None, FileState | None, FileState | None]],
        text: bytes | None,
        *,
        operation: str,
        step: Callable[[str], None],
        received: list[int],
    ) -> None:
        unsynced = _Unsynced(self.target)
        try:
            self._prepare(plan_changes, text, operation=operation, step=step, unsynced=unsynced)
            _stop_if(received)
        except (OSError, _Stop) as err:
            # Nothing in the target was touched yet: drop the copies and report.
            _rmtree(self.txn, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                self.journal_path.unlink()
            self._drop_new_pristine()
            if isinstance(err, _Stop):
                raise InterruptedRunError(err.signum, "nothing in the target had been changed") from None
            where = err.filename if isinstance(err.filename, str) else str(self.path)
            raise WriteError(where, err.strerror or str(err)) from err
        current = ""
        try:
            for path, _before, after, _pristine in plan_changes:
                _stop_if(received)
                current = path
                full = self.target / path
                step(f"write {path}")
                if after is None:
                    with contextlib.suppress(FileNotFoundError):
                        full.unlink()
                    unsynced.changed(full)
                else:
                    full.parent.mkdir(parents=True, exist_ok=True)
                    write_file(full, after.data, after.mode, sync=False)
                    unsynced.wrote(full)
                _remove_bytecode(full)
            _stop_if(received)
            current = str(self.manifest_path)
            # The journal can restore every file from its copy, so one flush before the commit point suffices.
            unsynced.flush()
            step("manifest")
            if text is not None:
                write_file(self.manifest_path, text, 0o644)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.manifest_path.unlink()
            _fsync_dir(self.path)
        except (OSError, _Stop) as err:
            self.recover()
            self._drop_new_pristine()
            if isinstance(err, _Stop):
                raise InterruptedRunError(err.signum, "every file was restored to its state before the run") from None
            raise WriteError(current, err.strerror or str(err)) from err
        step("finish")
        self._finish()

    def _drop_new_pristine(self) -> None:
        """Remove the pristine copies this run added: a run that wrote nothing keeps nothing."""
        for kept in self._new_pristine:
            with contextlib.suppress(OSError):
                kept.unlink()
        self._new_pristine.clear()
        self._prune_after_rollback()

    def _prepare(
        self,
        plan_changes: list[tuple[str, FileState | None, FileState | None, FileState | None]],
        text: bytes | None,
        *,
        operation: str,
        step: Callable[[str], None],
        unsynced: _Unsynced,
    ) -> None:
        """Keep a copy of every file about to change and its pristine image, then write the journal."""
        if self.txn.exists():
            _rmtree(self.txn)
        self.txn.mkdir(parents=True)
        entries = []
        for path, before, after, pristine in plan_changes:
            # On a first apply the file before the run is the pristine image kept below: that copy is also the
            # roll-back copy, and the file is written once more (its new content), not twice.
            same = before is not None and pristine is not None and operation == "apply" and before == pristine
            if before is not None and not same:
                self._keep(self.txn / path, before.data, unsynced)
            if pristine is not None and operation == "apply":
                kept = self.pristine / path
                if not kept.exists():
                    self._new_pristine.append(kept)
                    self._keep(kept, pristine.data, unsynced)
                elif kept.read_bytes() != pristine.data:
                    self._keep(kept, pristine.data, unsynced)
                elif same:
                    unsynced.files.append(kept)  # a roll-back copy now: durable before the journal names it
            entries.append(
                {
                    "path": path,
                    "before_sha256": file_digest(before.data) if before is not None else None,
                    "before_mode": before.mode if before is not None else None,
                    "after_sha256": file_digest(after.data) if after is not None else None,
                    "kept": same,
                }
            )
        old_manifest = self._manifest_digest()
        if self.manifest_path.exists():
            self._keep(self.txn / MANIFEST_NAME, self.manifest_path.read_bytes(), unsynced)
        journal = {
            "schema_version": JOURNAL_SCHEMA,
            "operation": operation,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "manifest_before": old_manifest,
            "manifest_after": file_digest(text) if text is not None else None,
            "files": entries,
        }
        unsynced.flush()
        step("journal")
        import json  # noqa: PLC0415 - only a run that writes encodes

        write_file(self.journal_path, json.dumps(journal).encode("utf-8"), 0o644)
        _fsync_dir(self.path)

    def _keep(self, path: Path, data: bytes, unsynced: _Unsynced) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data, 0o644, sync=False)  # made durable by the flush before the journal
        unsynced.wrote(path)

    def _prune_pristine(self, manifest: Manifest | None) -> None:
        keep = {f.path for f in manifest.files} if manifest is not None else set()
        try:
            if not stat.S_ISDIR(self.pristine.lstat().st_mode):
                return
        except FileNotFoundError:
            return
        # Bottom-up, never through a link (``check`` refused any before the lock was taken; this only makes
        # sure a deletion cannot reach outside the store): a link is neither removed nor entered.
        for directory, subdirectories, names in os.walk(self.pristine, topdown=False):
            for name in names:
                kept = Path(directory, name)
                if kept.relative_to(self.pristine).as_posix() not in keep and stat.S_ISREG(kept.lstat().st_mode):
                    kept.unlink()
            for name in subdirectories:
                with contextlib.suppress(OSError):  # kept when not empty, or a link
                    if not Path(directory, name).is_symlink():
                        Path(directory, name).rmdir()


def apply_plan(
    plan: Plan, state: StateDir, manifest: Manifest | None, *, hook: Callable[[str], None] | None = None
) -> None:
    """Write ``plan``'s changes and ``manifest``; call with the lock held, after :meth:`StateDir.recover`.

    :raises WriteError: when a write fails (everything is rolled back).
    :raises InterruptedRunError: when SIGINT or SIGTERM arrived meanwhile (rolled back, or finished if past the
        commit point).
    """
    changes = [(c.path, c.before, c.after, c.pristine) for c in plan.changes]
    state.commit(changes, manifest, operation="apply", hook=hook)
