"""The server's errors: the document, the HTTP request, load shedding and masked bugs.

They hang under the one tree drawn in `medusa_client.errors` (its root `GatewayError` is
importable by every layer), so `graphql_http.format_error` renders them like any other.
"""

from __future__ import annotations

from typing import Any, Final

import gateway.config
import medusa_client.jsonio
import schema.build
from medusa_client.errors import GatewayError, OperationLimitExceeded, RequestError

#: Imported for their subclasses of the tree, so `error_classes()` sees every layer's.
_RAISERS: Final = (gateway.config, medusa_client.jsonio, schema.build)

__all__ = [
    "BadRequest",
    "CorsNotAllowed",
    "CsrfRefused",
    "DocumentIdRequired",
    "DocumentNotInList",
    "DocumentRejected",
    "InternalError",
    "Overloaded",
    "ParseFailed",
    "PersistedQueryNotFound",
    "RequestOverLimit",
    "RequestProblem",
    "UnknownDocumentId",
    "ValidationFailed",
    "error_classes",
]


class DocumentRejected(RequestError):
    """The GraphQL document itself is refused before execution."""


class ParseFailed(DocumentRejected):
    """The query text is not GraphQL."""

    code = "GRAPHQL_PARSE_FAILED"


class ValidationFailed(DocumentRejected):
    """The document does not fit the schema (an unknown field, a wrong argument...)."""

    code = "GRAPHQL_VALIDATION_FAILED"


class RequestProblem(RequestError):
    """The HTTP request is not a GraphQL request this server runs: answered with `status`."""

    #: The HTTP status of the answer (GraphQL over HTTP); each subclass has its usual one.
    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class BadRequest(RequestProblem):
    """Malformed parameters, an unknown operation, a wrong media type (400, 404, 415...)."""

    code = "BAD_REQUEST"


class CorsNotAllowed(RequestProblem):
    """A browser's cross-origin preflight the settings refuse (GATEWAY_CORS_ORIGINS)."""

    code = "CORS_NOT_ALLOWED"
    status = 403


class PersistedQueryNotFound(RequestProblem):
    """An Apollo APQ hash this server does not know: the client resends it with the query."""

    code = "PERSISTED_QUERY_NOT_FOUND"
    status = 200  # Apollo clients look for exactly this message and code in a 200

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class CsrfRefused(RequestProblem):
    """A GET or simple-content-type POST without a CORS-preflight header (docs/csrf.md)."""

    code = "CSRF_PREVENTION"


class UnknownDocumentId(RequestProblem):
    """A `documentId` the trusted documents manifest does not hold (docs/trusted-documents.md)."""

    code = "PERSISTED_QUERY_NOT_FOUND"


class DocumentNotInList(RequestProblem):
    """Mode `safelist`: a raw document that is not in the trusted documents manifest."""

    code = "PERSISTED_QUERY_NOT_IN_LIST"


class DocumentIdRequired(RequestProblem):
    """Mode `require-id`: a raw document; only trusted documents' ids run."""

    code = "PERSISTED_QUERY_ID_REQUIRED"


class RequestOverLimit(RequestProblem, OperationLimitExceeded):
    """The request is over a size limit (body, query, batch): refused before parsing it all."""

    code = "OPERATION_LIMIT"
    status = 413


class Overloaded(GatewayError):
    """Shed before it started (no slot free in time, or shutting down): retry shortly."""

    code = "OVERLOADED"
    retryable = True
    status = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"The gateway is overloaded ({reason}); retry shortly.")


class InternalError(GatewayError):
    """A bug: the client sees this and the request id, the log has the traceback."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, request_id: str) -> None:
        super().__init__("Internal server error.")
        self.request_id = request_id

    def extensions(self) -> dict[str, Any]:
        """Code and flag, plus the request id to quote in a bug report."""
        return {**super().extensions(), "requestId": self.request_id}


def error_classes() -> list[type[GatewayError]]:
    """The whole tree, root first, from every layer (what docs/errors.md's table lists)."""
    found: list[type[GatewayError]] = []
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        cls = pending.pop(0)
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found
