from __future__ import annotations

import pytest

from schema.enums import PaymentCollectionStatus, PaymentSessionStatus, to_enum
from tests.conftest import FakeMedusa, GatewayFactory, mutation


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not_paid", PaymentCollectionStatus.NOT_PAID),
        ("partially_captured", PaymentCollectionStatus.PARTIALLY_CAPTURED),
        ("brand_new_status", PaymentCollectionStatus.UNKNOWN),
        ("", PaymentCollectionStatus.UNKNOWN),
        (None, None),
    ],
)
def test_collection_statuses_map_and_never_break(
    value: str | None, expected: PaymentCollectionStatus | None
) -> None:
    assert to_enum(PaymentCollectionStatus, value) is expected


def test_session_status_unknown_value_is_unknown() -> None:
    assert to_enum(PaymentSessionStatus, "requires_more") is PaymentSessionStatus.REQUIRES_MORE
    assert to_enum(PaymentSessionStatus, 42) is PaymentSessionStatus.UNKNOWN


def test_datetimes_pass_through_verbatim_and_bad_ones_are_masked(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    import httpx

    stamp = "2026-11-23T21:31:01.906Z"
    medusa.respond = lambda _: httpx.Response(
        200,
        json={
            "payment_collection": {
                "id": "p",
                "payment_sessions": [
                    {"id": "s1", "authorized_at": stamp},
                    {"id": "s2", "authorized_at": 12},
                ],
            }
        },
    )
    body = (
        gateway(backend_profile="open")
        .post(
            "/graphql",
            json={"query": mutation("paymentCollection { paymentSessions { authorizedAt } }")},
        )
        .json()
    )
    sessions = body["data"]["createPaymentSession"]["paymentCollection"]["paymentSessions"]
    assert sessions[0] == {"authorizedAt": stamp}
    # A non-string from the backend is an error on that field, never a made-up date.
    assert sessions[1] == {"authorizedAt": None}
    (error,) = body["errors"]
    assert error["path"][-2:] == [1, "authorizedAt"]
    assert error["extensions"]["code"] == "BACKEND_ERROR"
