"""The GraphQL object types: the whole graph of Medusa's payment-collection answer.

Every field but `id` is nullable on purpose: a backend profile may be unable to fetch a
field, and the gateway then answers null *with* a FIELD_NOT_EXPOSED error for that field
alone, keeping the rest of the data (a non-null field would null its whole parent).
Descriptions come from Medusa's OpenAPI spec.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from schema.enums import PaymentCollectionStatus, PaymentSessionStatus
from schema.mapping import back_reference, column, link, relation, root
from schema.scalars import JSON, DateTime

__all__ = [
    "Capture",
    "CreatePaymentSessionPayload",
    "Payment",
    "PaymentCollection",
    "PaymentProvider",
    "PaymentSession",
    "Refund",
    "RefundReason",
]

#: Federation: other subgraphs may reference and extend these types by id. Not resolvable here:
#: Medusa's store API cannot fetch a payment collection (or its rows) by id alone.
_ENTITY = [Key(fields=FieldSet("id"), resolvable=False)]


@strawberry.type(
    description="A payment provider enabled for a payment collection.", directives=_ENTITY
)
class PaymentProvider:
    """Medusa's StorePaymentProvider."""

    id: strawberry.ID = column("id", "The payment provider's ID.")
    is_enabled: bool | None = column("is_enabled", "Whether the provider is enabled.")


@strawberry.type(description="The reason given for a refund.", directives=_ENTITY)
class RefundReason:
    """Medusa's BaseRefundReason."""

    id: strawberry.ID = column("id", "The refund reason's ID.")
    label: str | None = column("label", "The refund reason's label.")
    code: str | None = column("code", "The refund reason's code.")
    description: str | None = column("description", "The refund reason's description.")
    metadata: JSON | None = column(
        "metadata", "The refund reason's metadata, can hold custom key-value pairs."
    )
    created_at: DateTime | None = column("created_at", "The date the refund reason was created.")
    updated_at: DateTime | None = column("updated_at", "The date the refund reason was updated.")


@strawberry.type(description="The details of a captured payment.", directives=_ENTITY)
class Capture:
    """Medusa's BaseCapture."""

    id: strawberry.ID = column("id", "The payment capture's ID.")
    amount: float | None = column("amount", "The captured amount.")
    created_at: DateTime | None = column("created_at", "The date the capture was created.")
    created_by: str | None = column("created_by", "The ID of the user that captured the payment.")
    payment: Annotated[Payment, strawberry.lazy("schema.types")] | None = back_reference(
        "The payment this capture belongs to."
    )


@strawberry.type(description="The refund's details.", directives=_ENTITY)
class Refund:
    """Medusa's BaseRefund."""

    id: strawberry.ID = column("id", "The refund's ID.")
    amount: float | None = column("amount", "The refund's amount.")
    created_at: DateTime | None = column("created_at", "The date the refund was created.")
    created_by: str | None = column("created_by", "The ID of the user that created the refund.")
    note: str | None = column("note", "More details about the refund.")
    refund_reason_id: str | None = column("refund_reason_id", "The ID of the refund reason.")
    refund_reason: RefundReason | None = relation(
        "refund_reason", "The refund reason's details.", many=False
    )
    payment: Annotated[Payment, strawberry.lazy("schema.types")] | None = back_reference(
        "The payment this refund belongs to."
    )


@strawberry.type(description="The payment's details.", directives=_ENTITY)
class Payment:
    """Medusa's BasePayment."""

    id: strawberry.ID = column("id", "The payment's ID.")
    amount: float | None = column("amount", "The payment's amount.")
    currency_code: str | None = column("currency_code", "The payment's currency code.")
    provider_id: str | None = column(
        "provider_id", "The ID of the payment provider used to process this payment."
    )
    authorized_amount: float | None = column(
        "authorized_amount", "The amount authorized of the payment."
    )
    data: JSON | None = column(
        "data", "The payment's data, useful for processing by the payment provider."
    )
    created_at: DateTime | None = column("created_at", "The date the payment was created.")
    updated_at: DateTime | None = column("updated_at", "The date the payment was updated.")
    captured_at: DateTime | None = column("captured_at", "The date the payment was captured.")
    canceled_at: DateTime | None = column("canceled_at", "The date the payment was canceled.")
    captured_amount: float | None = column("captured_amount", "The captured amount of the payment.")
    refunded_amount: float | None = column("refunded_amount", "The refunded amount of the payment.")
    captures: list[Capture] | None = relation(
        "captures", "The details of payment captures.", many=True
    )
    refunds: list[Refund] | None = relation("refunds", "The details of payment refunds.", many=True)
    payment_collection: Annotated[PaymentCollection, strawberry.lazy("schema.types")] | None = (
        back_reference("The payment collection this payment belongs to.")
    )
    payment_session: Annotated[PaymentSession, strawberry.lazy("schema.types")] | None = link(
        "payment_sessions",
        ("payments.payment_session_id",),
        "The payment session this payment was created from.",
        key="payment_session_id",
    )


@strawberry.type(description="The payment session's details.", directives=_ENTITY)
class PaymentSession:
    """Medusa's StorePaymentSession."""

    id: strawberry.ID = column("id", "The payment session's ID.")
    amount: float | None = column("amount", "The payment session's amount.")
    currency_code: str | None = column("currency_code", "The payment session's currency code.")
    provider_id: str | None = column(
        "provider_id", "The ID of the payment provider processing this session."
    )
    data: JSON | None = column(
        "data",
        "The payment session's data, useful for the payment provider processing the payment.",
    )
    status: PaymentSessionStatus | None = column("status", "The payment session's status.")
    context: JSON | None = column(
        "context",
        "The context around the payment, such as the customer's details. Holds personal data "
        "when a customer is logged in: select it only when needed.",
    )
    authorized_at: DateTime | None = column(
        "authorized_at", "The date the payment session was authorized."
    )
    payment_collection: Annotated[PaymentCollection, strawberry.lazy("schema.types")] | None = (
        back_reference("The payment collection this session belongs to.")
    )
    payment: Payment | None = link(
        "payments",
        ("payments.payment_session_id",),
        "The payment created from this session, once it is authorized.",
        key="id",
        target_key="payment_session_id",
    )


@strawberry.type(description="The payment collection's details.", directives=_ENTITY)
class PaymentCollection:
    """Medusa's StorePaymentCollection."""

    id: strawberry.ID = column("id", "The payment collection's ID.")
    currency_code: str | None = column("currency_code", "The payment collection's currency code.")
    amount: float | None = column("amount", "The total amount to be paid.")
    status: PaymentCollectionStatus | None = column("status", "The payment collection's status.")
    payment_providers: list[PaymentProvider] | None = relation(
        "payment_providers",
        "The payment providers used to process the collection's payments and sessions.",
        many=True,
    )
    authorized_amount: float | None = column(
        "authorized_amount", "The total authorized amount of the collection's payments."
    )
    captured_amount: float | None = column(
        "captured_amount", "The total captured amount of the collection's payments."
    )
    refunded_amount: float | None = column(
        "refunded_amount", "The total refunded amount of the collection's payments."
    )
    completed_at: DateTime | None = column(
        "completed_at", "The date the payment collection was completed."
    )
    created_at: DateTime | None = column(
        "created_at", "The date the payment collection was created."
    )
    updated_at: DateTime | None = column(
        "updated_at", "The date the payment collection was updated."
    )
    metadata: JSON | None = column(
        "metadata", "The payment collection's metadata, can hold custom key-value pairs."
    )
    payment_sessions: list[PaymentSession] | None = relation(
        "payment_sessions", "The payment collection's payment sessions.", many=True
    )
    payments: list[Payment] | None = relation(
        "payments", "The payment collection's payments.", many=True
    )


@strawberry.type(description="What createPaymentSession returns.")
class CreatePaymentSessionPayload:
    """The collection after the call, and the session the call created."""

    payment_collection: PaymentCollection = root(
        "The payment collection after the call: its previous sessions are replaced."
    )
    payment_session: PaymentSession | None = link(
        "payment_sessions",
        ("payment_sessions.id", "payment_sessions.provider_id"),
        "The payment session this call created.",
    )
