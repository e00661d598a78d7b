"""The gateway's one exception tree: every failure a client can see has one stable code.

    GatewayError                      the root: `code`, `retryable`, `message`, `extensions()`
    ├── RequestError                  BAD_USER_INPUT: the request is wrong; nothing was sent
    │   ├── PublishableKeyRequired        PUBLISHABLE_KEY_REQUIRED
    │   ├── ProviderNotInRegion           BAD_USER_INPUT, as Medusa answers it (nothing created)
    │   ├── JSONTooComplex                BAD_USER_INPUT: JSON nested too deeply (jsonio)
    │   ├── NonFiniteNumber               BAD_USER_INPUT: NaN, Infinity, 1e400 (jsonio)
    │   ├── DocumentRejected              the GraphQL document (gateway.errors)
    │   │   ├── ParseFailed                   GRAPHQL_PARSE_FAILED
    │   │   └── ValidationFailed              GRAPHQL_VALIDATION_FAILED
    │   └── RequestProblem                the HTTP request, refused with its status (gateway.errors)
    │       ├── BadRequest                    BAD_REQUEST
    │       ├── CorsNotAllowed                CORS_NOT_ALLOWED (a refused browser preflight)
    │       ├── CsrfRefused                   CSRF_PREVENTION (no header forcing a preflight)
    │       ├── PersistedQueryNotFound        PERSISTED_QUERY_NOT_FOUND (an APQ hash)
    │       ├── UnknownDocumentId             PERSISTED_QUERY_NOT_FOUND (a trusted document id)
    │       ├── DocumentNotInList             PERSISTED_QUERY_NOT_IN_LIST (mode safelist)
    │       ├── DocumentIdRequired            PERSISTED_QUERY_ID_REQUIRED (mode require-id)
    │       └── RequestOverLimit              OPERATION_LIMIT (also an OperationLimitExceeded)
    ├── OperationLimitExceeded        OPERATION_LIMIT: over a limit; what it refused was never sent
    │   ├── ReadBudgetExceeded            GATEWAY_MAX_BACKEND_READS, at run time
    │   └── ExpansionLimitExceeded        GATEWAY_MAX_RELATION_EXPANSIONS, at run time
    ├── Overloaded                    OVERLOADED: shed before it started (gateway.errors)
    ├── IdempotencyKeyReused          IDEMPOTENCY_KEY_REUSED: a key reused (schema.guards)
    ├── IdempotencyInProgress         IDEMPOTENCY_IN_PROGRESS: the first is still running
    ├── IdempotencyUnavailable        IDEMPOTENCY_UNAVAILABLE: the key store cannot be reached
    ├── RateLimited                   RATE_LIMITED (+ retryAfter): over a configured rate
    ├── FieldNotExposedError          FIELD_NOT_EXPOSED: the backend cannot return it (schema.build)
    ├── BackendRejected               Medusa answered 4xx/5xx (built by `from_medusa`)
    │   ├── PUBLISHABLE_KEY_INVALID / BAD_USER_INPUT / FORBIDDEN / UNAUTHENTICATED
    │   └── NOT_FOUND / CONFLICT / PAYMENT_AUTHORIZATION_FAILED / BACKEND_ERROR
    ├── BackendUnavailable            BACKEND_UNAVAILABLE: the request provably never reached Medusa
    ├── OutcomeUnknown                sent, then no whole answer: it may or may not have acted
    │   ├── BackendTimeout                BACKEND_TIMEOUT: no answer in time
    │   └── BackendConnectionLost         BACKEND_CONNECTION_LOST: the connection broke
    ├── BackendProtocolError          BACKEND_ERROR: Medusa answered something that is not its API
    │   ├── BackendMisconfigured          BACKEND_ERROR: a 404/405 that is not Medusa's (wrong URL)
    │   └── BackendDataError              BACKEND_ERROR: a value that does not fit the schema
    ├── InternalError                 INTERNAL_SERVER_ERROR: a bug, masked (gateway.errors)
    └── SettingsError                 INVALID_SETTINGS: refused at start-up (gateway.config)
        └── ManifestError                 INVALID_SETTINGS: a bad manifest (trusted_documents)

`retryable` means one thing everywhere: **the same request, unchanged, may succeed later, and
sending it again cannot repeat an effect of the first one**. So it is true where nothing was
sent (BACKEND_UNAVAILABLE, OVERLOADED), false where the request itself is refused (it will be
refused again) and false where a mutation's outcome is unknown, unless the request was only a
read or carried an idempotency key (`OutcomeUnknown.for_keyed_request()`). The idempotency
guard also sets `key_released` on any failure that released the request's key (a 5xx, an
unknown outcome, a failure before sending): the same keyed request may then be repeated, so
`extensions.retryable` is true.

The root lives in the bottom layer so every layer can subclass it; the subclasses above live
where they are raised (the module named in brackets), and `format_error` renders any of them
the same way. Foreign errors (httpx's) are translated in exactly one place,
`medusa_client.client`; this module only knows Medusa's `{type, code?, message}` envelope.
Nothing here ever carries a header value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Self

__all__ = [
    "BackendConnectionLost",
    "BackendDataError",
    "BackendMisconfigured",
    "BackendProtocolError",
    "BackendRejected",
    "BackendTimeout",
    "BackendUnavailable",
    "ExpansionLimitExceeded",
    "GatewayError",
    "OperationLimitExceeded",
    "OutcomeUnknown",
    "ProviderNotInRegion",
    "PublishableKeyRequired",
    "ReadBudgetExceeded",
    "RequestError",
]


class GatewayError(Exception):
    """Base of every error the gateway reports on purpose (never masked)."""

    #: The stable `extensions.code` (a class default; BackendRejected sets it per instance).
    code: str = "INTERNAL_SERVER_ERROR"
    #: The same request, unchanged, may succeed later and cannot repeat an effect of this one.
    retryable: bool = False
    #: Set by the idempotency guard when this failure released the request's key: the same
    #: keyed request may then be repeated (an outcome-unknown failure becomes retryable).
    key_released: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, Any]:
        """The `errors[].extensions` object for this error."""
        return {"code": self.code, "retryable": self.retryable or self.key_released}

    @classmethod
    def codes(cls) -> frozenset[str]:
        """Every `code` an instance of this very class can carry (for the docs' table)."""
        return frozenset({cls.code})


class RequestError(GatewayError):
    """The client's request cannot be forwarded as it is; the backend was not called."""

    code = "BAD_USER_INPUT"


class PublishableKeyRequired(RequestError):
    """Neither the client nor the gateway's settings supply a publishable API key."""

    code = "PUBLISHABLE_KEY_REQUIRED"

    def __init__(self) -> None:
        super().__init__(
            "A Medusa publishable API key is required: send the `x-publishable-api-key` header "
            "or configure GATEWAY_PUBLISHABLE_KEY."
        )


class ProviderNotInRegion(RequestError):
    """The cart's region does not offer the provider: Medusa's own refusal, made first.

    Medusa 2.21 checks the region only after the payment collection exists, so asking it would
    leave a new, empty collection behind; the gateway checks before creating anything and
    answers what Medusa would (same message, `invalid_data`).
    """

    code = "BAD_USER_INPUT"

    def __init__(self, provider_id: str, region_id: str) -> None:
        super().__init__(
            f"Payment provider {provider_id} is not enabled in the cart's region {region_id}."
        )

    def extensions(self) -> dict[str, Any]:
        """The shape of Medusa's own 400 `invalid_data` answer to this input."""
        return {**super().extensions(), "medusa": {"status": 400, "type": "invalid_data"}}


class OperationLimitExceeded(GatewayError):
    """A limit was reached; what it refused was never sent (and would be refused again)."""

    code = "OPERATION_LIMIT"


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


class OutcomeUnknown(GatewayError):
    """The request was sent, then no whole answer came: it may or may not have taken effect.

    Not retryable by default: resending a payment-session call could create a second session.
    It is when the request only read (`read_only`), or when it carried an idempotency key the
    gateway honours (`for_keyed_request()`), since then a resend cannot repeat an effect. How
    to check the outcome is the caller's to add, in its clients' language (the schema layer
    names the GraphQL query); this layer knows no GraphQL.
    """

    #: What happened, up to the point where the outcome became unknown.
    happened: ClassVar[str]

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__(f"{self.happened}, so its outcome is unknown.")
        self.retryable = read_only

    def for_keyed_request(self) -> Self:
        """This error, marked retryable: the request carried an idempotency key."""
        self.retryable = True
        return self


class BackendTimeout(OutcomeUnknown):
    """The request was sent but no answer came in time: it may or may not have taken effect."""

    code = "BACKEND_TIMEOUT"
    happened = "The Medusa backend did not answer in time. The request was sent"


class BackendConnectionLost(OutcomeUnknown):
    """The connection broke after the request was sent: the outcome is unknown."""

    code = "BACKEND_CONNECTION_LOST"
    happened = "The connection to the Medusa backend broke after the request was sent"


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


class BackendDataError(BackendProtocolError):
    """A value in Medusa's answer does not fit the schema (graphql-core's own checks saw it)."""

    def __init__(self, message: str) -> None:
        GatewayError.__init__(self, message)
        self.status = None


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
    """Medusa answered with an error envelope; `code` is derived from its status and type.

    Never retryable: Medusa refused this request (a 5xx may still have changed something).
    """

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
        return {**super().extensions(), "medusa": medusa}

    @classmethod
    def codes(cls) -> frozenset[str]:
        """Every code `from_medusa` can derive."""
        fixed = {"BACKEND_ERROR", "PUBLISHABLE_KEY_INVALID"}
        return frozenset({*_STATUS_CODES.values(), *_TYPE_CODES.values(), *fixed})

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
