"""The gateway's error hierarchy: every failure a client can see has one stable code.

    GatewayError                      extensions.code is the class's `code`
    ├── RequestError                  the client's request is wrong; nothing was sent
    │   └── PublishableKeyRequired        PUBLISHABLE_KEY_REQUIRED
    ├── BackendRejected               Medusa answered 4xx/5xx (built by `from_medusa`)
    │   ├── PUBLISHABLE_KEY_INVALID / BAD_USER_INPUT / FORBIDDEN / UNAUTHENTICATED
    │   └── NOT_FOUND / CONFLICT / PAYMENT_AUTHORIZATION_FAILED / BACKEND_ERROR
    ├── BackendUnavailable            BACKEND_UNAVAILABLE: the request provably never reached Medusa
    ├── BackendTimeout                BACKEND_TIMEOUT: sent, no answer in time, outcome unknown
    ├── BackendConnectionLost         BACKEND_CONNECTION_LOST: sent, then the connection broke
    └── BackendProtocolError          BACKEND_ERROR: Medusa answered something that is not its API
        └── BackendMisconfigured          BACKEND_ERROR: a 404/405 that is not Medusa's (wrong URL)

Foreign errors (httpx's) are translated in exactly one place, `medusa_client.client`; this module
only knows Medusa's `{type, code?, message}` envelope. Nothing here ever carries a header value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

__all__ = [
    "BackendConnectionLost",
    "BackendMisconfigured",
    "BackendProtocolError",
    "BackendRejected",
    "BackendTimeout",
    "BackendUnavailable",
    "ExpansionLimitExceeded",
    "GatewayError",
    "OperationLimitExceeded",
    "PublishableKeyRequired",
    "ReadBudgetExceeded",
    "RequestError",
]


class GatewayError(Exception):
    """Base of every error the gateway reports on purpose (never masked)."""

    #: The stable `extensions.code` (a class default; BackendRejected sets it per instance).
    code: str = "INTERNAL_SERVER_ERROR"
    #: Whether repeating the operation cannot duplicate a side effect at the backend.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, Any]:
        """The `errors[].extensions` object for this error."""
        return {"code": self.code, "retryable": self.retryable}


class RequestError(GatewayError):
    """The client's request cannot be forwarded as it is; the backend was not called."""

    code = "BAD_USER_INPUT"
    retryable = True


class PublishableKeyRequired(RequestError):
    """Neither the client nor the gateway's settings supply a publishable API key."""

    code = "PUBLISHABLE_KEY_REQUIRED"

    def __init__(self) -> None:
        super().__init__(
            "A Medusa publishable API key is required: send the `x-publishable-api-key` header "
            "or configure GATEWAY_PUBLISHABLE_KEY."
        )


class OperationLimitExceeded(GatewayError):
    """A limit only execution can see was reached; what it refused was never sent."""

    code = "OPERATION_LIMIT"
    retryable = True


class ReadBudgetExceeded(OperationLimitExceeded):
    """An operation would read the backend more often than GATEWAY_MAX_BACKEND_READS allows.

    Checked at run time, where the static cost cannot see: a federation `_entities` call with
    thousands of representations would otherwise fan out into thousands of backend reads.
    """

    def __init__(self, wanted: int, left: int) -> None:
        super().__init__(
            f"This operation would make {wanted} more backend reads, but only {left} of "
            "GATEWAY_MAX_BACKEND_READS are left: ask for fewer carts or regions at once."
        )


class ExpansionLimitExceeded(OperationLimitExceeded):
    """One backend call would expand more relations than GATEWAY_MAX_RELATION_EXPANSIONS.

    Each relation in `fields` is a join or a follow-up query at Medusa: the cost a selection
    imposes on the backend, bounded before the call is sent (open/custom profiles can reach
    payments -> refunds -> refund_reason, captures, sessions, providers in one call).
    """

    def __init__(self, relations: int, limit: int) -> None:
        super().__init__(
            f"This selection would make the backend expand {relations} relations in one call; "
            f"the maximum is {limit} (GATEWAY_MAX_RELATION_EXPANSIONS): select fewer nested lists."
        )


class BackendUnavailable(GatewayError):
    """Medusa could not be reached; the request was never sent, so a retry is safe."""

    code = "BACKEND_UNAVAILABLE"
    retryable = True

    def __init__(self, reason: str) -> None:
        super().__init__(f"The Medusa backend is unavailable ({reason}); nothing was sent.")


class BackendTimeout(GatewayError):
    """The request was sent but no answer came in time: it may or may not have taken effect."""

    code = "BACKEND_TIMEOUT"

    def __init__(self) -> None:
        # How to check the outcome is the caller's to say, in its clients' language (the
        # schema layer names the GraphQL query); this layer knows no GraphQL.
        super().__init__(
            "The Medusa backend did not answer in time. The request was sent, so its outcome "
            "is unknown."
        )


class BackendConnectionLost(GatewayError):
    """The connection broke after the request was sent: the outcome is unknown."""

    code = "BACKEND_CONNECTION_LOST"

    def __init__(self) -> None:
        super().__init__(
            "The connection to the Medusa backend broke after the request was sent, so its "
            "outcome is unknown."
        )


class BackendProtocolError(GatewayError):
    """Medusa answered with something that is not its JSON API (a proxy page, garbage)."""

    code = "BACKEND_ERROR"

    def __init__(self, status: int | None, detail: str) -> None:
        # `status` is None when the answer could not even be read (undecodable, redirect loop).
        where = detail if status is None else f"HTTP {status}: {detail}"
        super().__init__(f"The Medusa backend sent an unexpected answer ({where}).")
        self.status = status

    def extensions(self) -> dict[str, Any]:
        """Add the HTTP status when known: useful to operators, reveals nothing secret."""
        if self.status is None:
            return super().extensions()
        return {**super().extensions(), "medusa": {"status": self.status}}


class BackendMisconfigured(BackendProtocolError):
    """The backend URL answers, but not as Medusa: a 404/405 without Medusa's JSON error.

    Seen when GATEWAY_MEDUSA_URL points at another server or a wrong path prefix; reporting it
    as NOT_FOUND would send the client looking for a missing object. The log names the setting.
    """

    def __init__(self, status: int) -> None:
        super().__init__(status, "not Medusa's API")
        self.message = (
            f"The gateway's backend is misconfigured: it answered HTTP {status} with something "
            "that is not Medusa's API. The gateway's log names the setting to check."
        )
        self.args = (self.message,)


_KEY_MESSAGE_MARKER: Final = "publishable"

#: Medusa status -> our code, when the envelope's `type` does not decide it.
_STATUS_CODES: Final[Mapping[int, str]] = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "BAD_USER_INPUT",  # the client's data exceeds Medusa's body limit
    422: "BAD_USER_INPUT",
}

#: Medusa error `type` -> our code, where the type is more precise than the status.
_TYPE_CODES: Final[Mapping[str, str]] = {
    "invalid_data": "BAD_USER_INPUT",
    "not_allowed": "FORBIDDEN",
    "payment_authorization_error": "PAYMENT_AUTHORIZATION_FAILED",
    "duplicate_error": "CONFLICT",
}


class BackendRejected(GatewayError):
    """Medusa answered with an error envelope; `code` is derived from its status and type."""

    def __init__(
        self,
        *,
        code: str,
        status: int,
        medusa_type: str | None,
        medusa_code: str | None,
        message: str,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.medusa_type = medusa_type
        self.medusa_code = medusa_code

    def extensions(self) -> dict[str, Any]:
        """Code plus Medusa's own status/type/code, so clients can see what the backend said."""
        medusa: dict[str, Any] = {"status": self.status}
        if self.medusa_type is not None:
            medusa["type"] = self.medusa_type
        if self.medusa_code is not None:
            medusa["code"] = self.medusa_code
        return {"code": self.code, "retryable": False, "medusa": medusa}

    @classmethod
    def from_medusa(cls, status: int, body: object) -> BackendRejected:
        """Translate Medusa's `{type, code?, message}` envelope (any status >= 400)."""
        envelope = body if isinstance(body, Mapping) else {}
        medusa_type = _str_or_none(envelope.get("type"))
        medusa_code = _str_or_none(envelope.get("code"))
        medusa_message = _str_or_none(envelope.get("message"))
        code = _classify(status, medusa_type, medusa_message)
        if status >= 500 and medusa_type is not None:
            # 5xx messages are Medusa's internals ("An unknown error occurred." at best).
            message = f"The Medusa backend failed (HTTP {status}, {medusa_type})."
        elif status >= 500:
            # Not Medusa's JSON envelope: a proxy or load balancer answered for it.
            message = (
                f"The Medusa backend failed (HTTP {status}); the answer is not Medusa's own "
                "error, so a proxy or load balancer in front of it may have answered."
            )
        else:
            message = medusa_message or f"The Medusa backend rejected the request (HTTP {status})."
        return cls(
            code=code,
            status=status,
            medusa_type=medusa_type,
            medusa_code=medusa_code,
            message=message,
        )


def _classify(status: int, medusa_type: str | None, message: str | None) -> str:
    if status >= 500:
        return "BACKEND_ERROR"
    if medusa_type == "not_allowed" and message and _KEY_MESSAGE_MARKER in message.lower():
        # Medusa answers both "missing" and "unknown/revoked" keys with 400 not_allowed; we only
        # forward a request when a key is present, so at this point the key was rejected.
        return "PUBLISHABLE_KEY_INVALID"
    if medusa_type is not None and medusa_type in _TYPE_CODES:
        return _TYPE_CODES[medusa_type]
    return _STATUS_CODES.get(status, "BACKEND_ERROR")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
