"""Trusted documents: the storefront's own operations, from a manifest, and (if told) nothing else.

A manifest maps ids to documents. graphql-codegen's client preset writes `{"<sha256>": "<doc>"}`
(with `persistedDocuments: { hashAlgorithm: 'sha256' }`; keys may carry `sha256:`), Apollo's
generate-persisted-query-manifest writes `{"format": "apollo-persisted-query-manifest",
"version": 1, "operations": [{id, body, name, type}]}`. Every entry is hash-checked (sha256 of
its exact text), parsed, limit-checked and validated once, at load: a request then names a
document by id (`documentId`, or APQ's `extensions.persistedQuery.sha256Hash`) and runs its
compiled form. The mode decides what else runs:

    safelist     a raw document runs only if its text is in the manifest (else
                 PERSISTED_QUERY_NOT_IN_LIST)
    require-id   only ids (a raw document: PERSISTED_QUERY_ID_REQUIRED)
    off          anything; ids still resolve, raw documents outside the manifest are counted

An unknown id is PERSISTED_QUERY_NOT_FOUND. Refusals happen before any backend call, and APQ
registration is off whenever the manifest is enforced. The file is polled for changes by each
process (so it works under `--workers`, where the process manager owns SIGHUP); a new manifest is
compiled off the event loop and swapped in whole, so no request is dropped or sees half of one,
and a bad new manifest is logged while the old one stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.config import Settings, SettingsError, TrustedDocumentsMode
from gateway.errors import (
    BadRequest,
    DocumentIdRequired,
    DocumentNotInList,
    PersistedQueryNotFound,
    UnknownDocumentId,
)
from gateway.graphql_http import CompiledDocument, DocumentCache, GraphQLRequest
from medusa_client import jsonio
from medusa_client.errors import GatewayError

__all__ = [
    "Manifest",
    "ManifestError",
    "TrustedDocument",
    "TrustedDocuments",
    "load_manifest",
]

_log = logging.getLogger("gateway.trusted_documents")

_APOLLO_FORMAT: Final = "apollo-persisted-query-manifest"
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_PREFIX: Final = "sha256:"
#: The label of requests whose id is not in the manifest: client input never becomes a label.
_UNKNOWN: Final = ""


class ManifestError(SettingsError):
    """The trusted documents manifest cannot be used; the message names the entry and why."""


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    """One manifest entry, compiled."""

    id: str
    text: str
    compiled: CompiledDocument
    name: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A loaded manifest: documents by id and by text, and the file state it was read from."""

    path: Path
    by_id: Mapping[str, TrustedDocument]
    by_text: Mapping[str, TrustedDocument]
    signature: tuple[int, int, int]

    def __len__(self) -> int:
        return len(self.by_id)


def _signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def load_manifest(path: Path, compile_document: Callable[[str], CompiledDocument]) -> Manifest:
    """Read, hash-check and compile every entry of the manifest at `path`, or raise."""
    try:
        signature = _signature(path)
        raw = path.read_bytes()
    except OSError as error:
        msg = f"trusted documents manifest {path}: cannot read it ({error.strerror})"
        raise ManifestError(msg) from None
    try:
        parsed = jsonio.loads(raw)
    except ValueError:
        msg = f"trusted documents manifest {path}: not valid JSON"
        raise ManifestError(msg) from None
    by_id: dict[str, TrustedDocument] = {}
    for label, key, body in _entries(parsed, path):
        problem, document_id = _checked(key, body)
        if problem is None:
            assert isinstance(body, str)  # noqa: S101  # _checked refuses anything else
            compiled = compile_document(body)
            if compiled.errors:
                first = compiled.errors[0]
                reason = first.original_error
                code = reason.code if isinstance(reason, GatewayError) else "INVALID"
                problem = f"{first.message} ({code})"
            else:
                by_id[document_id] = TrustedDocument(document_id, body, compiled, _names(compiled))
                continue
        msg = f"trusted documents manifest {path}: entry {label}: {problem}"
        raise ManifestError(msg)
    by_text = {document.text: document for document in by_id.values()}
    return Manifest(path, by_id, by_text, signature)


def _entries(parsed: object, path: Path) -> Iterator[tuple[str, str, object]]:
    """(label for messages, id, body) of each entry, in either manifest format."""
    if not isinstance(parsed, dict):
        msg = f"trusted documents manifest {path}: must be a JSON object"
        raise ManifestError(msg)
    if "format" not in parsed:  # graphql-codegen's client preset: {"<hash>": "<document>"}
        for key, body in parsed.items():
            yield f"{key[:80]!r}", key, body
        return
    if parsed.get("format") != _APOLLO_FORMAT or parsed.get("version") != 1:
        msg = (
            f"trusted documents manifest {path}: unknown format (expected graphql-codegen's "
            f'{{"<sha256>": "<document>"}} or {{"format": "{_APOLLO_FORMAT}", "version": 1}})'
        )
        raise ManifestError(msg)
    operations = parsed.get("operations")
    if not isinstance(operations, list):
        msg = f"trusted documents manifest {path}: `operations` must be a list"
        raise ManifestError(msg)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or not isinstance(operation.get("id"), str):
            msg = f"trusted documents manifest {path}: operations[{index}] has no string `id`"
            raise ManifestError(msg)
        name = operation.get("name")
        label = f"operations[{index}] {operation['id'][:80]!r}"
        if isinstance(name, str):
            label += f" ({name[:80]})"
        yield label, operation["id"], operation.get("body")


def _checked(key: str, body: object) -> tuple[str | None, str]:
    """(why the entry is unusable or None, its normalized id)."""
    document_id = _normalized(key)
    if not isinstance(body, str):
        return "the document must be a string", document_id
    if not _SHA256.fullmatch(document_id):
        return (
            "the id is not a sha256 hash (64 hex digits; graphql-codegen's default is sha1: set "
            "persistedDocuments: { hashAlgorithm: 'sha256' })",
            document_id,
        )
    actual = hashlib.sha256(body.encode()).hexdigest()
    if actual != document_id:
        return f"the id is not the sha256 of the document (that is {actual})", document_id
    return None, document_id


def _normalized(document_id: str) -> str:
    lowered = document_id.strip().lower()
    return lowered.removeprefix(_PREFIX)


def _names(compiled: CompiledDocument) -> str:
    names = [name or "anonymous" for name in compiled.operations]
    return ",".join(names) if names else "anonymous"


class TrustedDocuments:
    """Resolves requests through the manifest and applies the mode; counts hits and misses."""

    def __init__(
        self,
        mode: TrustedDocumentsMode,
        manifest: Manifest | None,
        cache: DocumentCache,
    ) -> None:
        if mode != "off" and manifest is None:
            msg = f"trusted documents mode {mode} needs a manifest"
            raise ManifestError(msg)
        self.mode = mode
        self._manifest = manifest
        self._cache = cache
        self._counts: dict[tuple[str, str, str], int] = {}

    @classmethod
    def from_settings(cls, settings: Settings, cache: DocumentCache) -> TrustedDocuments:
        """Load the manifest the settings name (if any): a bad one raises ManifestError."""
        manifest = None
        if settings.trusted_documents is not None:
            manifest = load_manifest(settings.trusted_documents, cache.compile_uncached)
            _log.info(
                "trusted documents: %d loaded from %s (mode %s)",
                len(manifest),
                manifest.path,
                settings.trusted_documents_mode,
            )
        return cls(settings.trusted_documents_mode, manifest, cache)

    @property
    def manifest(self) -> Manifest | None:
        """The manifest in use (replaced whole on reload)."""
        return self._manifest

    @property
    def enforced(self) -> bool:
        """Whether documents outside the manifest are refused (and APQ registration is off)."""
        return self.mode != "off"

    def resolve(self, params: object) -> tuple[GraphQLRequest, CompiledDocument] | None:
        """The request and its precompiled document, a refusal, or None: not ours to decide.

        None sends the caller down the usual path (raw text through the LRU, APQ): it happens
        only when the manifest is not enforced, or when the request has neither id nor query.
        """
        if not isinstance(params, dict):
            return None
        query = params.get("query")
        manifest = self._manifest
        document_id, from_apq = _requested_id(params)
        if document_id is not None:
            document = manifest.by_id.get(document_id) if manifest is not None else None
            if document is not None:
                if query is not None and query != document.text:
                    raise BadRequest("The query is not the document its id names.")
                return self._hit(document, params)
            if from_apq and not self.enforced:
                return None  # Apollo's automatic persisted queries, as without a manifest
            if query is None or not from_apq:
                self._count(_UNKNOWN, "", "not_found")
                if from_apq:
                    # Apollo clients look for this answer (then resend with the query: refused
                    # below when the manifest is enforced).
                    raise PersistedQueryNotFound
                raise UnknownDocumentId("Unknown document id: it is not in the trusted documents.")
            # An APQ registration (hash + query) while enforced: judged as the raw document.
        if not isinstance(query, str) or manifest is None:
            return None
        document = manifest.by_text.get(query)
        if document is not None and self.mode != "require-id":
            return self._hit(document, params)
        if self.mode == "off":
            self._count(_UNKNOWN, "", "not_in_list")  # what safelist would refuse
            return None
        if self.mode == "require-id":
            self._count(_UNKNOWN, "", "id_required")
            msg = (
                "This gateway runs trusted documents by id only: send `documentId` (or "
                "extensions.persistedQuery.sha256Hash) instead of the document text."
            )
            raise DocumentIdRequired(msg)
        self._count(_UNKNOWN, "", "not_in_list")
        msg = "This document is not in the gateway's trusted documents (safelist)."
        raise DocumentNotInList(msg)

    def _hit(
        self, document: TrustedDocument, params: dict[str, Any]
    ) -> tuple[GraphQLRequest, CompiledDocument]:
        variables = params.get("variables")
        operation_name = params.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("`variables` must be an object.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequest("`operationName` must be a string.")
        self._count(document.id, document.name, "hit")
        return GraphQLRequest(document.text, variables, operation_name), document.compiled

    def _count(self, document_id: str, name: str, outcome: str) -> None:
        key = (document_id, name, outcome)
        self._counts[key] = self._counts.get(key, 0) + 1

    def reload_if_changed(self) -> bool:
        """Load the manifest again if its file changed; True if a new one is in use."""
        current = self._manifest
        if current is None:
            return False
        try:
            signature = _signature(current.path)
        except OSError as error:
            _log.error("trusted documents: cannot stat %s (%s)", current.path, error.strerror)
            return False
        if signature == current.signature:
            return False
        try:
            fresh = load_manifest(current.path, self._cache.compile_uncached)
        except ManifestError as error:
            # Keep serving the old manifest; do not retry until the file changes again.
            self._manifest = Manifest(current.path, current.by_id, current.by_text, signature)
            _log.error("trusted documents: reload refused, keeping %d: %s", len(current), error)
            return False
        self._manifest = fresh
        _log.info(
            "trusted documents: reloaded %s, %d documents (was %d)",
            fresh.path,
            len(fresh),
            len(current),
        )
        return True

    @contextlib.asynccontextmanager
    async def watching(self, interval: float) -> AsyncIterator[None]:
        """Reload the manifest when its file changes, for as long as the block runs."""
        if self._manifest is None or interval <= 0:
            yield
            return
        task = asyncio.create_task(self.watch(interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def watch(self, interval: float) -> None:
        """Poll the manifest file every `interval` seconds (until cancelled)."""
        while True:
            await asyncio.sleep(interval)
            # Compiling a manifest is CPU work: off the event loop, swapped in whole.
            await asyncio.to_thread(self.reload_if_changed)

    def collector(self) -> Collector:
        """A Prometheus collector of hits and misses by document id (read at scrape time)."""
        return _Coverage(self)

    def counts(self) -> Mapping[tuple[str, str, str], int]:
        """Requests by (document id, operation name, outcome); misses have an empty id."""
        return dict(self._counts)


def _requested_id(params: Mapping[str, object]) -> tuple[str | None, bool]:
    """(the id the request names, whether it came from APQ's extension)."""
    document_id = params.get("documentId")
    if document_id is not None:
        if not isinstance(document_id, str):
            raise BadRequest("`documentId` must be a string.")
        return _normalized(document_id), False
    extensions = params.get("extensions")
    if extensions is None:
        return None, False
    if not isinstance(extensions, dict):
        raise BadRequest("`extensions` must be an object.")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None, False
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadRequest("Unsupported persistedQuery version (only 1 is).")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str):
        raise BadRequest("persistedQuery.sha256Hash must be a string.")
    return _normalized(sha), True


class _Coverage(Collector):
    def __init__(self, documents: TrustedDocuments) -> None:
        self._documents = documents

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gateway_trusted_documents_requests",
            "Requests by trusted document id and outcome (hit, not_found, not_in_list, "
            "id_required); misses carry an empty id.",
            labels=["document_id", "operation", "outcome"],
        )
        for (document_id, name, outcome), count in sorted(self._documents.counts().items()):
            requests.add_metric([document_id, name, outcome], count)
        yield requests
        manifest = self._documents.manifest
        loaded = GaugeMetricFamily(
            "gateway_trusted_documents_loaded", "Documents in the trusted documents manifest."
        )
        loaded.add_metric([], len(manifest) if manifest is not None else 0)
        yield loaded
