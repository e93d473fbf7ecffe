"""The frozen records that replace ``@dataclass(frozen=True, slots=True)`` (sitepatch._record)."""

from __future__ import annotations

import pickle

import pytest

from sitepatch._record import FrozenInstanceError, field, frozen, mutable, replace


@frozen
class Pair:
    a: int
    b: str = "x"
    notes: list[str] = field(default_factory=list, compare=False, repr=False)


@mutable
class Counter:
    count: int = 0
    seen: list[int] = field(default_factory=list)


def test_a_frozen_record_takes_its_fields_by_position_or_keyword_with_defaults() -> None:
    assert (Pair(1).a, Pair(1).b, Pair(1).notes) == (1, "x", [])
    assert Pair(1, "y") == Pair(b="y", a=1)
    assert Pair(1).notes is not Pair(1).notes


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        pytest.param((), {}, r"missing required argument\(s\): 'a'", id="missing"),
        pytest.param((1, "y", [], 4), {}, "takes 3 positional argument", id="too many"),
        pytest.param((1,), {"c": 2}, "unexpected keyword argument 'c'", id="unknown keyword"),
        pytest.param((1,), {"a": 2}, "multiple values for argument 'a'", id="twice"),
    ],
)
def test_a_bad_constructor_call_raises_type_error(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        Pair(*args, **kwargs)  # type: ignore[arg-type]


def test_equality_hash_and_repr_use_only_the_compared_and_shown_fields() -> None:
    assert Pair(1, notes=["n"]) == Pair(1)
    assert hash(Pair(1, notes=["n"])) == hash(Pair(1))
    assert Pair(1) != Pair(2)
    assert Pair(1) != (1, "x")  # type: ignore[comparison-overlap]
    assert repr(Pair(1)) == "Pair(a=1, b='x')"
    assert Pair.__match_args__ == ("a", "b", "notes")
    assert not hasattr(Pair(1), "__dict__")


def test_a_frozen_record_refuses_assignment_and_deletion() -> None:
    pair = Pair(1)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'a'"):
        pair.a = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del pair.b
    assert pair.a == 1


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    assert replace(Pair(1, "y"), a=5) == Pair(5, "y")
    with pytest.raises(TypeError, match="no field"):
        replace(Pair(1), c=3)


def test_records_survive_pickling() -> None:
    assert pickle.loads(pickle.dumps(Pair(1, "z", ["n"]))).notes == ["n"]
    assert pickle.loads(pickle.dumps(Counter(3, [1]))) == Counter(3, [1])


def test_a_mutable_record_can_be_assigned_and_is_not_hashable() -> None:
    counter = Counter()
    counter.count += 1
    counter.seen.append(1)
    assert counter == Counter(1, [1])
    with pytest.raises(TypeError):
        hash(counter)


def test_a_field_without_default_after_one_with_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        @frozen
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]
