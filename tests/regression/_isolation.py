"""Keeping the regression tests independent of each other: a guard on LiteLLM's process-wide state.

LiteLLM keeps its callbacks in module-level lists (``litellm.success_callback``, ``litellm.callbacks``, ...)
that every ``Router`` and every proxy hook appends to, and the proxy keeps its configuration in module
globals. A test that leaves something behind changes what every later test runs: the lesson of
``../shared/seeds/test-isolation-incident.txt``, where a class replaced in one test and never restored made
another test exercise a fake (and where the callback lists grew from 4 to 12 entries over one run).

- :class:`GlobalsSnapshot` records, before a test, the guarded state: LiteLLM's callback lists (contents
  and identity), every attribute of the ``litellm`` module (and the contents of its lists, dicts and sets),
  the module globals of the proxy modules the tests configure, the proxy's hook mapping and routes, the
  logging callback manager's state, and ``os.environ``. After the test, :meth:`GlobalsSnapshot.leaks`
  names every difference (which list or attribute, and the new, removed or changed entries) and
  :meth:`GlobalsSnapshot.restore` puts the state back, so one leaking test does not change the next.
- :class:`RouterTracker` records every ``litellm.Router`` made during a test, and what its constructor
  registered in ``litellm``'s globals (callbacks, model prices, ...); afterwards it retires them
  (``Router.retire()``, ``discard()`` before LiteLLM 1.110) and undoes whatever the constructors registered.

``conftest.py`` applies both to every test (autouse fixtures), the tracker inside the guard, so a Router
is cleaned up before the guard compares, and anything else a test leaves behind fails that test in its
tear-down with the guard's message.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "service_callback",
    "audit_log_callbacks",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)
"""LiteLLM's process-wide callback lists (those a version does not have are skipped)."""

GUARDED_MODULES = (
    "litellm",
    "litellm.proxy.proxy_server",
    "litellm.proxy.pass_through_endpoints.pass_through_endpoints",
)
"""Modules whose every global is guarded (those not imported yet are skipped)."""

# Attributes of the guarded modules that LiteLLM itself changes while serving a request, whatever the
# test does. Each one says why it is not a leak.
NOT_GUARDED = {
    # LiteLLM keeps the last call's pre-/post-call details here for its own error messages; every call
    # overwrites them, nothing reads them to decide anything
    "litellm": frozenset({"error_logs"}),
    # FastAPI counts changes to the route list to invalidate its route cache: it only ever grows
    "proxy_server.app.router": frozenset({"_routes_version"}),
}

_ABSENT = object()
_SCALARS = (str, bytes, int, float, complex, bool, type(None))
_CONTAINERS = (list, dict, set)
_MAX_SHOWN = 160


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as error:  # noqa: BLE001 - a repr that raises must not hide the leak
        text = f"<{type(value).__name__}: repr failed: {error}>"
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, set):
        return set(value)
    return None


def _lazy(value: Any, target: Any = None) -> bool:
    """Whether a global appearing during a test is LiteLLM loading something lazily, not a leak.

    Imports (modules, classes, functions) are; so is any other object cached by a module that loads its
    names lazily (a module ``__getattr__``, as ``litellm`` has for its provider config singletons), unless
    it is a plain value or container, which is what a test would set.
    """
    if isinstance(value, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
        return True
    lazy_loader = isinstance(target, types.ModuleType) and "__getattr__" in vars(target)
    return lazy_loader and not isinstance(value, (*_SCALARS, *_CONTAINERS))


def _same(before: Any, after: Any) -> bool:
    if before is after:
        return True
    return isinstance(before, _SCALARS) and type(before) is type(after) and before == after


def _in(entry: Any, entries: list[Any]) -> bool:
    return any(entry is other for other in entries)


def _list_change(name: str, before: list[Any], after: list[Any]) -> str | None:
    gained = [e for e in after if not _in(e, before)]
    lost = [e for e in before if not _in(e, after)]
    if not gained and not lost:
        return None if len(before) == len(after) else f"{name} changed length {len(before)} -> {len(after)}"
    parts = []
    if gained:
        parts.append(
            f"gained {len(gained)} entr{'y' if len(gained) == 1 else 'ies'}: [{', '.join(map(_show, gained))}]"
        )
    if lost:
        parts.append(f"lost {len(lost)}: [{', '.join(map(_show, lost))}]")
    return f"{name} " + "; ".join(parts) + f" ({len(before)} -> {len(after)} entries)"


def _dict_change(name: str, before: dict[Any, Any], after: dict[Any, Any]) -> str | None:
    gained = [k for k in after if k not in before]
    lost = [k for k in before if k not in after]
    changed = [k for k in after if k in before and not _same(before[k], after[k])]
    if not (gained or lost or changed):
        return None
    parts = []
    if gained:
        parts.append("gained " + ", ".join(f"{_show(k)}: {_show(after[k])}" for k in gained[:10]))
    if lost:
        parts.append("lost " + ", ".join(_show(k) for k in lost[:10]))
    if changed:
        parts.append(
            "changed " + ", ".join(f"{_show(k)}: {_show(before[k])} -> {_show(after[k])}" for k in changed[:10])
        )
    return f"{name} " + "; ".join(parts)


def _container_change(name: str, before: Any, after: Any) -> str | None:
    if isinstance(before, list):
        return _list_change(name, before, list(after))
    if isinstance(before, dict):
        return _dict_change(name, before, dict(after))
    gained, lost = set(after) - before, before - set(after)
    if not gained and not lost:
        return None
    return f"{name} gained {sorted(map(_show, gained))}, lost {sorted(map(_show, lost))}"


@dataclass
class _Namespace:
    """The state of one module or object: each attribute's value and a copy of each container's contents."""

    label: str
    target: Any
    values: dict[str, Any]
    contents: dict[str, Any]
    ignore: frozenset[str] = frozenset()

    @classmethod
    def take(cls, label: str, target: Any, ignore: frozenset[str] = frozenset()) -> _Namespace:
        values = {k: v for k, v in vars(target).items() if k not in ignore and not k.startswith("__")}
        contents = {k: _copy(v) for k, v in values.items() if isinstance(v, _CONTAINERS)}
        return cls(label, target, values, contents, ignore)

    def leaks(self) -> list[str]:
        now = {k: v for k, v in vars(self.target).items() if k not in self.ignore and not k.startswith("__")}
        found = []
        for key, before in self.values.items():
            name = f"{self.label}.{key}"
            if key not in now:
                found.append(f"{name} was deleted")
            elif not _same(before, now[key]):
                found.append(f"{name} was replaced: {_show(before)} -> {_show(now[key])}")
            elif key in self.contents and (change := _container_change(name, self.contents[key], now[key])):
                found.append(change)
        found.extend(
            f"{self.label}.{key} was added: {_show(value)}"
            for key, value in now.items()
            if key not in self.values and not _lazy(value, self.target)
        )
        return found

    def restore(self) -> None:
        now = vars(self.target)
        for key, before in self.values.items():
            if key not in now or not _same(before, now[key]):
                setattr(self.target, key, before)
            if key in self.contents:
                container, saved = before, self.contents[key]
                if isinstance(container, list):
                    container[:] = saved
                else:
                    container.clear()
                    container.update(saved)
        for key in [
            k for k, v in now.items() if k not in self.values and not k.startswith("__") and not _lazy(v, self.target)
        ]:
            if key not in self.ignore:
                delattr(self.target, key)


@dataclass
class GlobalsSnapshot:
    """The guarded process-wide state at one moment (see the module docstring)."""

    namespaces: list[_Namespace] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)

    @classmethod
    def take(cls) -> GlobalsSnapshot:
        """Record the guarded state now."""
        namespaces = []
        for module_name in GUARDED_MODULES:
            module = sys.modules.get(module_name)
            if module is not None:
                namespaces.append(_Namespace.take(module_name, module, NOT_GUARDED.get(module_name, frozenset())))
        litellm = sys.modules.get("litellm")
        manager = getattr(litellm, "logging_callback_manager", None)
        if manager is not None and hasattr(manager, "__dict__"):
            namespaces.append(_Namespace.take("litellm.logging_callback_manager", manager))
        proxy_server = sys.modules.get("litellm.proxy.proxy_server")
        logging_obj = getattr(proxy_server, "proxy_logging_obj", None)
        if logging_obj is not None:
            namespaces.append(_Namespace.take("proxy_server.proxy_logging_obj", logging_obj))
        app = getattr(proxy_server, "app", None)
        if app is not None:
            label = "proxy_server.app.router"
            namespaces.append(_Namespace.take(label, app.router, NOT_GUARDED.get(label, frozenset())))
        return cls(namespaces, _environ(os.environ))

    def leaks(self) -> list[str]:
        """Every difference between the recorded state and now, one line each, callback lists first."""
        found = [leak for namespace in self.namespaces for leak in namespace.leaks()]
        callbacks = tuple(f"litellm.{name}" for name in CALLBACK_LISTS)
        found.sort(key=lambda leak: not leak.startswith(callbacks))
        env = _dict_change("os.environ", _environ(self.environ), _environ(os.environ))
        if env:
            found.append(env)
        return found

    def restore(self) -> None:
        """Put the recorded state back (after a leak was reported)."""
        for namespace in self.namespaces:
            namespace.restore()
        for key in set(_environ(os.environ)) - set(self.environ):
            del os.environ[key]
        os.environ.update(self.environ)


def drain_background_logging(timeout: float = 10.0) -> bool:
    """Wait until LiteLLM's logging thread pool has no queued or running work; whether it got there.

    LiteLLM hands each call's success/failure logging to ``thread_pool_executor.executor`` after the call
    has answered. Waiting for it at the end of a test keeps that work inside the test that caused it.
    """
    import time

    module = sys.modules.get("litellm.litellm_core_utils.thread_pool_executor")
    executor = getattr(module, "executor", None)
    queue = getattr(executor, "_work_queue", None)
    idle = getattr(executor, "_idle_semaphore", None)
    threads = getattr(executor, "_threads", None)
    if queue is None or idle is None or threads is None:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # a worker releases the idle semaphore each time it finishes a work item and finds the queue empty
        if queue.empty() and idle._value >= len(threads):  # no public API says "idle"
            return True
        time.sleep(0.01)
    return False


def _environ(environ: Any) -> dict[str, str]:
    # pytest itself sets PYTEST_CURRENT_TEST to the running test and phase
    return {k: v for k, v in environ.items() if k != "PYTEST_CURRENT_TEST"}


def _callback_lists() -> dict[str, list[Any]]:
    litellm = sys.modules.get("litellm")
    lists = {name: getattr(litellm, name, None) for name in CALLBACK_LISTS}
    return {name: value for name, value in lists.items() if isinstance(value, list)}


def _registries() -> dict[str, Any]:
    """A shallow copy of every list, dict and set that is a global of the ``litellm`` module."""
    litellm = sys.modules["litellm"]
    return {name: _copy(value) for name, value in vars(litellm).items() if isinstance(value, _CONTAINERS)}


@dataclass
class RouterTracker:
    """Tracks the ``litellm.Router`` objects made while it is active and discards them at :meth:`stop`.

    A Router's constructor registers itself in ``litellm``'s globals: its callbacks in the callback lists,
    its deployments in ``litellm.model_cost`` and ``litellm.models_by_provider``, ... Every change the
    constructor makes to a list, dict or set of the ``litellm`` module is recorded and undone at
    :meth:`stop`, after ``Router.retire()`` (``discard()`` before LiteLLM 1.110) has run.
    """

    routers: list[Any] = field(default_factory=list)
    undo: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    """(global, operation, key or entry, previous value) for each change a tracked constructor made."""
    _original: Callable[..., None] | None = None
    _own_init: bool = False
    _lists: dict[str, list[Any]] = field(default_factory=dict)

    @contextlib.contextmanager
    def active(self) -> Iterator[RouterTracker]:
        """Track Routers inside the ``with`` block, discard them when it ends."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> None:
        import litellm

        self._lists = _callback_lists()
        router_class = litellm.Router
        original = router_class.__init__
        self._original = original
        self._own_init = "__init__" in vars(router_class)
        tracker = self

        @functools.wraps(original)
        def __init__(router: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - it replaces __init__
            before = _registries()
            tracker.routers.append(router)
            try:
                original(router, *args, **kwargs)
            finally:
                tracker.record(before, _registries())

        router_class.__init__ = __init__

    def record(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Remember what changed in the ``litellm`` module's containers between ``before`` and ``after``."""
        for name, now in after.items():
            old = before.get(name)
            if isinstance(now, dict):
                old = old if isinstance(old, dict) else {}
                for key, value in now.items():
                    if key not in old:
                        self.undo.append((name, "dict", key, _ABSENT))
                    elif old[key] is not value:
                        self.undo.append((name, "dict", key, old[key]))
            elif isinstance(now, list):
                old = old if isinstance(old, list) else []
                self.undo.extend((name, "list", entry, None) for entry in now if not _in(entry, old))
            else:
                old = old if isinstance(old, set) else set()
                self.undo.extend((name, "set", entry, None) for entry in now - old)

    def stop(self) -> None:
        import litellm

        if self._original is not None:
            if self._own_init:
                litellm.Router.__init__ = self._original
            else:
                del litellm.Router.__init__
            self._original = None
        for router in self.routers:
            retire = getattr(router, "retire", None) or getattr(router, "discard", None)
            if callable(retire):
                retire()
        for name, operation, item, previous in reversed(self.undo):
            container = getattr(litellm, name, None)
            if operation == "dict" and isinstance(container, dict):
                if previous is _ABSENT:
                    container.pop(item, None)
                else:
                    container[item] = previous
            elif operation == "list" and isinstance(container, list):
                container[:] = [entry for entry in container if entry is not item]
            elif operation == "set" and isinstance(container, set):
                container.discard(item)
        # LiteLLM >= 1.110 retires a Router by rebinding each callback list to a filtered copy: keep the
        # list objects the process started with (other modules hold references to them).
        for name, original_list in self._lists.items():
            current = getattr(litellm, name, None)
            if isinstance(current, list) and current is not original_list:
                original_list[:] = current
                setattr(litellm, name, original_list)
        self.routers.clear()
        self.undo.clear()
