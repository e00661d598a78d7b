"""The errors a payment guard answers with; each is a GraphQL error on the mutation's field.

    GatewayError (medusa_client.errors)
    ├── IdempotencyKeyReused       IDEMPOTENCY_KEY_REUSED: same key, different request
    ├── IdempotencyInProgress      IDEMPOTENCY_IN_PROGRESS: the first request is still running
    ├── IdempotencyUnavailable     IDEMPOTENCY_UNAVAILABLE: the key store cannot be reached
    └── RateLimited                RATE_LIMITED (+ retryAfter): over a configured rate

None of them reached the backend, so each says exactly that.
"""

from __future__ import annotations

import math
from typing import Any

from medusa_client.errors import GatewayError

__all__ = [
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "IdempotencyUnavailable",
    "RateLimited",
]


class IdempotencyKeyReused(GatewayError):
    """The key already belongs to a different request (mutation, input or selection)."""

    code = "IDEMPOTENCY_KEY_REUSED"
    retryable = False

    def __init__(self) -> None:
        super().__init__(
            "This idempotency key was already used for a different request (another mutation, "
            "input or selection). Use a new key for a new request; nothing was sent."
        )


class IdempotencyInProgress(GatewayError):
    """A request with this key is still running; it was waited for, up to a bound."""

    code = "IDEMPOTENCY_IN_PROGRESS"
    retryable = True

    def __init__(self) -> None:
        super().__init__(
            "A request with this idempotency key is still in progress; retry it shortly to get "
            "its answer. Nothing was sent."
        )


class IdempotencyUnavailable(GatewayError):
    """The key store is down: a keyed payment call is refused rather than made unprotected."""

    code = "IDEMPOTENCY_UNAVAILABLE"
    retryable = True

    def __init__(self) -> None:
        super().__init__(
            "The idempotency store is unavailable, so this keyed request was not sent (it could "
            "not be protected against duplicates). Retry shortly with the same key."
        )


class RateLimited(GatewayError):
    """Over a configured rate; `retry_after` seconds until the next request is allowed."""

    code = "RATE_LIMITED"
    retryable = True

    def __init__(self, retry_after: float, what: str = "payment mutations") -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"Too many {what} from this caller; retry after {self.retry_after} s. Nothing was sent."
        )

    def extensions(self) -> dict[str, Any]:
        """Add `retryAfter` (whole seconds), as the `Retry-After` header says."""
        return {**super().extensions(), "retryAfter": self.retry_after}
