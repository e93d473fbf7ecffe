"""The only module that writes: atomic file replacement, the journal, the lock, recovery and revert.

A run that writes goes through these steps, each safe to interrupt at any instant:

1. Take the target's lock (``.sitepatch/lock``); concurrent runs wait their turn.
2. Recover: if a journal exists, a previous run was killed mid-way. Roll its files back to what they were
   before it (or, if its manifest was already written, just finish its clean-up).
3. Keep a copy of every file about to change (``.sitepatch/txn/``) and of its pristine image
   (``.sitepatch/pristine/``), then write the journal naming each file with its before and after hash.
4. Write each file as a temporary file beside it, then ``os.replace`` it: never in place, because uv
   hard-links site-packages files to its cache and an in-place write would corrupt every other venv.
   Stale bytecode of each changed module is removed.
5. Write the manifest (the commit point), then remove the journal and the copies of step 3.

Any error in step 4 rolls back at once, so the target is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sitepatch.dist import file_digest
from sitepatch.errors import LockBusyError, ManifestError, TargetError, WriteError
from sitepatch.manifest import MANIFEST_NAME, STATE_DIR, Manifest
from sitepatch.plan import FileState, Plan

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DiskReader", "StateDir", "write_file"]


def __dir__() -> list[str]:
    return __all__


JOURNAL_SCHEMA = 1
TMP_SUFFIX = ".sitepatch-tmp"


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _barrier() -> None:
    """Make every write so far durable before the next step: one ``sync`` instead of one ``fsync`` per file.

    Only the order matters for recovery (copies before the journal, target files before the manifest), and
    a patch set touches hundreds of files: per-file ``fsync`` made writing slower than everything else.
    """
    os.sync()


def write_file(path: Path, data: bytes, mode: int, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: a temporary file beside it, then ``os.replace``.

    The old file is never opened for writing, so hard links to it (uv's cache) keep their content.
    With ``sync=False`` the data is not flushed here: the caller calls :func:`_barrier` before relying on it.

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
    cache = path.parent / "__pycache__"
    with contextlib.suppress(OSError):
        for pyc in cache.glob(f"{path.stem}.*.pyc"):
            if pyc.name.split(".")[0] == path.stem and pyc.name.count(".") >= 2:
                pyc.unlink()


@dataclass(frozen=True, slots=True)
class DiskReader:
    """Reads the target for the planner (see :class:`sitepatch.plan.Reader`)."""

    root: Path
    _directories: set[str] = field(default_factory=set, compare=False, repr=False)

    def read(self, path: str) -> FileState | None:
        """The file's bytes and mode, or ``None`` when it does not exist."""
        full = self.root / path
        try:
            info = full.lstat()
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return FileState(full.read_bytes(), stat.S_IMODE(info.st_mode))

    def pristine(self, path: str) -> bytes | None:
        """The pristine copy kept in ``.sitepatch/pristine``."""
        try:
            return (self.root / STATE_DIR / "pristine" / path).read_bytes()
        except OSError:
            return None

    def unsafe(self, path: str) -> str | None:
        """Why ``path`` must not be written: a symlink on the way, or resolving outside the root."""
        current = self.root
        parts = path.split("/")
        for index, part in enumerate(parts):
            current = current / part
            prefix = "/".join(parts[: index + 1])
            if index < len(parts) - 1 and prefix in self._directories:
                continue
            try:
                info = current.lstat()
            except FileNotFoundError:
                break
            except NotADirectoryError:
                return f"{path}: {'/'.join(parts[:index])} is not a directory"
            if stat.S_ISLNK(info.st_mode):
                return f"{path}: refusing to write through the symbolic link {'/'.join(parts[: index + 1])}"
            if index < len(parts) - 1 and not stat.S_ISDIR(info.st_mode):
                return f"{path}: {'/'.join(parts[: index + 1])} is not a directory"
            if index == len(parts) - 1 and not stat.S_ISREG(info.st_mode):
                return f"{path}: not a regular file"
            if index < len(parts) - 1:
                self._directories.add(prefix)  # a real directory: other paths through it need no new lstat
        resolved = (self.root / path).resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            return f"{path}: resolves outside the target {self.root}"
        return None


class StateDir:
    """The ``.sitepatch`` directory of a target: manifest, pristine copies, journal and lock."""

    def __init__(self, root: Path) -> None:
        self.target = root
        self.path = root / STATE_DIR
        self.manifest_path = self.path / MANIFEST_NAME
        self.journal_path = self.path / "journal.json"
        self.txn = self.path / "txn"
        self.pristine = self.path / "pristine"

    # -- reading -------------------------------------------------------------------------------------

    def read_manifest(self) -> Manifest | None:
        """The manifest, or ``None`` when sitepatch never wrote one here.

        :raises ManifestError: when it exists but cannot be read.
        """
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return Manifest.from_json(text, where=str(self.manifest_path))

    def pending_journal(self) -> bool:
        """Whether an interrupted run left a journal behind."""
        return self.journal_path.exists()

    # -- locking -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, *, timeout: float = 300.0) -> Iterator[None]:
        """Hold the target's lock; wait up to ``timeout`` seconds for another run to finish.

        :raises LockBusyError: when the lock is still held after ``timeout``.
        :raises TargetError: when the state directory cannot be created (read-only target).
        """
        try:
            self.path.mkdir(exist_ok=True)
            fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o644)
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
            yield
        finally:
            os.close(fd)

    # -- recovery ------------------------------------------------------------------------------------

    def recover(self) -> str:
        """Finish or roll back a run that was interrupted; call with the lock held.

        :returns: what was done (``""`` when there was nothing to do).
        :raises ManifestError: when the journal is unreadable.
        """
        # A run killed while writing one of sitepatch's own files (journal, manifest, a pristine copy) leaves
        # that file's temporary beside it; the target's own temporaries are handled with the journal below.
        for stray in self.path.rglob(f"*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                stray.unlink()
        if not self.journal_path.exists():
            if self.txn.exists():
                # Killed while copying, before the journal existed: nothing in the target was touched.
                shutil.rmtree(self.txn)
                return "removed the copies of a run killed before it changed anything"
            return ""
        try:
            journal = json.loads(self.journal_path.read_text(encoding="utf-8"))
            files = journal["files"]
            manifest_after = journal["manifest_after"]
            operation = journal["operation"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            msg = f"{self.journal_path}: unreadable journal ({err}); reinstall the patched distributions and remove it"
            raise ManifestError(msg) from err
        if journal.get("schema_version") != JOURNAL_SCHEMA:
            msg = f"{self.journal_path}: journal of an unknown schema; finish with the sitepatch version that wrote it"
            raise ManifestError(msg)
        if self._manifest_digest() == manifest_after:
            self._finish()
            return f"completed the clean-up of an interrupted {operation} (its manifest was already written)"
        for entry in files:
            self._restore(entry)
        backup = self.txn / MANIFEST_NAME
        if backup.exists():
            write_file(self.manifest_path, backup.read_bytes(), 0o644)
        elif journal.get("manifest_before") is None:
            with contextlib.suppress(FileNotFoundError):
                self.manifest_path.unlink()
        self._finish()
        return f"rolled back an interrupted {operation}: {len(files)} file(s) restored to their state before it"

    def _manifest_digest(self) -> str | None:
        try:
            return file_digest(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return None

    def _restore(self, entry: dict[str, object]) -> None:
        path = self.target / str(entry["path"])
        with contextlib.suppress(OSError):
            path.with_name(f".{path.name}{TMP_SUFFIX}").unlink()
        before = entry.get("before_sha256")
        try:
            current: str | None = file_digest(path.read_bytes())
        except FileNotFoundError:
            current = None
        if current == before:
            return
        if before is None:
            path.unlink()
        else:
            data = (self.txn / str(entry["path"])).read_bytes()
            path.parent.mkdir(parents=True, exist_ok=True)
            mode = entry.get("before_mode")
            write_file(path, data, int(mode) if isinstance(mode, int) else 0o644)
        _remove_bytecode(path)

    def _finish(self) -> None:
        self.journal_path.unlink()
        _fsync_dir(self.path)
        if self.txn.exists():
            shutil.rmtree(self.txn)

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
        try:
            self._prepare(plan_changes, text, operation=operation, step=step)
        except OSError as err:
            # Nothing in the target was touched yet: drop the copies and report.
            shutil.rmtree(self.txn, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                self.journal_path.unlink()
            where = err.filename if isinstance(err.filename, str) else str(self.path)
            raise WriteError(where, err.strerror or str(err)) from err
        current = ""
        try:
            for path, _before, after, _pristine in plan_changes:
                current = path
                full = self.target / path
                step(f"write {path}")
                if after is None:
                    with contextlib.suppress(FileNotFoundError):
                        full.unlink()
                else:
                    full.parent.mkdir(parents=True, exist_ok=True)
                    write_file(full, after.data, after.mode, sync=False)
                _remove_bytecode(full)
            current = str(self.manifest_path)
            # The journal can restore every file from its copy, so one barrier before the commit point suffices.
            _barrier()
            step("manifest")
            if text is not None:
                write_file(self.manifest_path, text, 0o644)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.manifest_path.unlink()
            _fsync_dir(self.path)
        except OSError as err:
            self.recover()
            raise WriteError(current, err.strerror or str(err)) from err
        step("finish")
        self._finish()
        self._prune_pristine(manifest)

    def _prepare(
        self,
        plan_changes: list[tuple[str, FileState | None, FileState | None, FileState | None]],
        text: bytes | None,
        *,
        operation: str,
        step: Callable[[str], None],
    ) -> None:
        """Keep a copy of every file about to change and its pristine image, then write the journal."""
        if self.txn.exists():
            shutil.rmtree(self.txn)
        self.txn.mkdir(parents=True)
        entries = []
        for path, before, after, pristine in plan_changes:
            if before is not None:
                self._keep(self.txn / path, before.data)
            if pristine is not None and operation == "apply":
                kept = self.pristine / path
                if not kept.exists() or kept.read_bytes() != pristine.data:
                    self._keep(kept, pristine.data)
            entries.append(
                {
                    "path": path,
                    "before_sha256": file_digest(before.data) if before is not None else None,
                    "before_mode": before.mode if before is not None else None,
                    "after_sha256": file_digest(after.data) if after is not None else None,
                }
            )
        old_manifest = self._manifest_digest()
        if self.manifest_path.exists():
            self._keep(self.txn / MANIFEST_NAME, self.manifest_path.read_bytes())
        journal = {
            "schema_version": JOURNAL_SCHEMA,
            "operation": operation,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "manifest_before": old_manifest,
            "manifest_after": file_digest(text) if text is not None else None,
            "files": entries,
        }
        _barrier()
        step("journal")
        write_file(self.journal_path, json.dumps(journal, indent=1).encode("utf-8"), 0o644)
        _fsync_dir(self.path)

    def _keep(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data, 0o644, sync=False)  # made durable by the barrier before the journal

    def _prune_pristine(self, manifest: Manifest | None) -> None:
        keep = {f.path for f in manifest.files} if manifest is not None else set()
        if not self.pristine.exists():
            return
        for kept in sorted(self.pristine.rglob("*"), reverse=True):
            rel = kept.relative_to(self.pristine).as_posix()
            if kept.is_file() and rel not in keep:
                kept.unlink()
            elif kept.is_dir() and not any(kept.iterdir()):
                kept.rmdir()


def apply_plan(plan: Plan, state: StateDir, manifest: Manifest, *, hook: Callable[[str], None] | None = None) -> None:
    """Write ``plan``'s changes and ``manifest``; call with the lock held, after :meth:`StateDir.recover`.

    :raises WriteError: when a write fails (everything is rolled back).
    """
    changes = [(c.path, c.before, c.after, c.pristine) for c in plan.changes]
    state.commit(changes, manifest, operation="apply", hook=hook)
