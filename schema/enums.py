"""Status enums. Each has UNKNOWN, so a status Medusa adds later never breaks a response."""

from __future__ import annotations

import enum
from typing import TypeVar

import strawberry

__all__ = ["PaymentCollectionStatus", "PaymentSessionStatus", "to_enum"]


@strawberry.enum(description="The payment collection's status.")
class PaymentCollectionStatus(enum.Enum):
    """Mirror of Medusa's PaymentCollectionStatus (values are Medusa's strings)."""

    NOT_PAID = "not_paid"
    AWAITING = "awaiting"
    AUTHORIZED = "authorized"
    PARTIALLY_AUTHORIZED = "partially_authorized"
    CANCELED = "canceled"
    FAILED = "failed"
    PARTIALLY_CAPTURED = "partially_captured"
    COMPLETED = "completed"
    UNKNOWN = strawberry.enum_value(
        "unknown", description="A status this gateway does not know yet (newer Medusa)."
    )


@strawberry.enum(description="The payment session's status.")
class PaymentSessionStatus(enum.Enum):
    """Mirror of Medusa's PaymentSessionStatus (values are Medusa's strings)."""

    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PENDING = "pending"
    REQUIRES_MORE = "requires_more"
    ERROR = "error"
    CANCELED = "canceled"
    UNKNOWN = strawberry.enum_value(
        "unknown", description="A status this gateway does not know yet (newer Medusa)."
    )


E = TypeVar("E", bound=enum.Enum)


def to_enum(enum_type: type[E], value: object) -> E | None:
    """Medusa's string -> enum member; None stays None; anything unrecognised -> UNKNOWN."""
    if value is None:
        return None
    try:
        return enum_type(value)
    except ValueError:
        return enum_type["UNKNOWN"]
