from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from schema.build import FieldNotExposedError, NotExposed, build_collection, resolve_attribute
from schema.enums import PaymentCollectionStatus, PaymentSessionStatus
from schema.projection import FieldsPlan

SETTLED = json.loads((Path(__file__).parent / "fixtures/settled_collection.json").read_text())[
    "payment_collection"
]
OPEN_PLAN = FieldsPlan(fields=None, requested=frozenset({"id"}))


def raw() -> dict[str, Any]:
    return copy.deepcopy(SETTLED)


def test_the_whole_graph_is_built_with_typed_values() -> None:
    collection = build_collection(raw(), OPEN_PLAN)
    assert collection.id == SETTLED["id"]
    assert collection.status is PaymentCollectionStatus.AUTHORIZED
    assert vars(collection)["metadata"] == {
        "cart_id": "cart_01JF8ZPX8Q1S4V6B0C3D2E7F9G",
        "channel": "web",
    }
    assert isinstance(collection.payment_sessions, list)
    assert [s.status for s in collection.payment_sessions] == [
        PaymentSessionStatus.AUTHORIZED,
        PaymentSessionStatus.PENDING,
    ]
    assert isinstance(collection.payments, list)
    refunds = collection.payments[0].refunds
    assert refunds is not None
    assert refunds[0].refund_reason is not None
    assert refunds[0].refund_reason.label == "Damaged item"


def test_back_references_are_the_parent_objects() -> None:
    collection = build_collection(raw(), OPEN_PLAN)
    assert isinstance(collection.payment_sessions, list)
    assert isinstance(collection.payments, list)
    payment = collection.payments[0]
    assert all(s.payment_collection is collection for s in collection.payment_sessions)
    assert payment.payment_collection is collection
    assert payment.captures[0].payment is payment  # type: ignore[index]
    assert payment.refunds[0].payment is payment  # type: ignore[index]


def test_links_match_rows_of_the_root_relations() -> None:
    collection = build_collection(raw(), OPEN_PLAN)
    assert isinstance(collection.payment_sessions, list)
    assert isinstance(collection.payments, list)
    authorized, pending = collection.payment_sessions
    payment = collection.payments[0]
    assert payment.payment_session is authorized
    assert authorized.payment is payment
    assert pending.payment is None


def test_a_status_medusa_adds_later_becomes_unknown() -> None:
    data = raw()
    data["status"] = "partially_refunded_in_2030"
    data["payment_sessions"][0]["status"] = "quantum"
    collection = build_collection(data, OPEN_PLAN)
    assert collection.status is PaymentCollectionStatus.UNKNOWN
    assert collection.payment_sessions[0].status is PaymentSessionStatus.UNKNOWN  # type: ignore[index]


def test_null_relation_and_null_column_stay_null() -> None:
    data = raw()
    data["completed_at"] = None
    data["payments"][0]["refunds"][0]["refund_reason"] = None
    collection = build_collection(data, OPEN_PLAN)
    assert collection.completed_at is None
    assert collection.payments[0].refunds[0].refund_reason is None  # type: ignore[index]


def test_missing_keys_become_markers_with_the_profile_reason() -> None:
    plan = FieldsPlan(
        fields="amount",
        requested=frozenset({"id", "amount"}),
        unexposed={"metadata": "not on this profile", "payments.id": "not on this profile"},
    )
    collection = build_collection({"id": "pay_col_1", "amount": 10}, plan)
    assert collection.amount == 10
    assert vars(collection)["metadata"] == NotExposed("metadata", "not on this profile")
    assert vars(collection)["payments"] == NotExposed("payments", "not on this profile")
    # A missing key that was requested: the backend dropped it.
    status = vars(collection)["status"]
    assert isinstance(status, NotExposed)
    assert "did not return" in status.reason


def test_a_link_into_an_unexposed_relation_is_unexposed() -> None:
    plan = FieldsPlan(fields=None, requested=frozenset(), unexposed={"payments.id": "nope"})
    data = {"id": "p", "payment_sessions": [{"id": "s1", "status": "pending"}]}
    collection = build_collection(data, plan)
    session = collection.payment_sessions[0]  # type: ignore[index]
    assert session.payment == NotExposed("payments", "nope")


def test_reading_a_marker_raises_field_not_exposed() -> None:
    collection = build_collection({"id": "p"}, FieldsPlan(fields="", requested=frozenset()))
    assert resolve_attribute(collection, "id") == "p"
    with pytest.raises(FieldNotExposedError) as caught:
        resolve_attribute(collection, "amount")
    extensions = caught.value.extensions()
    assert extensions["code"] == "FIELD_NOT_EXPOSED"
    assert extensions["backendPath"] == "amount"
