from __future__ import annotations

from typing import Any

import pytest

import medusa_client.errors
from gateway.errors import Overloaded, error_classes
from medusa_client.errors import (
    BackendConnectionLost,
    BackendProtocolError,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    GatewayError,
    OutcomeUnknown,
    PublishableKeyRequired,
    RequestError,
)

# Bodies as Medusa 2.21 really sends them (backend/README.md "Recorded cases", errors.json).
NO_KEY = {
    "type": "not_allowed",
    "message": "Publishable API key required in the request header: x-publishable-api-key. "
    "You can manage your keys in settings in the dashboard.",
}
WRONG_KEY = {
    "type": "not_allowed",
    "message": "A valid publishable key is required to proceed with the request",
}
MISSING_PROVIDER = {
    "type": "invalid_data",
    "message": "Invalid request: Field 'provider_id' is required",
}
PROVIDER_NOT_ENABLED = {
    "type": "invalid_data",
    "message": "Payment provider pp_stripe_stripe is not enabled in the cart's region reg_01J.",
}
MALFORMED_JSON = {
    "message": "Expected double-quoted property name in JSON at position 36",
    "type": "invalid_data",
}
REGION_REQUIRED = {
    "type": "not_allowed",
    "message": "You must provide the region_id to list payment providers",
}
UNAUTHORIZED = {"type": "unauthorized", "message": "Unauthorized"}
FORBIDDEN = {"type": "forbidden", "message": "Forbidden"}
CART_NOT_FOUND = {"type": "not_found", "message": "Cart id not found: cart_DOESNOTEXIST"}
CONFLICT = {
    "code": "invalid_state_error",
    "type": "conflict",
    "message": "The request conflicted with another request. You may retry the request with "
    "the provided Idempotency-Key.",
}
AUTHORIZATION = {"type": "payment_authorization_error", "message": "Card declined"}
DUPLICATE = {
    "code": "invalid_request_error",
    "type": "duplicate_error",
    "message": "Payment session with id: ps_01 already exists.",
}
UNKNOWN = {
    "code": "unknown_error",
    "type": "unknown_error",
    "message": "An unknown error occurred.",
}
KEY_ACCESSOR = {
    "type": "invalid_argument",
    "message": "Key accessor more than 2 levels deep: a.b.c",
}
CANNOT_DELETE = {"type": "unexpected_state", "message": "Could not delete all payment sessions"}
DATABASE = {
    "code": "api_error",
    "type": "database_error",
    "message": 'relation "payment_session" does not exist at character 15',
}


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        pytest.param(400, NO_KEY, "PUBLISHABLE_KEY_INVALID", id="400-key-required"),
        pytest.param(400, WRONG_KEY, "PUBLISHABLE_KEY_INVALID", id="400-key-not-valid"),
        pytest.param(400, MISSING_PROVIDER, "BAD_USER_INPUT", id="400-invalid-data"),
        pytest.param(400, PROVIDER_NOT_ENABLED, "BAD_USER_INPUT", id="400-provider-not-enabled"),
        pytest.param(400, MALFORMED_JSON, "BAD_USER_INPUT", id="400-body-parser"),
        pytest.param(400, REGION_REQUIRED, "FORBIDDEN", id="400-other-not-allowed"),
        pytest.param(401, UNAUTHORIZED, "UNAUTHENTICATED", id="401"),
        pytest.param(403, FORBIDDEN, "FORBIDDEN", id="403"),
        pytest.param(404, CART_NOT_FOUND, "NOT_FOUND", id="404"),
        pytest.param(409, CONFLICT, "CONFLICT", id="409"),
        pytest.param(422, AUTHORIZATION, "PAYMENT_AUTHORIZATION_FAILED", id="422-authorization"),
        pytest.param(422, DUPLICATE, "CONFLICT", id="422-duplicate"),
        pytest.param(500, UNKNOWN, "BACKEND_ERROR", id="500-unknown"),
        pytest.param(500, KEY_ACCESSOR, "BACKEND_ERROR", id="500-invalid-argument"),
        pytest.param(500, CANNOT_DELETE, "BACKEND_ERROR", id="500-unexpected-state"),
        pytest.param(500, DATABASE, "BACKEND_ERROR", id="500-database"),
        pytest.param(502, None, "BACKEND_ERROR", id="502-no-body"),
        pytest.param(503, "Service Unavailable", "BACKEND_ERROR", id="503-text"),
    ],
)
def test_each_medusa_answer_gets_its_stable_code(status: int, body: object, code: str) -> None:
    error = BackendRejected.from_medusa(status, body)
    assert isinstance(error, BackendRejected)
    assert isinstance(error, GatewayError)
    assert error.code == code
    assert error.status == status
    assert error.extensions()["code"] == code


@pytest.mark.parametrize("body", [NO_KEY, WRONG_KEY])
def test_a_rejected_key_becomes_publishable_key_invalid(body: dict[str, str]) -> None:
    error = BackendRejected.from_medusa(400, body)
    assert error.code == "PUBLISHABLE_KEY_INVALID"
    assert error.extensions() == {
        "code": "PUBLISHABLE_KEY_INVALID",
        "retryable": False,
        "medusa": {"status": 400, "type": "not_allowed"},
    }


def test_the_key_marker_is_matched_whatever_its_case() -> None:
    body = {"type": "not_allowed", "message": "PUBLISHABLE KEY REVOKED"}
    assert BackendRejected.from_medusa(400, body).code == "PUBLISHABLE_KEY_INVALID"


def test_a_key_message_with_another_type_is_not_a_key_error() -> None:
    body = {"type": "invalid_data", "message": "Publishable key needs a sales channel"}
    assert BackendRejected.from_medusa(400, body).code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, MISSING_PROVIDER),
        (400, REGION_REQUIRED),
        (401, UNAUTHORIZED),
        (404, CART_NOT_FOUND),
        (409, CONFLICT),
        (422, AUTHORIZATION),
        (422, DUPLICATE),
    ],
)
def test_client_errors_keep_medusas_message(status: int, body: dict[str, str]) -> None:
    error = BackendRejected.from_medusa(status, body)
    assert error.message == body["message"]
    assert str(error) == body["message"]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, UNKNOWN),
        (500, KEY_ACCESSOR),
        (500, CANNOT_DELETE),
        (500, DATABASE),
        (502, {"type": "unknown_error", "message": "upstream stack trace at Foo.bar (x.js:1)"}),
        (503, {"message": "connect ECONNREFUSED 10.0.0.7:5432"}),
    ],
)
def test_server_errors_never_echo_medusas_internal_message(
    status: int, body: dict[str, str]
) -> None:
    error = BackendRejected.from_medusa(status, body)
    assert body["message"] not in error.message
    assert body["message"] not in str(error)
    assert f"HTTP {status}" in error.message
    assert error.code == "BACKEND_ERROR"


def test_a_500_names_medusas_type_and_leaves_hints_to_the_schema_layer() -> None:
    # Medusa 2.21 answers a non-existent collection with 500 unknown_error instead of 404; only
    # the session mutation can say so (schema/payments.py), this layer serves every route.
    error = BackendRejected.from_medusa(500, UNKNOWN)
    assert "unknown_error" in error.message
    assert "does not exist" not in error.message


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(None, id="none"),
        pytest.param("<html>Not Found</html>", id="text"),
        pytest.param([{"type": "invalid_data", "message": "inside a list"}], id="list"),
        pytest.param(42, id="number"),
        pytest.param({}, id="empty-object"),
        pytest.param({"type": 5, "message": ["x"], "code": None}, id="wrong-types"),
        pytest.param({"type": "", "message": "", "code": ""}, id="empty-strings"),
    ],
)
def test_bodies_without_an_envelope_fall_back_to_the_status(body: object) -> None:
    error = BackendRejected.from_medusa(404, body)
    assert error.code == "NOT_FOUND"
    assert error.medusa_type is None
    assert error.medusa_code is None
    assert error.message == "The Medusa backend rejected the request (HTTP 404)."
    assert error.extensions() == {
        "code": "NOT_FOUND",
        "retryable": False,
        "medusa": {"status": 404},
    }


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, {"message": "no type"}, "BAD_USER_INPUT"),
        (400, {"type": "not_allowed"}, "FORBIDDEN"),
        (400, {"type": "something_new", "message": "x"}, "BAD_USER_INPUT"),
        (401, None, "UNAUTHENTICATED"),
        (403, None, "FORBIDDEN"),
        (409, None, "CONFLICT"),
        (413, {"type": "invalid_data", "message": "request entity too large"}, "BAD_USER_INPUT"),
        (413, None, "BAD_USER_INPUT"),
        (422, None, "BAD_USER_INPUT"),
        (418, None, "BACKEND_ERROR"),
        (429, {"message": "Too many requests"}, "BACKEND_ERROR"),
    ],
)
def test_missing_or_unknown_types_are_classified_by_status(
    status: int, body: object, code: str
) -> None:
    assert BackendRejected.from_medusa(status, body).code == code


def test_a_not_allowed_without_a_message_is_forbidden_not_a_key_error() -> None:
    error = BackendRejected.from_medusa(400, {"type": "not_allowed"})
    assert error.code == "FORBIDDEN"
    assert error.message == "The Medusa backend rejected the request (HTTP 400)."


def test_a_5xx_without_a_type_says_so() -> None:
    error = BackendRejected.from_medusa(502, "<html>Bad Gateway</html>")
    assert "HTTP 502" in error.message
    assert "not Medusa's own error" in error.message
    assert "does not exist" not in error.message  # a proxy's page says nothing about ids
    assert "Bad Gateway" not in error.message


@pytest.mark.parametrize(
    ("status", "body", "medusa"),
    [
        (409, CONFLICT, {"status": 409, "type": "conflict", "code": "invalid_state_error"}),
        (
            422,
            DUPLICATE,
            {"status": 422, "type": "duplicate_error", "code": "invalid_request_error"},
        ),
        (500, UNKNOWN, {"status": 500, "type": "unknown_error", "code": "unknown_error"}),
        (500, DATABASE, {"status": 500, "type": "database_error", "code": "api_error"}),
        (400, MISSING_PROVIDER, {"status": 400, "type": "invalid_data"}),
        (502, None, {"status": 502}),
        (400, {"code": "weird", "message": "code without type"}, {"status": 400, "code": "weird"}),
    ],
)
def test_extensions_carry_medusas_status_type_and_code(
    status: int, body: object, medusa: dict[str, Any]
) -> None:
    extensions = BackendRejected.from_medusa(status, body).extensions()
    assert set(extensions) == {"code", "retryable", "medusa"}
    assert extensions["medusa"] == medusa
    assert extensions["retryable"] is False


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500, 502, 503])
def test_a_rejection_is_never_retryable(status: int) -> None:
    # The payment-session call is not idempotent: once Medusa answered, it ran.
    error = BackendRejected.from_medusa(status, {"type": "unknown_error"})
    assert error.retryable is False
    assert error.extensions()["retryable"] is False


def test_the_message_never_goes_into_extensions() -> None:
    extensions = BackendRejected.from_medusa(400, MISSING_PROVIDER).extensions()
    assert MISSING_PROVIDER["message"] not in repr(extensions)


def test_each_rejection_keeps_its_own_code() -> None:
    first = BackendRejected.from_medusa(404, CART_NOT_FOUND)
    second = BackendRejected.from_medusa(409, CONFLICT)
    assert (first.code, second.code) == ("NOT_FOUND", "CONFLICT")
    assert BackendRejected.code == GatewayError.code  # the class default is untouched


def test_the_constructor_takes_everything_by_keyword() -> None:
    error = BackendRejected(
        code="NOT_FOUND", status=404, medusa_type="not_found", medusa_code=None, message="gone"
    )
    assert str(error) == "gone"
    assert error.extensions() == {
        "code": "NOT_FOUND",
        "retryable": False,
        "medusa": {"status": 404, "type": "not_found"},
    }


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (GatewayError("internal"), "INTERNAL_SERVER_ERROR", False),
        (RequestError("bad id"), "BAD_USER_INPUT", False),
        (PublishableKeyRequired(), "PUBLISHABLE_KEY_REQUIRED", False),
        (BackendUnavailable("connection failed"), "BACKEND_UNAVAILABLE", True),
        (BackendTimeout(), "BACKEND_TIMEOUT", False),
        (BackendConnectionLost(), "BACKEND_CONNECTION_LOST", False),
        (BackendProtocolError(200, "not JSON"), "BACKEND_ERROR", False),
    ],
)
def test_every_error_class_has_its_code_and_retryable_flag(
    error: GatewayError, code: str, retryable: bool
) -> None:
    assert isinstance(error, GatewayError)
    assert error.code == code
    assert error.retryable is retryable
    assert error.extensions()["code"] == code
    assert error.extensions()["retryable"] is retryable
    assert str(error) == error.message


@pytest.mark.parametrize(
    "error",
    [GatewayError("x"), RequestError("x"), PublishableKeyRequired(), BackendUnavailable("x")],
)
def test_simple_errors_have_only_code_and_retryable(error: GatewayError) -> None:
    assert set(error.extensions()) == {"code", "retryable"}


def test_a_missing_key_is_a_request_error_that_says_how_to_fix_it() -> None:
    error = PublishableKeyRequired()
    assert isinstance(error, RequestError)
    assert "x-publishable-api-key" in error.message
    assert "GATEWAY_PUBLISHABLE_KEY" in error.message


def test_unavailable_says_nothing_was_sent_and_why() -> None:
    error = BackendUnavailable("all backend connections are busy")
    assert "all backend connections are busy" in error.message
    assert "nothing was sent" in error.message


@pytest.mark.parametrize("error", [BackendTimeout(), BackendConnectionLost()])
def test_timeouts_and_lost_connections_say_the_outcome_is_unknown(error: GatewayError) -> None:
    assert "outcome is unknown" in error.message
    assert "nothing was sent" not in error.message


def test_a_protocol_error_names_the_status_in_message_and_extensions() -> None:
    error = BackendProtocolError(204, "no payment_collection in the answer")
    assert error.status == 204
    assert "HTTP 204" in error.message
    assert "no payment_collection in the answer" in error.message
    assert error.extensions() == {
        "code": "BACKEND_ERROR",
        "retryable": False,
        "medusa": {"status": 204},
    }


# --- the one tree ---------------------------------------------------------------------------


def test_the_drawn_tree_names_error_classes() -> None:
    drawing = medusa_client.errors.__doc__ or ""
    missing = [cls.__name__ for cls in error_classes() if f" {cls.__name__} " not in drawing]
    assert missing == [], "draw these in medusa_client/errors.py's docstring"


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_declares_a_code_and_a_retryable_flag(cls: type[GatewayError]) -> None:
    assert cls.codes(), cls
    assert all(code.isupper() for code in cls.codes())
    assert isinstance(cls.retryable, bool)


@pytest.mark.parametrize("error", [BackendTimeout(), BackendConnectionLost()])
def test_an_unknown_outcome_is_retryable_only_for_a_keyed_request(error: OutcomeUnknown) -> None:
    assert error.retryable is False
    assert error.for_keyed_request() is error
    assert error.extensions()["retryable"] is True


@pytest.mark.parametrize(
    "error",
    [BackendUnavailable("connection refused"), Overloaded("too many requests in flight")],
)
def test_a_refusal_that_sent_nothing_is_retryable(error: GatewayError) -> None:
    assert error.extensions()["retryable"] is True
