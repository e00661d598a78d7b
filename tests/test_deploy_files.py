"""deploy/: the compose file and the Kubernetes manifests, validated offline against their
published schemas (no engine runs them here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).parents[1] / "deploy"
#: The Kubernetes version the manifests target (kubernetes-validate ships its schemas).
KUBERNETES_VERSION = "1.32.0"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_the_compose_file_follows_the_compose_spec() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)
    services = compose["services"]
    gateways = [name for name in services if name.startswith("gateway")]
    assert len(gateways) == 2
    for name in gateways:
        environment = services[name]["environment"]
        assert environment["GATEWAY_REDIS_URL"].startswith("redis://redis:")
        assert "${GATEWAY_MEDUSA_URL" in environment["GATEWAY_MEDUSA_URL"]  # the user's Medusa


def test_the_compose_schema_catches_a_broken_file() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({"services": {"a": {"ports": "8000"}}})


@pytest.mark.parametrize("path", sorted((DEPLOY / "kubernetes").glob("*.yaml")), ids=str)
def test_kubernetes_manifests_are_valid(path: Path) -> None:
    for document in documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_gateway_deployment_has_probes_resources_autoscaling_and_a_budget() -> None:
    kinds = {doc["kind"]: doc for doc in documents(DEPLOY / "kubernetes" / "gateway.yaml")}
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    [container] = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]
    names = {item["name"] for item in container["env"]}
    assert {"GATEWAY_REDIS_URL", "GATEWAY_IDEMPOTENCY_SECRET"} <= names


def test_kubernetes_validation_catches_a_broken_manifest() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_compose_healthcheck_runs_the_images_own_check() -> None:
    # A hard-coded `http://127.0.0.1:8000/healthz` breaks as soon as GATEWAY_PORT changes.
    dockerfile = (DEPLOY.parent / "Dockerfile").read_text()
    declared = json.loads(dockerfile.split("HEALTHCHECK", 1)[1].split("CMD", 1)[1].splitlines()[0])
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if name.startswith("gateway"):
            assert service["healthcheck"]["test"] == ["CMD", *declared]
