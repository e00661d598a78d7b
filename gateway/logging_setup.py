"""Process logging: one stderr handler, text or JSON lines, each record tagged with its request.

`configure_logging(settings)` is called once by the CLI. Every logger (the gateway's, uvicorn's,
httpx's) goes through the same handler, so with `GATEWAY_LOG_FORMAT=json` every line is one
JSON object. Records carry only what the code put in them: headers are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Final

import orjson

from gateway.config import Settings
from gateway.observability import REQUEST_ID

__all__ = ["JsonFormatter", "RequestIdFilter", "configure_logging"]

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Attributes every LogRecord has; anything else on a record was passed with `extra=`.
_STANDARD: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
    # uvicorn's copy of the message with ANSI colour codes: noise in a log pipeline.
    | {"color_message"}
)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to records emitted while a request is being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record (never drops one)."""
        if not hasattr(record, "request_id"):
            request_id = REQUEST_ID.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialize the record; values that are not JSON become their `str()`."""
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (ints beyond 64 bits, deep nesting)
            return json.dumps(entry, default=str, ensure_ascii=False)


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def configure_logging(settings: Settings) -> logging.Handler:
    """Route every logger through one stderr handler in the configured format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # httpx logs every request at INFO: noise (and CPU) on the hot path; errors still surface.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # The access log is its own switch (GATEWAY_ACCESS_LOG): never silenced by the level.
    access = logging.getLogger("gateway.access")
    access.setLevel(logging.INFO if settings.access_log else logging.WARNING)
    return handler
