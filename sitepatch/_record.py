"""Records: the part of ``@dataclass(frozen=True, slots=True)`` sitepatch uses, at a fraction of its import cost.

:func:`dataclasses.dataclass` compiles every method it generates with ``exec`` and, for ``slots=True``, builds
the class twice; importing :mod:`dataclasses` brings :mod:`inspect`, :mod:`ast`, :mod:`dis` and
:mod:`tokenize`. On ``status``'s path (every container start, issue 11) that was a third of the run. Here the
methods are shared closures over each class's field table: no ``exec``, no import beyond :mod:`operator`'s C
module.

A :func:`frozen` class gets ``__slots__`` (one per field), ``__init__`` (fields in order, defaults, keyword
arguments), ``__eq__`` and ``__hash__`` (over the fields compared), ``__repr__``, ``__match_args__``, pickling,
and ``__setattr__``/``__delattr__`` that raise :class:`FrozenInstanceError`.
:func:`mutable` is ``@dataclass(slots=True)``: fields may be assigned, and it is unhashable.
Type checkers see both as dataclasses (:func:`typing.dataclass_transform`), so constructor calls, field types and
frozenness are checked as before.

>>> @frozen
... class Point:
...     x: int
...     y: int = 0
...     tags: list[str] = field(default_factory=list, compare=False)
>>> Point(1)
Point(x=1, y=0, tags=[])
>>> Point(1, tags=["a"]) == Point(1), hash(Point(1, 2)) == hash(Point(1, 2, ["b"]))
(True, True)
>>> replace(Point(1, 2), y=3)
Point(x=1, y=3, tags=[])
>>> try:
...     Point(1).x = 2
... except FrozenInstanceError as error:
...     print(error)
cannot assign to field 'x'
"""

from __future__ import annotations

try:
    from _operator import attrgetter, itemgetter  # the C module behind operator, whose import costs more
except ImportError:  # pragma: no cover - an interpreter without it
    from operator import attrgetter, itemgetter

TYPE_CHECKING = False  # importing typing costs milliseconds at start-up; type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform  # typing's own from Python 3.11

    _T = TypeVar("_T")
    _C = TypeVar("_C", bound=type)
else:

    def dataclass_transform(**_options: object) -> Callable[[_T], _T]:
        return lambda decorated: decorated


__all__ = ["FrozenInstanceError", "field", "frozen", "mutable", "replace"]


def __dir__() -> list[str]:
    return __all__


class FrozenInstanceError(AttributeError):
    """An assignment to (or deletion of) a field of a frozen record."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()


class _Field:
    """What :func:`field` returns in the class body; replaced by the slot when the record is built."""

    __slots__ = ("compare", "default", "factory", "hash", "repr")

    def __init__(self, default: object, factory: object, *, compare: bool, hash_: bool | None, repr_: bool) -> None:
        self.default = default
        self.factory = factory
        self.compare = compare
        self.hash = compare if hash_ is None else hash_
        self.repr = repr_


def field(
    *,
    default: Any = _MISSING,  # noqa: ANN401 - any value
    default_factory: Callable[[], Any] = _MISSING,
    compare: bool = True,
    hash: bool | None = None,  # noqa: A002 - dataclasses.field's name, which type checkers know
    repr: bool = True,  # noqa: A002
) -> Any:  # noqa: ANN401 - typed by the overloads
    """A field with a default, a default factory, or left out of comparison, hashing or ``repr``.

    The same parameters and meaning as :func:`dataclasses.field`.
    """
    return _Field(default, default_factory, compare=compare, hash_=hash, repr_=repr)


def _getter(
    names: tuple[str, ...], kind: Callable[..., Callable[[Any], Any]] = attrgetter
) -> Callable[[Any], tuple[object, ...]]:
    """``kind(*names)`` (``attrgetter`` or ``itemgetter``), always returning a tuple."""
    if len(names) == 1:
        single = kind(names[0])
        return lambda obj: (single(obj),)
    if not names:
        return lambda _obj: ()
    return kind(*names)


def _init_method(
    cls_name: str, names: tuple[str, ...], defaults: tuple[object, ...], factories: tuple[object, ...]
) -> Callable[..., None]:
    count = len(names)
    setters: list[Callable[[object, object], None]] = []  # filled once the class is built
    plain = {name: value for name, value in zip(names, defaults, strict=True) if value is not _MISSING}
    made = tuple((name, value) for name, value in zip(names, factories, strict=True) if value is not _MISSING)
    ordered = _getter(names, itemgetter)

    def refuse(args: tuple[object, ...], kwargs: dict[str, object]) -> TypeError:
        if len(args) > count:
            return TypeError(f"{cls_name}() takes {count} positional argument(s) but {len(args)} were given")
        for name in kwargs:
            if name not in names or names.index(name) < len(args):
                problem = "an unexpected keyword" if name not in names else "multiple values for"
                return TypeError(f"{cls_name}() got {problem} argument {name!r}")
        missing = [name for name in names[len(args) :] if name not in kwargs and name not in plain]
        return TypeError(f"{cls_name}() missing required argument(s): {', '.join(map(repr, missing))}")

    def __init__(self: object, *args: object, **kwargs: object) -> None:  # noqa: N807
        values: Sequence[object] = args
        if kwargs or len(args) != count:
            # Keywords and defaults: merged by the dict and read in field order by itemgetter, both in C.
            merged = {**plain, **dict(zip(names, args, strict=False)), **kwargs} if args else {**plain, **kwargs}
            for name, factory in made:
                if name not in merged:
                    merged[name] = factory()  # type: ignore[operator]
            try:
                values = ordered(merged)
            except KeyError:
                raise refuse(args, kwargs) from None
            if len(merged) != count or len(args) > count or (args and not kwargs.keys().isdisjoint(names[: len(args)])):
                raise refuse(args, kwargs)
        for setter, value in zip(setters, values, strict=True):
            setter(self, value)

    __init__.setters = setters  # type: ignore[attr-defined]
    return __init__


def _frozen_setattr(self: object, name: str, value: object) -> None:  # noqa: ARG001
    msg = f"cannot assign to field {name!r}"
    raise FrozenInstanceError(msg)


def _frozen_delattr(self: object, name: str) -> None:  # noqa: ARG001
    msg = f"cannot delete field {name!r}"
    raise FrozenInstanceError(msg)


def _methods(
    compared: tuple[str, ...], hashed: tuple[str, ...], shown: tuple[str, ...]
) -> tuple[Callable[..., Any], ...]:
    compare_key = _getter(compared)
    hash_key = _getter(hashed)
    shown_key = _getter(shown)

    def __eq__(self: object, other: object) -> bool:  # noqa: N807
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare_key(self) == compare_key(other)

    def __hash__(self: object) -> int:  # noqa: N807
        return hash(hash_key(self))

    def __repr__(self: object) -> str:  # noqa: N807
        values = shown_key(self)
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(shown, values, strict=True))
        return f"{type(self).__qualname__}({inner})"

    def __getstate__(self: object) -> tuple[object, ...]:  # noqa: N807
        return tuple(getattr(self, name) for name in type(self).__slots__)  # type: ignore[attr-defined]

    def __setstate__(self: object, state: tuple[object, ...]) -> None:  # noqa: N807
        for setter, value in zip(type(self).__record_setters__, state, strict=True):  # type: ignore[attr-defined]
            setter(self, value)

    return __eq__, __hash__, __repr__, __getstate__, __setstate__


def _build(cls: type, *, frozen: bool) -> type:
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 - inspect is what we avoid importing
    defaults: list[object] = []
    factories: list[object] = []
    compared, hashed, shown = [], [], []
    optional = False
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, _Field) else _Field(value, _MISSING, compare=True, hash_=None, repr_=True)
        if spec.default is _MISSING and spec.factory is _MISSING:
            if optional:
                msg = f"{cls.__qualname__}: field {name!r} without a default follows one with a default"
                raise TypeError(msg)
        else:
            optional = True
        defaults.append(spec.default)
        factories.append(spec.factory)
        if spec.compare:
            compared.append(name)
        if spec.hash:
            hashed.append(name)
        if spec.repr:
            shown.append(name)
    namespace = {k: v for k, v in cls.__dict__.items() if k not in names and k not in ("__dict__", "__weakref__")}
    namespace["__slots__"] = names
    namespace["__match_args__"] = names
    eq, hash_, repr_, getstate, setstate = _methods(tuple(compared), tuple(hashed), tuple(shown))
    methods = {
        "__init__": _init_method(cls.__qualname__, names, tuple(defaults), tuple(factories)),
        "__eq__": eq,
        "__repr__": repr_,
        "__getstate__": getstate,
        "__setstate__": setstate,
    }
    # Like dataclasses: a frozen record hashes its fields; a mutable one is unhashable.
    methods["__hash__"] = hash_ if frozen else None  # type: ignore[assignment]
    if frozen:
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    for key, method in methods.items():
        if key not in namespace or (key == "__hash__" and namespace[key] is None):
            namespace[key] = method
    built = type(cls)(cls.__name__, cls.__bases__, namespace)
    setters = [built.__dict__[name].__set__ for name in names]
    built.__record_setters__ = setters  # type: ignore[attr-defined]
    methods["__init__"].setters[:] = setters  # type: ignore[attr-defined]
    built.__record_fields__ = names  # type: ignore[attr-defined]
    return built


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: _C, /) -> _C:
    """Make ``cls`` a frozen record (``@dataclass(frozen=True, slots=True)``).

    Fields are the class's annotations, in order; a class attribute is the default, or :func:`field`.
    """
    return _build(cls, frozen=True)  # type: ignore[return-value]


@dataclass_transform(field_specifiers=(field,))
def mutable(cls: _C, /) -> _C:
    """Make ``cls`` a record whose fields may be assigned (``@dataclass(slots=True)``): unhashable."""
    return _build(cls, frozen=False)  # type: ignore[return-value]


def replace(obj: _T, /, **changes: object) -> _T:
    """A copy of the record ``obj`` with the given fields changed, as :func:`dataclasses.replace`.

    >>> @frozen
    ... class Pair:
    ...     a: int
    ...     b: int
    >>> replace(Pair(1, 2), b=5)
    Pair(a=1, b=5)
    """
    names: tuple[str, ...] = type(obj).__record_fields__  # type: ignore[attr-defined]
    values = {name: changes.pop(name) if name in changes else getattr(obj, name) for name in names}
    if changes:
        msg = f"{type(obj).__qualname__} has no field(s) {', '.join(sorted(changes))}"
        raise TypeError(msg)
    return type(obj)(**values)
