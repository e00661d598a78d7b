"""The idempotency guard: one backend call per key, its definitive outcome replayed.

    begin(name)  -> acquired: check the rate, call, then store the outcome or release
                 -> a record:  same fingerprint -> replay it; else IDEMPOTENCY_KEY_REUSED
                 -> a lock:    same fingerprint -> wait (bounded); else IDEMPOTENCY_KEY_REUSED
    store down   -> IDEMPOTENCY_UNAVAILABLE: never a call without protection

Definitive outcomes (a success, or a 4xx Medusa decided) are sealed and kept for the TTL.
Anything else (a 5xx, a timeout, a lost connection, a failure before sending, a cancelled
request) releases the key, so the client's retry runs again; the error then says so
(`retryable: true`). The lock itself expires after the backend timeout plus a margin, so a
replica that dies mid-call blocks its key for that long, never for the TTL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson

from medusa_client.errors import (
    BackendRejected,
    GatewayError,
    OperationLimitExceeded,
    RequestError,
)
from schema.guards.errors import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotencyUnavailable,
)
from schema.guards.sealing import SealError, Secrets
from schema.guards.store import IdempotencyStore, StoreUnavailable

__all__ = ["Events", "Idempotency"]

_log = logging.getLogger("gateway.idempotency")

_LOCK: Final = b"L"
_RECORD: Final = b"D"
_FIRST_POLL: Final = 0.02
_MAX_POLL: Final = 0.2

#: Receives one event name per notable step (metrics): replayed, conflict, in_progress_wait,
#: in_progress_timeout, unavailable, stored, released, store_failed.
Events = Callable[[str], None]


def _ignore(_: str) -> None:
    return None


class Idempotency:
    """Runs a backend call at most once per stored name, for every process on the store."""

    def __init__(
        self,
        store: IdempotencyStore,
        secrets: Secrets,
        *,
        ttl: float,
        lock_ttl: float,
        wait: float,
        events: Events = _ignore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._secrets = secrets
        self._ttl_ms = max(1, round(ttl * 1000))
        self._lock_ms = max(1, round(lock_ttl * 1000))
        self._wait = wait
        self._events = events
        self._clock = clock

    async def run(
        self,
        name: str,
        fingerprint: str,
        send: Callable[[], Awaitable[dict[str, Any]]],
        before_send: Callable[[], Awaitable[None]] | None = None,
        on_replay: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Medusa's raw answer, or the error the first call ended with (`on_replay` first)."""
        lock = _LOCK + fingerprint.encode() + b":" + os.urandom(8).hex().encode()
        replayed = await self._acquire(name, fingerprint, lock)
        if replayed is not None:
            if on_replay is not None:
                on_replay()
            return _replay(replayed)
        try:
            if before_send is not None:
                await before_send()
            raw = await send()
        except BackendRejected as error:
            if 400 <= error.status < 500:  # Medusa decided: keep it
                await self._finish(name, lock, {"fp": fingerprint, "error": _error_record(error)})
            else:
                error.key_released = True
                await self._release(name, lock)
            raise
        except (RequestError, OperationLimitExceeded):
            # Refused by the gateway before the session call: the key is released (nothing
            # was decided by Medusa), but the same request would be refused again.
            await self._release(name, lock)
            raise
        except GatewayError as error:
            error.key_released = True
            await self._release(name, lock)
            raise
        except BaseException:  # cancelled (client gone) or unexpected: the outcome is unknown
            await self._release(name, lock)
            raise
        await self._finish(name, lock, {"fp": fingerprint, "ok": raw})
        return raw

    async def _acquire(self, name: str, fingerprint: str, lock: bytes) -> dict[str, Any] | None:
        """None once `lock` is ours; the stored record when there is one to replay."""
        deadline: float | None = None
        delay = _FIRST_POLL
        while True:
            try:
                state, value = await self.store.begin(name, lock, self._lock_ms)
            except StoreUnavailable as error:
                self._events("unavailable")
                _log.warning("idempotency store unavailable: %s", error)
                raise IdempotencyUnavailable from None
            if state == "acquired" or value == lock:
                return None
            assert value is not None  # noqa: S101  # "exists" always carries the value
            if value.startswith(_RECORD):
                record = self._open(name, value[len(_RECORD) :])
                if record.get("fp") != fingerprint:
                    self._events("conflict")
                    raise IdempotencyKeyReused
                self._events("replayed")
                return record
            if not value[len(_LOCK) :].startswith(fingerprint.encode() + b":"):
                self._events("conflict")
                raise IdempotencyKeyReused
            now = self._clock()
            if deadline is None:
                self._events("in_progress_wait")
                deadline = now + self._wait
            if now >= deadline:
                self._events("in_progress_timeout")
                raise IdempotencyInProgress
            await asyncio.sleep(min(delay, max(deadline - now, 0.0)))
            delay = min(delay * 2, _MAX_POLL)

    def _open(self, name: str, sealed: bytes) -> dict[str, Any]:
        try:
            record: dict[str, Any] = orjson.loads(self._secrets.open(sealed, name))
        except (SealError, orjson.JSONDecodeError):
            # Sealed under another secret (rotated, or replicas that disagree): unusable.
            self._events("unavailable")
            _log.error("a stored idempotency record does not open: is the secret shared?")
            raise IdempotencyUnavailable from None
        return record

    async def _finish(self, name: str, lock: bytes, record: dict[str, Any]) -> None:
        sealed = _RECORD + self._secrets.seal(orjson.dumps(record), name)
        try:
            kept = await self.store.finish(name, lock, sealed, self._ttl_ms)
        except StoreUnavailable as error:
            # The answer is still the client's; a retry waits for the lock to expire.
            self._events("store_failed")
            _log.warning("idempotency store failed to keep an answer: %s", error)
            return
        self._events("stored" if kept else "store_failed")

    async def _release(self, name: str, lock: bytes) -> None:
        try:
            await self.store.release(name, lock)
        except StoreUnavailable as error:
            self._events("store_failed")
            _log.warning("idempotency store failed to release a key: %s", error)
            return
        self._events("released")


def _error_record(error: BackendRejected) -> dict[str, Any]:
    return {
        "code": error.code,
        "status": error.status,
        "type": error.medusa_type,
        "medusa_code": error.medusa_code,
        "message": error.message,
    }


def _replay(record: dict[str, Any]) -> dict[str, Any]:
    error = record.get("error")
    if error is not None:
        raise BackendRejected(
            code=error["code"],
            status=error["status"],
            medusa_type=error["type"],
            medusa_code=error["medusa_code"],
            message=error["message"],
        )
    raw: dict[str, Any] = record["ok"]
    return raw
