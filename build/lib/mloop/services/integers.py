"""Integers from users: any integral type (int, numpy integers), within signed 64 bits."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from mloop.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def integer(field: str, value: Any, *, minimum: int = INT64_MIN) -> int:
    """``value`` as a Python int: an int or numpy integer from ``minimum`` to 2**63 - 1.

    Bools, floats (even 2.0), strings and numbers outside the range raise InvalidInput naming
    ``field``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise InvalidInput(f"{field} must be an integer, got {value!r}", field=field)
    number = operator.index(value)
    if not minimum <= number <= INT64_MAX:
        raise InvalidInput(
            f"{field} must be an integer from {minimum} to {INT64_MAX}, got {number}", field=field
        )
    return number
