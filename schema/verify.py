"""Verify the backend's answer against the plan: a 200 does not prove `fields` was honoured.

Medusa >= 2.13.2 silently strips paths it will not project. Every requested path that does
not come back is logged once per path and counted (for the metrics endpoint); the object
builder separately turns the gap into FIELD_NOT_EXPOSED errors for the selected fields.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from schema.projection import FieldsPlan

__all__ = ["ProjectionMonitor", "dropped_paths"]

_log = logging.getLogger("gateway.projection")


def dropped_paths(raw: Mapping[str, Any], requested: Iterable[str]) -> list[str]:
    """Requested paths absent from `raw`; paths under an empty relation cannot be judged."""
    split = _split(requested) if isinstance(requested, frozenset) else _split_now(requested)
    return [path for path, parts in split if _present(raw, parts) is False]


@lru_cache(maxsize=1024)
def _split(requested: frozenset[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A plan's requested paths, sorted and split once (plans are cached, so are these)."""
    return _split_now(requested)


def _split_now(requested: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((path, tuple(path.split("."))) for path in sorted(requested))


def _present(node: object, parts: tuple[str, ...]) -> bool | None:
    """True/False when decidable; None when an empty or null relation hides the answer."""
    for head in parts:
        while isinstance(node, list):  # a relation's rows: judged on the first one
            if not node:
                return None
            node = node[0]
        if not isinstance(node, Mapping):
            return None
        if head not in node:
            return False
        node = node[head]
    return True


class ProjectionMonitor:
    """Counts dropped paths per backend path; warns the first time each one is seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.dropped: Counter[str] = Counter()

    def check(self, raw: Mapping[str, Any], plan: FieldsPlan) -> list[str]:
        """Compare one answer with its plan; returns the dropped paths."""
        dropped = dropped_paths(raw, plan.requested)
        for path in dropped:
            with self._lock:
                first = path not in self.dropped
                self.dropped[path] += 1
            if first:
                _log.warning(
                    "Medusa did not return `%s` although it was requested with fields=%r; "
                    "the backend profile promises more than the backend projects",
                    path,
                    plan.fields,
                )
        return dropped
