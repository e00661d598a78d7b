"""Helpers for the e2e suite: the seeded real Medusa (scripts/medusa/up.sh) and fresh data."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

# Where scripts/medusa/env.sh keeps the backend (a fixed cache path, not a temp file).
DEFAULT_SEED = Path("/var/tmp/medusa-graphql-gateway/medusa-2.21.2/seed.json")  # noqa: S108


@dataclass(frozen=True)
class Seed:
    """What up.sh seeded: where Medusa listens and the ids the tests build on."""

    base_url: str
    publishable_key: str
    region_id: str
    sales_channel_id: str
    variant_id: str


def load_seed() -> Seed | None:
    """The seed file (MEDUSA_SEED_FILE overrides), or None when no backend was set up."""
    path = Path(os.environ.get("MEDUSA_SEED_FILE", DEFAULT_SEED))
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Seed(
        base_url=data["base_url"],
        publishable_key=data["publishable_key"],
        region_id=data["region_id"],
        sales_channel_id=data["sales_channel_id"],
        variant_id=data["variant_id"],
    )


def store(seed: Seed, token: str | None = None) -> httpx.Client:
    """A client for the store API with the publishable key (and a customer token)."""
    headers = {"x-publishable-api-key": seed.publishable_key}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=seed.base_url, headers=headers, timeout=30)


def new_cart(seed: Seed, token: str | None = None) -> str:
    """A fresh cart with one line item (25 usd) and no payment collection yet."""
    with store(seed, token) as client:
        body: dict[str, Any] = {
            "region_id": seed.region_id,
            "sales_channel_id": seed.sales_channel_id,
            "items": [{"variant_id": seed.variant_id, "quantity": 1}],
        }
        if token is None:
            body["email"] = "guest@example.test"
        cart = client.post("/store/carts", json=body)
        cart.raise_for_status()
        cart_id: str = cart.json()["cart"]["id"]
        return cart_id


def new_payment_collection(seed: Seed, token: str | None = None) -> str:
    """A fresh cart with one line item, and its payment collection's id."""
    return collection_of(seed, new_cart(seed, token), token)


def collection_of(seed: Seed, cart_id: str, token: str | None = None) -> str:
    """The cart's payment collection id (created if it has none: the route is get-or-create)."""
    with store(seed, token) as client:
        collection = client.post("/store/payment-collections", json={"cart_id": cart_id})
        collection.raise_for_status()
        collection_id: str = collection.json()["payment_collection"]["id"]
        return collection_id


def register_customer(seed: Seed) -> tuple[str, str]:
    """A new customer: (bearer token, email)."""
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.test"
    password = uuid.uuid4().hex
    with httpx.Client(base_url=seed.base_url, timeout=30) as auth:
        registration = auth.post(
            "/auth/customer/emailpass/register", json={"email": email, "password": password}
        )
        registration.raise_for_status()
        with store(seed, registration.json()["token"]) as client:
            created = client.post(
                "/store/customers", json={"email": email, "first_name": "Ada", "last_name": "E2E"}
            )
            created.raise_for_status()
        login = auth.post("/auth/customer/emailpass", json={"email": email, "password": password})
        login.raise_for_status()
        token: str = login.json()["token"]
        return token, email
