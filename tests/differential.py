"""The differential check: a compiled operation must answer byte for byte as graphql-core.

`checked_run` stands in for `gateway.graphql_http.run` (tests/conftest.py installs it for the
whole suite). Each compiled operation runs for real, against whatever backend the test set up,
while a `RecordingMedusa` notes every client call and its outcome; then graphql-core runs
the same document, variables and context on a `ReplayMedusa` that answers those calls again,
completing them in the recorded order. Both results are formatted as the endpoint formats
them (errors, data, the REST calls of `extensions.upstream`) and must serialize to the same
bytes; the replay must also see exactly the calls the compiled run made. A difference is
kept in MISMATCHES, and the test that caused it fails.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from graphql import ExecutionResult, GraphQLSchema

from gateway import graphql_http
from gateway.graphql_http import CompiledDocument, GraphQLRequest, format_error
from medusa_client import jsonio
from medusa_client.client import UpstreamCall
from schema.compiled import CompiledOperation
from schema.context import GatewayContext
from schema.projection import FieldsPlan
from schema.verify import ProjectionMonitor, dropped_paths

__all__ = [
    "MISMATCHES",
    "RECORDED_CALLS",
    "RecordingMedusa",
    "ReplayMedusa",
    "SilentMonitor",
    "body_bytes",
    "checked_run",
]

#: Differences found so far: (query, variables, compiled bytes, graphql-core bytes).
MISMATCHES: list[tuple[str, object, bytes, bytes]] = []
#: The client's backend calls (all but the readiness probe), recorded and replayed.
RECORDED_CALLS = (
    "create_payment_session",
    "create_cart_payment_collection",
    "list_payment_providers",
    "region_provider_ids",
    "retrieve_cart",
)
_original_run = graphql_http.run


@dataclasses.dataclass
class Call:
    """One client call of the compiled run: what was asked, what came back, in which order."""

    key: tuple[Any, ...]
    outcome: tuple[str, Any] = ("pending", None)
    trace: list[UpstreamCall] = dataclasses.field(default_factory=list)
    rank: int = -1


def _key(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    named = tuple(sorted((k, repr(v)) for k, v in kwargs.items() if k != "trace"))
    return (method, repr(args), named)


class RecordingMedusa:
    """Forwards every call to the real client and records it."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.calls: list[Call] = []
        self._completed = 0

    def __getattr__(self, name: str) -> Any:
        if name not in RECORDED_CALLS:
            return getattr(self._real, name)

        async def record(*args: Any, **kwargs: Any) -> Any:
            call = Call(_key(name, args, kwargs))
            self.calls.append(call)
            trace = kwargs.get("trace")
            private: list[UpstreamCall] | None = None if trace is None else []
            try:
                result = await getattr(self._real, name)(*args, **{**kwargs, "trace": private})
            except Exception as error:
                call.outcome = ("error", error)
                raise
            else:
                call.outcome = ("ok", copy.deepcopy(result))
                return result
            finally:
                call.trace = list(private or ())
                if trace is not None:
                    trace.extend(call.trace)
                call.rank = self._completed
                self._completed += 1

        return record


class ReplayMedusa:
    """Answers the recorded calls again, each finishing in the order it finished before."""

    def __init__(self, calls: list[Call]) -> None:
        self._calls = calls
        self._started: set[int] = set()
        self._done: set[int] = set()
        self.problems: list[str] = []

    def unused(self) -> list[Call]:
        """Recorded calls the replay never saw."""
        return [c for i, c in enumerate(self._calls) if i not in self._started]

    def __getattr__(self, name: str) -> Any:
        if name not in RECORDED_CALLS:
            raise AttributeError(name)

        async def replay(*args: Any, **kwargs: Any) -> Any:
            key = _key(name, args, kwargs)
            index = next(
                (i for i, c in enumerate(self._calls) if i not in self._started and c.key == key),
                None,
            )
            if index is None:
                self.problems.append(f"graphql-core made a call the compiled run did not: {key}")
                msg = "unrecorded backend call"
                raise AssertionError(msg)
            self._started.add(index)
            call = self._calls[index]
            # Let calls that finished earlier finish first, started yet or not: concurrent
            # reads (one DataLoader batch per projection) may start in another order here,
            # and the trace records completions. Bounded: a call graphql-core never makes
            # is reported below, not waited for.
            for _ in range(1_000):
                if not any(
                    i not in self._done and c.rank < call.rank for i, c in enumerate(self._calls)
                ):
                    break
                await asyncio.sleep(0)
            self._done.add(index)
            trace = kwargs.get("trace")
            if trace is not None:
                trace.extend(call.trace)
            kind, value = call.outcome
            if kind == "error":
                raise value
            return copy.deepcopy(value)

        return replay


class SilentMonitor(ProjectionMonitor):
    """The replay's monitor: the compiled run already counted and warned about this answer."""

    def check(self, raw: Mapping[str, Any], plan: FieldsPlan) -> list[str]:
        return dropped_paths(raw, plan.requested)


@dataclasses.dataclass
class GuardCall:
    """One payment call through the request's guard: its identity, outcome, and whether it sent."""

    key: tuple[Any, ...]
    outcome: tuple[str, Any] = ("pending", None)
    sent: bool = False


class RecordingGuard:
    """Runs the real guard (idempotency keys, rate limits) and notes what it did per call."""

    def __init__(self, real: Any) -> None:  # schema.guards.request.RequestGuard
        self._real = real
        self.calls: list[GuardCall] = []

    def __getattr__(self, name: str) -> Any:  # header_key, replayed ...
        return getattr(self._real, name)

    async def call(
        self,
        mutation: str,
        arguments: Mapping[str, Any],
        selection: str,
        key: str | None,
        send: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        record = GuardCall((mutation, repr(arguments), selection, key))
        self.calls.append(record)

        async def noted_send() -> dict[str, Any]:
            record.sent = True
            return await send()

        try:
            result: dict[str, Any] = await self._real.call(
                mutation, arguments, selection, key, noted_send
            )
        except Exception as error:
            record.outcome = ("error", error)
            raise
        record.outcome = ("ok", copy.deepcopy(result))
        return result


class ReplayGuard:
    """Does what the real guard did: sends when it sent, else answers or refuses as it did."""

    def __init__(self, calls: list[GuardCall], header_key: str | None) -> None:
        self._calls = calls
        self._used: set[int] = set()
        self.header_key = header_key
        self.problems: list[str] = []

    async def call(
        self,
        mutation: str,
        arguments: Mapping[str, Any],
        selection: str,
        key: str | None,
        send: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        wanted = (mutation, repr(arguments), selection, key)
        index = next(
            (i for i, c in enumerate(self._calls) if i not in self._used and c.key == wanted), None
        )
        if index is None:
            self.problems.append(
                f"graphql-core made a guarded call the compiled run did not: {wanted}"
            )
            msg = "unrecorded guarded call"
            raise AssertionError(msg)
        self._used.add(index)
        record = self._calls[index]
        if record.sent:
            return await send()
        kind, value = record.outcome
        if kind == "error":
            raise value
        return copy.deepcopy(value)


@contextmanager
def _quiet() -> Iterator[None]:
    """Formatting logs masked errors: the endpoint logs the real ones, not this check."""
    logger = logging.getLogger("gateway.graphql")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def body_bytes(
    result: ExecutionResult, request_id: str, trace: list[UpstreamCall] | None = None
) -> bytes:
    """The response as the endpoint would write it (without the executor's name)."""
    with _quiet():
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [format_error(error, request_id) for error in result.errors]
        body["data"] = result.data
        if trace is not None:
            body["upstream"] = [call.as_dict() for call in trace]
        return jsonio.dumps(body)


async def checked_run(
    schema: GraphQLSchema,
    compiled: CompiledDocument,
    request: GraphQLRequest,
    context: GatewayContext,
) -> ExecutionResult:
    """`graphql_http.run`, plus the same operation on graphql-core, compared byte for byte."""
    if not any(isinstance(e, CompiledOperation) for e in compiled.executors.values()):
        return await _original_run(schema, compiled, request, context)
    real, real_guard = context.medusa, context.guard
    recording = RecordingMedusa(real)
    replay = ReplayMedusa(recording.calls)
    guarded = replay_guard = None
    if real_guard is not None:
        guarded = RecordingGuard(real_guard)
        replay_guard = ReplayGuard(guarded.calls, real_guard.header_key)
    shadow = dataclasses.replace(
        context,
        medusa=replay,  # type: ignore[arg-type]  # duck-typed client
        guard=replay_guard,  # type: ignore[arg-type]  # duck-typed guard
        trace=None if context.trace is None else [],
        monitor=SilentMonitor(),
        _providers=None,
        _carts=None,
    )
    context.medusa = recording  # type: ignore[assignment]  # duck-typed client
    context.guard = guarded  # type: ignore[assignment]  # duck-typed guard
    try:
        result = await _original_run(schema, compiled, request, context)
    finally:
        context.medusa, context.guard = real, real_guard
    if (result.extensions or {}).get("executor") != "compiled":
        return result
    generic_document = dataclasses.replace(compiled, executors={})
    generic = await _original_run(schema, generic_document, request, shadow)
    ours = body_bytes(result, context.request_id, context.trace)
    theirs = body_bytes(generic, context.request_id, shadow.trace)
    problems = list(replay.problems) + (replay_guard.problems if replay_guard else [])
    problems += [f"graphql-core did not make the call {c.key}" for c in replay.unused()]
    if ours != theirs or problems:
        note = ("; ".join(problems)).encode()
        MISMATCHES.append((request.query, request.variables, ours + note, theirs))
    return result
