"""JSON at every boundary, exact: orjson on the fast path, the standard library where it is not.

Payment `data` must reach Medusa with the values the client sent. orjson is fast but not
exact everywhere: it decodes an integer beyond 64 bits as a float (silently), refuses to
encode one, refuses documents nested deeper than 1024 (decode) or 254 (encode) levels, and
encodes NaN/Infinity as `null`. So:

- integers of any size: a document with a run of 19+ digits (where 64 bits may end) is decoded
  by the standard library, whose integers are exact; encoding falls back to it as well;
- floats are IEEE doubles, as in Medusa's own `JSON.parse`, written in the shortest form that
  reads back as the same double: Medusa sees the very number the client sent;
- NaN, Infinity and numbers too large for a double (`1e400`) are not JSON values anyone can
  forward faithfully: decoding refuses them with `NonFiniteNumber`, encoding never writes them;
- what neither library can handle (absurd nesting) raises `JSONTooComplex`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import orjson

from medusa_client.errors import RequestError

__all__ = ["JSONTooComplex", "NonFiniteNumber", "dumps", "loads"]

#: 19 digits in a row: an integer that may not fit 64 bits (-9223372036854775809 has 19).
_LONG_DIGITS_TEXT: Final = re.compile(r"\d{19}")
#: Bytes: every ASCII digit becomes "0", so 19 digits in a row are 19 zeros in a row. Two C
#: passes (translate, then a substring search) instead of a regex trying each digit position:
#: ~1 us instead of ~25 us on a 3 KB answer, on every request body and backend answer.
_DIGITS_AS_ZERO: Final = bytes.maketrans(b"0123456789", b"0" * 10)
_NINETEEN_ZEROS: Final = b"0" * 19


def _has_long_digits(data: bytes | str) -> bool:
    if isinstance(data, bytes):
        return _NINETEEN_ZEROS in data.translate(_DIGITS_AS_ZERO)
    return _LONG_DIGITS_TEXT.search(data) is not None


class JSONTooComplex(RequestError, ValueError):
    """Valid-looking JSON nested too deeply for this process to handle safely (BAD_USER_INPUT).

    Also a `ValueError`, as invalid JSON is: callers that only care whether it parsed can
    catch that alone.
    """


class NonFiniteNumber(RequestError, ValueError):
    """NaN, Infinity, or a number beyond a double's range: no exact JSON value to forward."""


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON; never NaN or Infinity (`NonFiniteNumber` on the exact path)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        try:
            # ASCII escapes: a lone surrogate (valid in a JSON string, refused by orjson and
            # by UTF-8) must still serialize, or echoing a client's string would crash.
            return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
        except RecursionError:
            msg = "JSON value nested too deeply"
            raise JSONTooComplex(msg) from None
        except ValueError:
            msg = "NaN and Infinity are not JSON numbers"
            raise NonFiniteNumber(msg) from None


def loads(data: bytes | str) -> Any:  # noqa: ANN401  # any JSON value
    """Parse JSON exactly.

    `ValueError` for invalid JSON, `NonFiniteNumber` for NaN/Infinity/`1e400`,
    `JSONTooComplex` for absurd nesting.
    """
    if not _has_long_digits(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # deep nesting, NaN, 1e400 ... : the exact parser says what it is
    try:
        return json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        msg = "JSON document nested too deeply"
        raise JSONTooComplex(msg) from None


def _refuse_constant(name: str) -> float:
    msg = f"{name} is not a JSON number"
    raise NonFiniteNumber(msg)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        msg = f"{text} is beyond the range of a double"
        raise NonFiniteNumber(msg)
    return value
