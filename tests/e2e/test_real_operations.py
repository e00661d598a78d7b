"""Operator-facing behaviour against a real Medusa 2.21 (scripts/medusa/up.sh): the check
command, readiness, unknown regions, a wrong URL and a wrong key."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.check_command import run_check
from gateway.config import Settings
from tests.e2e.medusa_backend import Seed, new_payment_collection

pytestmark = pytest.mark.e2e


def test_the_check_command_passes_on_the_seeded_medusa(seed: Seed) -> None:
    out = io.StringIO()
    settings = Settings(medusa_url=seed.base_url, publishable_key=seed.publishable_key)
    assert run_check(settings, out=out) == 0, out.getvalue()
    assert seed.region_id in out.getvalue()
    assert "pp_system_default" in out.getvalue()


def test_the_check_command_names_a_refused_key(seed: Seed) -> None:
    out = io.StringIO()
    settings = Settings(medusa_url=seed.base_url, publishable_key="pk_not_a_real_key")
    assert run_check(settings, out=out) == 1
    assert "FAIL  publishable key" in out.getvalue()


def test_readyz_is_ready_and_an_unknown_region_has_no_providers(
    seed: Seed, gateway: TestClient
) -> None:
    assert gateway.get("/readyz").json() == {"status": "ready"}
    query = '{ paymentProviders(regionId: "reg_does_not_exist") { id } }'
    assert gateway.post("/graphql", json={"query": query}).json()["data"] == {
        "paymentProviders": []
    }


def test_a_url_with_a_wrong_path_is_a_misconfiguration_and_not_ready(seed: Seed) -> None:
    settings = Settings(
        medusa_url=f"{seed.base_url}/wrong-prefix", publishable_key=seed.publishable_key
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503
        query = (
            'mutation { createPaymentSession(input: {paymentCollectionId: "'
            + new_payment_collection(seed)
            + '", providerId: "pp_system_default"}) { paymentCollection { id } } }'
        )
        error = client.post("/graphql", json={"query": query}).json()["errors"][0]
    assert error["extensions"]["code"] == "BACKEND_ERROR"
    assert "misconfigured" in error["message"]
