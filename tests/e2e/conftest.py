"""E2E fixtures: a gateway in front of the real Medusa started by scripts/medusa/up.sh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from tests.e2e.medusa_backend import Seed, load_seed


@pytest.fixture(scope="session")
def seed() -> Seed:
    found = load_seed()
    if found is None:
        pytest.fail("No real Medusa: run `bash scripts/medusa/up.sh` first (see scripts/medusa).")
    return found


@pytest.fixture(scope="session")
def gateway(seed: Seed) -> Iterator[TestClient]:
    settings = Settings(medusa_url=seed.base_url, publishable_key=seed.publishable_key, debug=True)
    with TestClient(create_app(settings)) as client:
        yield client
