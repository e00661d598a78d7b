"""The sandbox's demo (issue 17.7): the same ids on every start and machine, in Medusa's
format; unknown regions answered as a real 2.21.2 answers them (recorded)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from sandbox.emulator import SandboxState

_ULID_BODY = r"01[0-9A-HJKMNP-TV-Z]{24}"


def test_demo_ids_are_the_same_on_every_start() -> None:
    first, second = SandboxState.seeded(), SandboxState.seeded()
    ids = ("demo_collection_id", "settled_collection_id", "demo_cart_id")
    assert [getattr(first, name) for name in ids] == [getattr(second, name) for name in ids]
    assert re.fullmatch(f"pay_col_{_ULID_BODY}", first.demo_collection_id)
    assert re.fullmatch(f"cart_{_ULID_BODY}", first.demo_cart_id)
    assert len(set(ids)) == len({getattr(first, name) for name in ids})  # distinct ids


def test_the_documented_demo_collection_id_is_stable() -> None:
    # README and docs name it: a change here must change them too.
    assert SandboxState.seeded().demo_collection_id == DOCUMENTED_DEMO_COLLECTION


def test_an_unknown_region_has_no_providers_as_on_a_real_2_21() -> None:
    with TestClient(create_app(Settings())) as client:
        query = '{ paymentProviders(regionId: "reg_does_not_exist") { id } }'
        assert client.post("/graphql", json={"query": query}).json() == {
            "data": {"paymentProviders": []}
        }


DOCUMENTED_DEMO_COLLECTION = "pay_col_01YQV5DX7C3PBSPQQFMJFXHV4Q"
