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
from typing import Any

from schema.projection import FieldsPlan

__all__ = ["ProjectionMonitor", "dropped_paths"]

_log = logging.getLogger("gateway.projection")


def dropped_paths(raw: Mapping[str, Any], requested: Iterable[str]) -> list[str]:
    """Requested paths absent from `raw`; paths under an empty relation cannot be judged."""
    return sorted(path for path in requested if _present(raw, path.split(".")) is False)


def _present(node: object, parts: list[str]) -> bool | None:
    """True/False when decidable; None when an empty or null relation hides the answer."""
    if isinstance(node, list):
        if not node:
            return None
        return _present(node[0], parts)
    if not isinstance(node, Mapping):
        return None
    head, rest = parts[0], parts[1:]
    if head not in node:
        return False
    return True if not rest else _present(node[head], rest)


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
