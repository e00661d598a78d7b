from __future__ import annotations

import httpx

from tests.conftest import PUBLISHABLE_KEY, FakeMedusa, GatewayFactory, answer


def providers_backend(medusa: FakeMedusa) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        region = request.url.params["region_id"]
        if region == "reg_broken":
            return httpx.Response(500, json={"type": "unknown_error", "message": "x"})
        rows = [
            {"id": f"pp_{region}", "is_enabled": True},
            {"id": "pp_system_default", "is_enabled": False},
        ]
        if request.url.params["fields"] == "id":
            rows = [{"id": row["id"]} for row in rows]
        return httpx.Response(
            200, json={"payment_providers": rows, "count": 2, "offset": 0, "limit": 100}
        )

    medusa.respond = respond


def test_one_region_asked_three_times_is_loaded_once(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    providers_backend(medusa)
    query = """{
      a: paymentProviders(regionId: "reg_1") { id isEnabled }
      b: paymentProviders(regionId: "reg_1") { id isEnabled }
      c: paymentProviders(regionId: "reg_1") { isEnabled id }
    }"""
    body = answer(gateway(), query)
    assert "errors" not in body
    expected = [
        {"id": "pp_reg_1", "isEnabled": True},
        {"id": "pp_system_default", "isEnabled": False},
    ]
    assert body["data"]["a"] == expected
    assert body["data"]["b"] == expected
    assert len(medusa.requests) == 1
    request = medusa.last
    assert request.method == "GET"
    assert request.url.path == "/store/payment-providers"
    assert dict(request.url.params) == {
        "region_id": "reg_1",
        "fields": "id,is_enabled",
        "limit": "100",
    }
    assert request.headers["x-publishable-api-key"] == PUBLISHABLE_KEY
    assert "content-type" not in request.headers


def test_each_region_and_projection_is_one_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    providers_backend(medusa)
    query = """{
      a: paymentProviders(regionId: "reg_1") { id }
      b: paymentProviders(regionId: "reg_2") { id }
      c: paymentProviders(regionId: "reg_2") { id isEnabled }
    }"""
    body = answer(gateway(), query)
    assert body["data"]["a"] == [{"id": "pp_reg_1"}, {"id": "pp_system_default"}]
    seen = sorted((r.url.params["region_id"], r.url.params["fields"]) for r in medusa.requests)
    assert seen == [("reg_1", "id"), ("reg_2", "id"), ("reg_2", "id,is_enabled")]


def test_a_failing_region_fails_only_its_field(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    providers_backend(medusa)
    query = (
        '{ ok: paymentProviders(regionId: "reg_1") { id } '
        'bad: paymentProviders(regionId: "reg_broken") { id } }'
    )
    body = answer(gateway(), query)
    assert body["data"] == {"ok": [{"id": "pp_reg_1"}, {"id": "pp_system_default"}], "bad": None}
    (error,) = body["errors"]
    assert error["path"] == ["bad"]
    assert error["extensions"]["code"] == "BACKEND_ERROR"


def test_an_invalid_region_id_is_refused_without_a_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    body = answer(gateway(), '{ paymentProviders(regionId: "../admin") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert medusa.requests == []


def test_debug_mode_shows_every_query_parameter_of_the_read(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    providers_backend(medusa)
    query = '{ paymentProviders(regionId: "reg_1") { id } }'
    body = gateway(debug=True).post("/graphql", json={"query": query}).json()
    (call,) = body["extensions"]["upstream"]
    assert call["path"] == "/store/payment-providers"
    assert call["fields"] == "id"
    assert call["query"] == {"region_id": "reg_1", "limit": "100"}
