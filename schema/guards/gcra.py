"""The rate limit: GCRA (generic cell rate algorithm), as pure arithmetic.

GCRA keeps one number per caller, the theoretical arrival time (TAT): each request pushes it
one emission interval (period / count) later, and a request is refused when that would put
the TAT more than one period ahead of now. It allows a burst of `count`, then one request per
interval: a token bucket's behaviour with one stored value and no refill timer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["Rate", "gcra"]

_RATE: Final = re.compile(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` requests per `period` seconds (e.g. `10/60s`), bursts of `count` allowed."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`10/60s`, `100/1m`, `5/1h` ...; ValueError names the expected form."""
        match = _RATE.fullmatch(text)
        if match is None or int(match[1]) < 1 or float(match[2]) <= 0:
            msg = f"expected COUNT/PERIOD with a unit (e.g. 10/60s), got {text!r}"
            raise ValueError(msg)
        period = float(match[2]) * _UNITS[match[3] or "s"]
        return cls(int(match[1]), period)

    @property
    def interval(self) -> float:
        """Seconds between requests at the sustained rate."""
        return self.period / self.count

    def __str__(self) -> str:
        return f"{self.count}/{self.period:g}s"


def gcra(tat: float | None, now: float, rate: Rate) -> tuple[bool, float, float]:
    """(allowed, the new TAT to store, seconds to wait when refused)."""
    start = now if tat is None or tat < now else tat
    new_tat = start + rate.interval
    allow_at = new_tat - rate.period
    if allow_at > now:
        return False, start, allow_at - now
    return True, new_tat, 0.0
