"""Trusted documents: manifests in both formats, requests by id, the three modes, reload."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app, document_cache
from gateway.config import Settings, SettingsError, load_settings
from gateway.graphql_http import DocumentCache
from gateway.trusted_documents import ManifestError, TrustedDocuments, load_manifest
from schema.schema import build_schema
from tests.conftest import FakeMedusa, GatewayFactory, mutation

PROFILE = "query Profile { gateway { backendProfile } }"
PAY = mutation("paymentSession { id status }")
OTHER = "query Other { __typename }"
TWO_PAYMENTS = (
    "mutation Two($i: CreatePaymentSessionInput!) { a: createPaymentSession(input: $i) "
    "{ paymentSession { id } } b: createPaymentSession(input: $i) { paymentSession { id } } }"
)
PROFILE_DATA = {"data": {"gateway": {"backendProfile": "medusa-2.21"}}}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def codegen_manifest(path: Path, *documents: str, prefix: str = "") -> Path:
    """The JSON graphql-codegen's client preset writes (persistedDocuments, sha256)."""
    path.write_text(json.dumps({f"{prefix}{sha256(d)}": d for d in documents}))
    return path


def apollo_manifest(path: Path, *documents: str) -> Path:
    """Apollo's persisted-query-manifest.json (@apollo/generate-persisted-query-manifest)."""
    operations = [
        {"id": sha256(d), "body": d, "name": d.split()[1], "type": d.split()[0]} for d in documents
    ]
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return codegen_manifest(tmp_path / "persisted-documents.json", PROFILE, PAY)


def code_of(response: Any) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


def by_id(client: Any, document: str, **extra: Any) -> Any:
    return client.post("/graphql", json={"documentId": f"sha256:{sha256(document)}", **extra})


def entry(document: str) -> dict[str, str]:
    return {sha256(document): document}


def compiler() -> DocumentCache:
    return document_cache(Settings(document_cache_size=0), build_schema())


# --- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("write", [codegen_manifest, apollo_manifest])
def test_both_manifest_formats_load_every_entry(write: Any, tmp_path: Path) -> None:
    loaded = load_manifest(write(tmp_path / "m.json", PROFILE, PAY), compiler().compile_uncached)
    assert sorted(loaded.by_id) == sorted([sha256(PROFILE), sha256(PAY)])
    assert loaded.by_id[sha256(PROFILE)].compiled.document is not None


def test_codegen_keys_may_carry_the_sha256_prefix(tmp_path: Path) -> None:
    path = codegen_manifest(tmp_path / "m.json", PROFILE, prefix="sha256:")
    assert list(load_manifest(path, compiler().compile_uncached).by_id) == [sha256(PROFILE)]


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        (entry("query Profile { nope }"), "Cannot query field 'nope'"),
        (entry(PROFILE + " {"), "Syntax Error"),
        (
            {hashlib.sha1(PROFILE.encode()).hexdigest(): PROFILE},  # noqa: S324  # codegen's default
            "graphql-codegen's default is sha1",
        ),
        ({sha256(PROFILE): PROFILE + " "}, "not the sha256 of the document"),
        ({sha256(PROFILE): 42}, "must be a string"),
        (entry(TWO_PAYMENTS), "creates 2 payment sessions"),
    ],
)
def test_a_bad_entry_is_a_start_up_error_naming_it(
    entries: dict[str, object], named: str, tmp_path: Path
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(ManifestError) as raised:
        create_app(Settings(trusted_documents=path, trusted_documents_mode="safelist"))
    key = next(iter(entries))
    assert f"entry {key[:80]!r}" in str(raised.value)
    assert named in str(raised.value)


def test_an_entry_over_the_limits_is_refused_at_start_up(tmp_path: Path) -> None:
    deep = (
        "query Deep { " + "cartPaymentCollection(cartId: 1) { paymentSessions { " * 1 + "id } } }"
    )
    path = codegen_manifest(tmp_path / "m.json", deep)
    with pytest.raises(ManifestError, match="OPERATION_LIMIT"):
        create_app(Settings(trusted_documents=path, max_depth=2))


def test_an_apollo_entry_is_named_by_index_and_operation(tmp_path: Path) -> None:
    path = apollo_manifest(tmp_path / "m.json", PROFILE, "query Broken { nope }")
    with pytest.raises(ManifestError, match=r"operations\[1\] '[0-9a-f]+' \(Broken\)"):
        load_manifest(path, compiler().compile_uncached)


@pytest.mark.parametrize(
    "content",
    [
        b"[]",
        b"{not json",
        b'{"format": "other", "version": 1}',
        b'{"format": "apollo-persisted-query-manifest", "version": 1, "operations": {}}',
    ],
)
def test_a_malformed_manifest_is_refused(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(ManifestError, match=str(path)):
        load_manifest(path, compiler().compile_uncached)


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read it"):
        load_manifest(tmp_path / "absent.json", compiler().compile_uncached)


def test_the_start_up_log_counts_the_documents(
    manifest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.trusted_documents"):
        create_app(Settings(trusted_documents=manifest))
    assert f"trusted documents: 2 loaded from {manifest} (mode off)" in caplog.text


# --- settings ---------------------------------------------------------------------------------


def test_production_with_a_manifest_defaults_to_safelist(manifest: Path) -> None:
    production = Settings(env="production", medusa_url="http://m.test", trusted_documents=manifest)
    assert production.trusted_documents_mode == "safelist"
    assert Settings(trusted_documents=manifest).trusted_documents_mode == "off"
    assert Settings(env="production", medusa_url="http://m.test").trusted_documents_mode == "off"
    explicit = Settings(
        env="production",
        medusa_url="http://m.test",
        trusted_documents=manifest,
        trusted_documents_mode="require-id",
    )
    assert explicit.trusted_documents_mode == "require-id"


def test_an_enforced_mode_without_a_manifest_is_refused() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_TRUSTED_DOCUMENTS_MODE=require-id needs"):
        load_settings(trusted_documents_mode="require-id")


def test_the_mode_comes_from_the_environment(
    manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_TRUSTED_DOCUMENTS", str(manifest))
    monkeypatch.setenv("GATEWAY_TRUSTED_DOCUMENTS_MODE", "require-id")
    settings = load_settings()
    assert (settings.trusted_documents, settings.trusted_documents_mode) == (
        manifest,
        "require-id",
    )


# --- requests by id ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["safelist", "require-id", "off"])
def test_a_document_id_runs_the_manifest_document_in_every_mode(
    mode: str, manifest: Path, gateway: GatewayFactory
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode=mode)
    assert by_id(client, PROFILE).json() == PROFILE_DATA


def test_the_id_may_come_without_prefix_and_in_capitals(
    manifest: Path, gateway: GatewayFactory
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="require-id")
    response = client.post("/graphql", json={"documentId": sha256(PROFILE).upper()})
    assert response.json() == PROFILE_DATA


def test_a_document_id_works_over_get(manifest: Path, gateway: GatewayFactory) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="require-id")
    response = client.get(
        "/graphql",
        params={"documentId": f"sha256:{sha256(PROFILE)}"},
        headers={"apollo-require-preflight": "true"},
    )
    assert response.json() == PROFILE_DATA


def test_a_mutation_by_id_runs_over_post_only(
    manifest: Path, gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="require-id")
    over_get = client.get(
        "/graphql", params={"documentId": sha256(PAY)}, headers={"x-apollo-operation-name": "P"}
    )
    assert over_get.status_code == 405
    assert medusa.requests == []
    over_post = by_id(client, PAY)
    assert over_post.json()["data"]["createPaymentSession"]["paymentSession"]["id"]
    assert len(medusa.requests) == 1


def test_apollo_persisted_query_hashes_resolve_through_the_manifest(
    manifest: Path, gateway: GatewayFactory
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="require-id")
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(PROFILE)}}}
    assert client.post("/graphql", json=body).json() == PROFILE_DATA


def test_variables_and_operation_name_go_with_the_id(
    tmp_path: Path, gateway: GatewayFactory
) -> None:
    document = (
        "query A($r: ID!) { paymentProviders(regionId: $r) { id } } "
        "query B { gateway { backendProfile } }"
    )
    path = codegen_manifest(tmp_path / "m.json", document)
    client = gateway(trusted_documents=path, trusted_documents_mode="require-id")
    assert by_id(client, document, operationName="B").json() == PROFILE_DATA
    refused = by_id(client, document, operationName="A", variables={"r": 42.5})
    assert code_of(refused) == "BAD_USER_INPUT"


def test_an_id_with_a_different_query_is_refused(manifest: Path, gateway: GatewayFactory) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="safelist")
    response = by_id(client, PROFILE, query=OTHER)
    assert (response.status_code, code_of(response)) == (400, "BAD_REQUEST")


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["safelist", "require-id", "off"])
def test_an_unknown_document_id_is_not_found_with_no_backend_call(
    mode: str, manifest: Path, gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode=mode)
    response = by_id(client, OTHER)
    assert (response.status_code, code_of(response)) == (400, "PERSISTED_QUERY_NOT_FOUND")
    assert medusa.requests == []


def test_an_unknown_document_id_without_a_manifest_is_not_found(gateway: GatewayFactory) -> None:
    assert code_of(by_id(gateway(), PROFILE)) == "PERSISTED_QUERY_NOT_FOUND"


def test_safelist_runs_a_raw_document_only_if_it_is_in_the_manifest(
    manifest: Path, gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="safelist")
    assert client.post("/graphql", json={"query": PROFILE}).json() == PROFILE_DATA
    refused = client.post("/graphql", json={"query": mutation("paymentSession { id }")})
    assert (refused.status_code, code_of(refused)) == (400, "PERSISTED_QUERY_NOT_IN_LIST")
    assert medusa.requests == []


def test_require_id_refuses_raw_documents_even_listed_ones(
    manifest: Path, gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="require-id")
    for document in (PAY, OTHER):
        refused = client.post("/graphql", json={"query": document})
        assert (refused.status_code, code_of(refused)) == (400, "PERSISTED_QUERY_ID_REQUIRED")
        assert "documentId" in refused.json()["errors"][0]["message"]
    assert medusa.requests == []


def test_mode_off_runs_anything(manifest: Path, gateway: GatewayFactory) -> None:
    client = gateway(trusted_documents=manifest)
    assert client.post("/graphql", json={"query": OTHER}).json() == {
        "data": {"__typename": "Query"}
    }


@pytest.mark.parametrize("mode", ["safelist", "require-id"])
def test_apq_registration_is_off_while_the_manifest_is_enforced(
    mode: str, manifest: Path, gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode=mode)
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256(OTHER)}}
    register = client.post("/graphql", json={"query": OTHER, "extensions": apq})
    assert code_of(register) in {"PERSISTED_QUERY_NOT_IN_LIST", "PERSISTED_QUERY_ID_REQUIRED"}
    again = client.post("/graphql", json={"extensions": apq})
    assert (again.status_code, code_of(again)) == (200, "PERSISTED_QUERY_NOT_FOUND")
    assert again.json()["errors"][0]["message"] == "PersistedQueryNotFound"  # Apollo's cue
    assert medusa.requests == []


def test_apq_still_registers_in_mode_off(manifest: Path, gateway: GatewayFactory) -> None:
    client = gateway(trusted_documents=manifest)
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256(OTHER)}}
    client.post("/graphql", json={"query": OTHER, "extensions": apq})
    assert client.post("/graphql", json={"extensions": apq}).json() == {
        "data": {"__typename": "Query"}
    }


def test_a_malformed_document_id_is_a_bad_request(manifest: Path, gateway: GatewayFactory) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="require-id")
    response = client.post("/graphql", json={"documentId": 42})
    assert (response.status_code, code_of(response)) == (400, "BAD_REQUEST")


# --- coverage metric --------------------------------------------------------------------------


def test_the_metric_counts_hits_by_id_and_misses_without_client_labels(
    manifest: Path, gateway: GatewayFactory
) -> None:
    client = gateway(trusted_documents=manifest, trusted_documents_mode="safelist")
    by_id(client, PROFILE)
    by_id(client, PROFILE)
    client.post("/graphql", json={"documentId": "sha256:" + "ab" * 32})
    client.post("/graphql", json={"query": OTHER})
    text = client.get("/metrics").text
    hit = (
        f'gateway_trusted_documents_requests_total{{document_id="{sha256(PROFILE)}",'
        'operation="Profile",outcome="hit"} 2.0'
    )
    assert hit in text
    assert 'document_id="",operation="",outcome="not_found"} 1.0' in text
    assert 'document_id="",operation="",outcome="not_in_list"} 1.0' in text
    assert "ab" * 32 not in text  # a client's id never becomes a label
    assert "gateway_trusted_documents_loaded 2.0" in text


# --- reload -----------------------------------------------------------------------------------


def _rewrite(path: Path, *documents: str) -> None:
    """Replace the manifest atomically (as deploy tools should), with a new mtime."""
    fresh = path.with_suffix(".tmp")
    codegen_manifest(fresh, *documents)
    fresh.replace(path)
    later = time.time() + 5
    os.utime(path, (later, later))


def test_a_changed_manifest_is_reloaded_whole(manifest: Path) -> None:
    trusted = TrustedDocuments.from_settings(
        Settings(trusted_documents=manifest, trusted_documents_mode="safelist"), compiler()
    )
    assert trusted.reload_if_changed() is False  # unchanged
    _rewrite(manifest, OTHER)
    assert trusted.reload_if_changed() is True
    assert trusted.manifest is not None
    assert list(trusted.manifest.by_id) == [sha256(OTHER)]


def test_a_bad_new_manifest_keeps_the_old_one_and_is_logged(
    manifest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trusted = TrustedDocuments.from_settings(Settings(trusted_documents=manifest), compiler())
    manifest.write_text("{broken")
    with caplog.at_level(logging.ERROR, logger="gateway.trusted_documents"):
        assert trusted.reload_if_changed() is False
        assert trusted.reload_if_changed() is False  # not retried until the file changes
    assert caplog.text.count("reload refused, keeping 2") == 1
    assert trusted.manifest is not None
    assert sorted(trusted.manifest.by_id) == sorted([sha256(PROFILE), sha256(PAY)])


def test_the_running_gateway_picks_up_a_new_manifest(
    manifest: Path, gateway: GatewayFactory
) -> None:
    client = gateway(
        trusted_documents=manifest,
        trusted_documents_mode="require-id",
        trusted_documents_reload_interval=0.05,
    )
    assert code_of(by_id(client, OTHER)) == "PERSISTED_QUERY_NOT_FOUND"
    _rewrite(manifest, PROFILE, OTHER)
    deadline = time.monotonic() + 10
    while code_of_or_none(by_id(client, OTHER)) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert by_id(client, OTHER).json() == {"data": {"__typename": "Query"}}
    assert by_id(client, PROFILE).json() == PROFILE_DATA  # the old entries it keeps still run


def code_of_or_none(response: Any) -> str | None:
    errors = response.json().get("errors")
    return None if not errors else str(errors[0]["extensions"]["code"])
