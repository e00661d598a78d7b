"""The embedded sandbox: an in-process emulator of Medusa 2.21's store payment routes.

When no backend URL is configured the gateway talks to this app through
`httpx.ASGITransport`, so its own code path is exactly the one a real backend sees. It
reproduces what a real 2.21.2 server was recorded doing (`tests/fixtures/recordings/`, replayed
by `tests/test_sandbox_contract.py`): the publishable-key check first, strict body and query
validation with Medusa's messages, `fields` (see `medusa_client.fields`), every call replacing
the collection's sessions, the region/provider check, and a 500 for an unknown collection.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medusa_client import jsonio
from medusa_client.fields import effective_fields, project

__all__ = ["SandboxState", "create_sandbox_app"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_KEY_REQUIRED: Final = (
    "Publishable API key required in the request header: x-publishable-api-key. "
    "You can manage your keys in settings in the dashboard."
)
_KEY_INVALID: Final = "A valid publishable key is required to proceed with the request"
_UNKNOWN: Final = {
    "code": "unknown_error",
    "type": "unknown_error",
    "message": "An unknown error occurred.",
}


#: The demo data's ids derive from this seed: the same on every start and every machine, so
#: docs and scripts can name them (`pay_col_01...`). Never secrets: the sandbox is a demo.
DEMO_SEED: Final = 2_21_2


class IdSource:
    """Medusa-looking ids (prefix + 26 Crockford base32 characters, ULID-shaped) from a seed."""

    def __init__(self, seed: int = DEMO_SEED) -> None:
        self._random = random.Random(seed)  # noqa: S311  # demo ids must be reproducible

    def new(self, prefix: str) -> str:
        """The next id of the sequence, e.g. `pay_col_01...`."""
        return prefix + "01" + "".join(self._random.choice(_CROCKFORD) for _ in range(24))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SandboxState:
    """Demo data: one key, one region, a demo customer, open carts and collections."""

    publishable_key: str = "pk_sandbox_0123456789abcdef0123456789abcdef"
    region_id: str = "reg_01SANDBOXREGION0000000001"
    region_name: str = "Sandbox (USD, EUR)"
    region_providers: tuple[str, ...] = ("pp_system_default",)
    customer_token: str = "sandbox-customer-token"  # noqa: S105  # public demo value
    customer: dict[str, Any] = field(
        default_factory=lambda: {
            "id": "cus_01SANDBOXCUSTOMER00000001",
            "email": "ada@example.test",
            "phone": None,
            "metadata": None,
            "addresses": [],
            "last_name": "Lovelace",
            "first_name": "Ada",
            "company_name": None,
            "account_holders": [],
        }
    )
    account_holder: dict[str, Any] | None = None
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    demo_collection_id: str = ""
    settled_collection_id: str = ""
    #: An open cart without a collection yet: what initiatePaymentSession starts from.
    demo_cart_id: str = ""
    ids: IdSource = field(default_factory=IdSource, repr=False)

    @classmethod
    def seeded(cls) -> SandboxState:
        """A state with a fresh demo collection and a settled one (payments, refunds)."""
        state = cls()
        state.demo_collection_id = state.new_collection(amount=25, currency="usd")
        state.settled_collection_id = state.new_collection(amount=129.9, currency="eur")
        state.collections[state.settled_collection_id].update(_settled_graph())
        state.demo_cart_id = state.new_cart(amount=42, currency="usd")
        return state

    def cart_record(self, cart_id: str) -> dict[str, Any] | None:
        """The cart as Medusa's query graph sees it, with its collection nested."""
        cart = self.carts.get(cart_id)
        if cart is None:
            return None
        collection_id = cart["payment_collection_id"]
        collection = self.collections.get(collection_id) if collection_id else None
        record = {k: v for k, v in cart.items() if k != "payment_collection_id"}
        record["payment_collection"] = (
            None if collection is None else {k: v for k, v in collection.items() if k[0] != "_"}
        )
        return record

    def new_cart(self, *, amount: float = 25, currency: str = "usd") -> str:
        """An open cart in the demo region."""
        cart_id = self.ids.new("cart_")
        self.carts[cart_id] = {
            "id": cart_id,
            "region_id": self.region_id,
            "total": amount,
            "currency_code": currency,
            "subtotal": amount,
            "email": None,
            "completed_at": None,
            "created_at": _now(),
            "metadata": None,
            "payment_collection_id": None,
        }
        return cart_id

    def new_collection(self, *, amount: float = 25, currency: str = "usd") -> str:
        """A payment collection for a new cart (what POST /store/payment-collections makes)."""
        return self.collection_for_cart(self.new_cart(amount=amount, currency=currency))

    def collection_for_cart(self, cart_id: str) -> str:
        """Get-or-create the cart's collection."""
        cart = self.carts[cart_id]
        if cart["payment_collection_id"] is None:
            collection_id = self.ids.new("pay_col_")
            stamp = _now()
            self.collections[collection_id] = {
                "id": collection_id,
                "currency_code": cart["currency_code"],
                "amount": cart["total"],
                "raw_amount": {"value": str(cart["total"]), "precision": 20},
                "authorized_amount": None,
                "captured_amount": None,
                "refunded_amount": None,
                "raw_authorized_amount": None,
                "raw_captured_amount": None,
                "raw_refunded_amount": None,
                "status": "not_paid",
                "completed_at": None,
                "created_at": stamp,
                "updated_at": stamp,
                "metadata": None,
                "deleted_at": None,
                "payment_sessions": [],
                # Medusa links providers to a collection only explicitly; carts' have none.
                "payment_providers": [],
                "payments": [],
                "_cart_id": cart_id,
            }
            cart["payment_collection_id"] = collection_id
        existing: str = cart["payment_collection_id"]
        return existing

    def create_session(
        self, collection_id: str, provider_id: str, data: Mapping[str, Any], customer: bool
    ) -> None:
        """The workflow: a new session replaces every existing one (no split payments)."""
        collection = self.collections[collection_id]
        context: dict[str, Any] = {}
        if customer:
            # The customer is read before its account holder is created (once, then reused).
            context = {"customer": copy.deepcopy(self.customer)}
            if self.account_holder is None:
                self.account_holder = self._holder()
                self.customer["account_holders"] = [self.account_holder]
            context["account_holder"] = copy.deepcopy(self.account_holder)
        stamp = _now()
        collection["payment_sessions"] = [
            {
                "id": self.ids.new("payses_"),
                "currency_code": collection["currency_code"],
                "provider_id": provider_id,
                "data": dict(data),
                "context": context,
                "status": "pending",
                "authorized_at": None,
                "payment_collection_id": collection_id,
                "payment": None,
                "metadata": {},
                "raw_amount": {"value": str(collection["amount"]), "precision": 20},
                "created_at": stamp,
                "updated_at": stamp,
                "deleted_at": None,
                "amount": collection["amount"],
            }
        ]

    def _holder(self) -> dict[str, Any]:
        stamp = _now()
        return {
            "id": "acchld_01SANDBOXHOLDER000000001",
            "data": {},
            "email": self.customer["email"],
            "metadata": None,
            "created_at": stamp,
            "deleted_at": None,
            "updated_at": stamp,
            "external_id": self.customer["id"],
            "provider_id": "pp_system_default",
        }


def _settled_graph() -> dict[str, Any]:
    """Payments with a capture and a refund, to explore the full graph (open profile)."""
    return {
        "status": "authorized",
        "authorized_amount": 129.9,
        "captured_amount": 129.9,
        "refunded_amount": 25,
        "metadata": {"channel": "web"},
        "payments": [
            {
                "id": "pay_01SANDBOXPAYMENT0000000001",
                "amount": 129.9,
                "authorized_amount": 129.9,
                "captured_amount": 129.9,
                "refunded_amount": 25,
                "currency_code": "eur",
                "provider_id": "pp_system_default",
                "payment_session_id": None,
                "data": {},
                "created_at": "2026-11-20T14:05:41.003Z",
                "updated_at": "2026-11-20T14:09:12.274Z",
                "captured_at": "2026-11-20T14:06:30.512Z",
                "canceled_at": None,
                "captures": [
                    {
                        "id": "capt_01SANDBOXCAPTURE000000001",
                        "amount": 129.9,
                        "created_at": "2026-11-20T14:06:30.498Z",
                        "created_by": None,
                    }
                ],
                "refunds": [
                    {
                        "id": "ref_01SANDBOXREFUND0000000001",
                        "amount": 25,
                        "note": "Partial refund: damaged packaging",
                        "refund_reason_id": "refr_01SANDBOXREASON00000001",
                        "refund_reason": {
                            "id": "refr_01SANDBOXREASON00000001",
                            "label": "Damaged item",
                            "code": "damaged_item",
                            "description": "The item arrived damaged",
                            "metadata": None,
                            "created_at": "2026-10-01T09:00:00.000Z",
                            "updated_at": "2026-10-01T09:00:00.000Z",
                        },
                        "created_at": "2026-11-20T14:09:12.241Z",
                        "created_by": None,
                    }
                ],
            }
        ],
    }


#: A subset of Medusa's `defaultStoreCartFields` (its columns here, and the collection).
_CART_DEFAULTS: Final = (
    "id",
    "currency_code",
    "email",
    "region_id",
    "created_at",
    "completed_at",
    "total",
    "subtotal",
    "metadata",
    "*payment_collection",
    "*payment_collection.payment_sessions",
)


class _Rejected(Exception):
    """An HTTP error answer, raised to leave the handler early."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _invalid(*issues: str) -> _Rejected:
    return _Rejected(
        400, {"type": "invalid_data", "message": "Invalid request: " + "; ".join(issues[:3])}
    )


def _js_string(value: object) -> str:
    """How JavaScript's String() prints a JSON value (Medusa's messages use it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join("" if v is None else _js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cart_allowed(allowed: frozenset[str] | None) -> frozenset[str] | None:
    """The cart route's allow-list: its columns, and the collection's list under it.

    As probed on 2.21.2: the collection's paths are filtered like the payment-sessions
    route's, except that `*payment_collection` (every collection column) is allowed.
    """
    if allowed is None:
        return None
    own = {item.removeprefix("*") for item in _CART_DEFAULTS}
    return frozenset(own | {f"payment_collection.{path}" for path in allowed})


class _Sandbox:
    def __init__(self, state: SandboxState, allowed: frozenset[str] | None) -> None:
        self.state = state
        self.allowed = allowed
        self.cart_allowed = _cart_allowed(allowed)

    # -- the global /store middleware chain ------------------------------------------------

    def check_key(self, request: Request) -> None:
        key = request.headers.get("x-publishable-api-key", "").strip()
        if not key:
            raise _Rejected(400, {"type": "not_allowed", "message": _KEY_REQUIRED})
        if key != self.state.publishable_key:
            raise _Rejected(400, {"type": "not_allowed", "message": _KEY_INVALID})

    def is_customer(self, request: Request) -> bool:
        # An invalid or missing token is a guest, never a 401 (allowUnauthenticated).
        return request.headers.get("authorization", "") == f"Bearer {self.state.customer_token}"

    async def body(self, request: Request, keys: Mapping[str, str]) -> dict[str, Any]:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        if not media_type and not raw:
            raw = b"{}"  # nothing sent at all: Express leaves an empty object
            media_type = "application/json"
        if media_type != "application/json":
            raise _invalid("Field '' is required")  # the JSON parser skipped the body
        try:
            body = jsonio.loads(raw) if raw else None
        except ValueError as exc:
            raise _Rejected(
                400, {"message": f"Unexpected token in JSON: {exc}", "type": "invalid_data"}
            ) from None
        if not isinstance(body, dict):
            raise _invalid("Field '' is required")
        issues = []
        unknown = [k for k in body if k not in keys]
        if unknown:
            issues.append("Unrecognized fields: " + ", ".join(f"'{k}'" for k in unknown))
        for name, kind in keys.items():
            issues.extend(_check(name, kind, body))
        if issues:
            raise _invalid(*issues)
        return body

    def query(self, request: Request, allowed_keys: frozenset[str]) -> dict[str, str]:
        items = [(k, v) for k, v in request.query_params.multi_items() if k != "locale"]
        for key, _ in items:
            if key.count(".") >= 2:
                raise _Rejected(
                    500,
                    {
                        "type": "invalid_argument",
                        "message": f"Key accessor more than 2 levels deep: {key}",
                    },
                )
        unknown = list(dict.fromkeys(k for k, _ in items if k not in allowed_keys))
        if unknown:
            raise _invalid("Unrecognized fields: " + ", ".join(f"'{k}'" for k in unknown))
        grouped: dict[str, list[str]] = {}
        for key, value in items:
            grouped.setdefault(key, []).append(value)
        query = {}
        for key, values in grouped.items():
            if len(values) > 1:
                raise _invalid(
                    f"Expected type: 'string' for field '{key}', got: '{','.join(values)}'"
                )
            query[key] = values[0]
        return query

    # -- routes ----------------------------------------------------------------------------

    async def create_session(self, request: Request) -> Response:
        try:
            self.check_key(request)
            customer = self.is_customer(request)
            body = await self.body(request, {"provider_id": "string", "data": "record?"})
            query = self.query(request, frozenset({"fields"}))
            collection_id = request.path_params["id"]
            collection = self.state.collections.get(collection_id)
            if collection is None:
                raise _Rejected(500, _UNKNOWN)  # Medusa 2.21 reads `undefined.amount`
            self._check_region(collection, body["provider_id"])
            self.state.create_session(
                collection_id, body["provider_id"], body.get("data") or {}, customer
            )
            return self._collection(collection, query.get("fields"))
        except _Rejected as rejected:
            return _json(rejected.status, rejected.body)

    async def collection_for_cart(self, request: Request) -> Response:
        try:
            self.check_key(request)
            body = await self.body(request, {"cart_id": "string"})
            query = self.query(request, frozenset({"fields"}))
            cart = self.state.carts.get(body["cart_id"])
            if cart is None:
                raise _Rejected(
                    404, {"type": "not_found", "message": f"Cart id not found: {body['cart_id']}"}
                )
            collection_id = self.state.collection_for_cart(cart["id"])
            return self._collection(self.state.collections[collection_id], query.get("fields"))
        except _Rejected as rejected:
            return _json(rejected.status, rejected.body)

    async def cart(self, request: Request) -> Response:
        try:
            self.check_key(request)
            query = self.query(request, frozenset({"fields"}))
            cart_id = request.path_params["id"]
            record = self.state.cart_record(cart_id)
            if record is None:
                raise _Rejected(
                    404, {"type": "not_found", "message": f"Cart id not found: {cart_id}"}
                )
            items = effective_fields(query.get("fields"), self.cart_allowed, _CART_DEFAULTS)
            return _json(200, {"cart": project(record, items)})
        except _Rejected as rejected:
            return _json(rejected.status, rejected.body)

    async def payment_providers(self, request: Request) -> Response:
        try:
            self.check_key(request)
            query = self.query(
                request,
                frozenset({"fields", "region_id", "limit", "offset", "order", "with_deleted"}),
            )
            if "region_id" not in query:
                raise _invalid("Field 'region_id' is required")
            if not query["region_id"]:
                # The handler's own check, reached when zod saw the key (2.21.2, recorded).
                message = "You must provide the region_id to list payment providers"
                raise _Rejected(400, {"type": "not_allowed", "message": message})
            # An unknown region is not an error on 2.21.2: the region-provider link is
            # filtered by region_id, so it answers an empty list (recorded).
            providers = []
            if query["region_id"] == self.state.region_id:
                providers = [{"id": p, "is_enabled": True} for p in self.state.region_providers]
            fields = [
                f
                for f in query.get("fields", "id,is_enabled").split(",")
                if f in {"id", "is_enabled"}
            ]
            rows = [{k: p[k] for k in ["id", *fields]} for p in providers]
            limit = int(query.get("limit", "20"))
            return _json(
                200,
                {
                    "payment_providers": rows[:limit],
                    "count": len(rows),
                    "offset": 0,
                    "limit": limit,
                },
            )
        except _Rejected as rejected:
            return _json(rejected.status, rejected.body)

    async def regions(self, request: Request) -> Response:
        try:
            self.check_key(request)
            query = self.query(
                request, frozenset({"fields", "limit", "offset", "order", "with_deleted", "q"})
            )
            region = {"id": self.state.region_id, "name": self.state.region_name}
            limit = int(query.get("limit", "50"))
            return _json(
                200, {"regions": [region][:limit], "count": 1, "offset": 0, "limit": limit}
            )
        except _Rejected as rejected:
            return _json(rejected.status, rejected.body)

    async def health(self, _: Request) -> Response:
        return Response("OK", media_type="text/plain; charset=utf-8")

    def _check_region(self, collection: Mapping[str, Any], provider_id: str) -> None:
        cart = self.state.carts.get(collection.get("_cart_id", ""))
        if cart and cart["completed_at"] is None and provider_id not in self.state.region_providers:
            region = cart["region_id"]
            message = (
                f"Payment provider {provider_id} is not enabled in the cart's region {region}."
            )
            raise _Rejected(400, {"type": "invalid_data", "message": message})

    def _collection(self, collection: Mapping[str, Any], fields: str | None) -> Response:
        public = {k: v for k, v in collection.items() if not k.startswith("_")}
        shaped = project(public, effective_fields(fields, self.allowed))
        return _json(200, {"payment_collection": shaped})


def _check(name: str, kind: str, body: Mapping[str, Any]) -> list[str]:
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if name not in body:
        return [] if optional else [f"Field '{name}' is required"]
    value = body[name]
    ok = isinstance(value, str) if kind == "string" else isinstance(value, dict)
    if ok:
        return []
    return [f"Expected type: '{kind}' for field '{name}', got: '{_js_string(value)}'"]


def _json(status: int, body: Mapping[str, Any]) -> Response:
    return Response(
        jsonio.dumps(body), status_code=status, media_type="application/json; charset=utf-8"
    )


def create_sandbox_app(
    state: SandboxState | None = None, *, allowed: frozenset[str] | None
) -> Starlette:
    """The sandbox ASGI app. `allowed` is the route's `fields` allow-list (None: open)."""
    sandbox = _Sandbox(state if state is not None else SandboxState.seeded(), allowed)
    app = Starlette(
        routes=[
            Route(
                "/store/payment-collections/{id}/payment-sessions",
                sandbox.create_session,
                methods=["POST"],
            ),
            Route("/store/payment-collections", sandbox.collection_for_cart, methods=["POST"]),
            Route("/store/payment-providers", sandbox.payment_providers, methods=["GET"]),
            Route("/store/carts/{id}", sandbox.cart, methods=["GET"]),
            Route("/store/regions", sandbox.regions, methods=["GET"]),
            Route("/health", sandbox.health, methods=["GET"]),
        ]
    )
    app.state.sandbox = sandbox.state
    return app
