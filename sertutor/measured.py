"""Numbers this Python process measured, for the exercise checks that ask for a measurement.

Some exercises ask a learner for a number they measured in the notebook (notebook 03's
``03.captures_more`` asks for two linear-probe accuracies). A check that looks only at the
answer would pass any number anyone can type, so the library functions that make such a
measurement note it here (:func:`note`), and the check accepts a number only when this kernel
measured it (:func:`matches`). Nothing is written to disk and nothing leaves the process; a
fresh kernel starts with no measurements.

Example
-------
>>> from sertutor import measured
>>> measured.clear()
>>> measured.note("linear_probe", 0.8125)
0.8125
>>> measured.matches("linear_probe", 0.81)   # rounded to two decimals: still this kernel's
True
>>> measured.matches("linear_probe", 0.95)
False
"""

from __future__ import annotations

import math
from collections import deque

#: How many recent values of each kind are kept (a notebook measures a handful).
KEEP = 256
#: Default tolerance of :func:`matches`: an answer rounded to two decimals still matches.
ROUNDING = 0.0051

_values: dict[str, deque[float]] = {}


def note(kind: str, value: float) -> float:
    """Record that this process measured ``value`` (a finite number) as a ``kind``.

    Returns ``value`` unchanged, so a function can ``return note("linear_probe", acc)``.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string, got {kind!r}")
    value = float(value)
    if math.isfinite(value):
        _values.setdefault(kind, deque(maxlen=KEEP)).append(value)
    return value


def values(kind: str) -> tuple[float, ...]:
    """The values of ``kind`` measured so far in this process, oldest first."""
    return tuple(_values.get(kind, ()))


def matches(kind: str, value: float, *, tolerance: float = ROUNDING) -> bool:
    """Whether ``value`` is (within ``tolerance``) one of the ``kind`` values measured here."""
    return any(abs(float(value) - v) <= tolerance for v in _values.get(kind, ()))


def clear(kind: str | None = None) -> None:
    """Forget the measurements of ``kind`` (of every kind when None)."""
    if kind is None:
        _values.clear()
    else:
        _values.pop(kind, None)
