"""``json.loads`` without importing :mod:`json`, for ``status``: the json package imports :mod:`re`.

``status`` runs at every container start (issue 11) and reads one JSON document, the manifest. Importing
:mod:`json` costs more than everything else ``status`` does, because :mod:`json.decoder` imports :mod:`re`
(and :mod:`re` imports :mod:`enum` and :mod:`functools`). The decoding itself is done by CPython's C
scanner, ``_json.make_scanner``, which :mod:`json` uses too; here it is called directly, with the settings of
``json.loads``. Whenever the document is not valid (or the C scanner is missing, as on other Pythons),
:func:`json.loads` decodes it again: the result, or the error, is exactly that of :func:`json.loads`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at start-up; type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["loads"]


def __dir__() -> list[str]:
    return __all__


class _Settings:
    """What ``json.JSONDecoder()`` gives its scanner: the defaults of :func:`json.loads`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


def _scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    try:
        from _json import make_scanner  # noqa: PLC0415 - once, at import
    except ImportError:  # pragma: no cover - not CPython
        return None
    return make_scanner(_Settings())  # type: ignore[arg-type] # it reads only these settings of a JSONDecoder


_scan = _scanner()
_WHITESPACE = " \t\n\r"


def loads(text: str) -> Any:  # noqa: ANN401 - JSON
    r"""The value of the JSON document ``text``, as :func:`json.loads` gives it.

    >>> loads(' {"a": [1, 2.5, null, true, "\\u00e9"]} ')
    {'a': [1, 2.5, None, True, 'é']}

    :raises json.JSONDecodeError: when ``text`` is not a JSON document.
    """
    if _scan is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
        except Exception:  # noqa: BLE001, S110 - StopIteration or a decoding error: json.loads reports it below
            pass
        else:
            if not text[end:].strip(_WHITESPACE):
                return value
    import json  # noqa: PLC0415 - only for an invalid document, to report it exactly as json does

    return json.loads(text)
