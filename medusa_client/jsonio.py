"""JSON at every boundary: orjson on the fast path, the standard library where orjson refuses.

orjson will not encode structures nested deeper than 254 levels or integers beyond 64 bits,
and will not decode documents nested deeper than 1024; such values are valid JSON that a
client may legitimately send as payment `data`, so they fall back to `json` (slower, rare).
Only what neither can handle raises `JSONTooComplex`, which callers turn into a clear error.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from medusa_client.errors import RequestError

__all__ = ["JSONTooComplex", "dumps", "loads"]


class JSONTooComplex(RequestError, ValueError):
    """Valid-looking JSON nested too deeply for this process to handle safely (BAD_USER_INPUT).

    Also a `ValueError`, as invalid JSON is: callers that only care whether it parsed can
    catch that alone.
    """


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:
        try:
            # ASCII escapes: a lone surrogate (valid in a JSON string, refused by orjson and
            # by UTF-8) must still serialize, or echoing a client's string would crash.
            return json.dumps(value, separators=(",", ":")).encode()
        except RecursionError:
            msg = "JSON value nested too deeply"
            raise JSONTooComplex(msg) from None


def loads(data: bytes | str) -> Any:  # noqa: ANN401  # any JSON value
    """Parse JSON; `ValueError` for invalid JSON, `JSONTooComplex` for absurd nesting."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except RecursionError:
            msg = "JSON document nested too deeply"
            raise JSONTooComplex(msg) from None
