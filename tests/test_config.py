from __future__ import annotations

import os
import traceback

import pytest
from pydantic import SecretStr, ValidationError

from gateway.config import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_"):
            monkeypatch.delenv(name)


def settings_error(**overrides: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    return str(caught.value)


def test_defaults_listen_on_loopback_and_use_the_sandbox() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.medusa_url is None
    assert settings.uses_sandbox is True
    assert settings.medusa_base_url is None
    assert settings.publishable_key is None


def test_the_other_defaults() -> None:
    settings = load_settings()
    assert settings.connect_timeout == 3.0
    assert settings.request_timeout == 30.0
    assert settings.pool_timeout == 5.0
    assert settings.max_connections == 256
    assert settings.backend_profile == "medusa-2.21"
    assert settings.backend_allowed_fields == []
    assert settings.debug is False
    assert settings.graphiql is True
    assert settings.cors_origins == []
    assert settings.max_query_bytes == 100_000
    assert settings.max_depth == 15
    assert settings.max_aliases == 30
    assert settings.document_cache_size == 512
    assert settings.log_level == "info"


def test_a_url_leaves_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://medusa.internal:9000")
    settings = load_settings()
    assert settings.uses_sandbox is False
    assert settings.medusa_base_url == "http://medusa.internal:9000"


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("GATEWAY_HOST", "0.0.0.0", "host", "0.0.0.0"),  # noqa: S104
        ("GATEWAY_PORT", "9100", "port", 9100),
        ("GATEWAY_CONNECT_TIMEOUT", "0.5", "connect_timeout", 0.5),
        ("GATEWAY_REQUEST_TIMEOUT", "600", "request_timeout", 600.0),
        ("GATEWAY_POOL_TIMEOUT", "1", "pool_timeout", 1.0),
        ("GATEWAY_MAX_CONNECTIONS", "10000", "max_connections", 10_000),
        ("GATEWAY_BACKEND_PROFILE", "open", "backend_profile", "open"),
        ("GATEWAY_DEBUG", "1", "debug", True),
        ("GATEWAY_DEBUG", "true", "debug", True),
        ("GATEWAY_DEBUG", "0", "debug", False),
        ("GATEWAY_GRAPHIQL", "false", "graphiql", False),
        ("GATEWAY_MAX_QUERY_BYTES", "1000", "max_query_bytes", 1000),
        ("GATEWAY_MAX_DEPTH", "2", "max_depth", 2),
        ("GATEWAY_MAX_ALIASES", "1", "max_aliases", 1),
        ("GATEWAY_DOCUMENT_CACHE_SIZE", "0", "document_cache_size", 0),
        ("GATEWAY_LOG_LEVEL", "debug", "log_level", "debug"),
        ("GATEWAY_CORS_ORIGINS", "*", "cors_origins", ["*"]),
    ],
)
def test_each_setting_is_read_from_its_prefixed_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, attribute: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://medusa.internal:9000")
    assert getattr(load_settings(), attribute) == expected


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("MEDUSA_URL", "http://elsewhere")
    settings = load_settings()
    assert settings.port == 8000
    assert settings.uses_sandbox


def test_the_prefix_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("gateway_port", "9001")
    assert load_settings().port == 9001


def test_the_publishable_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PUBLISHABLE_KEY", "pk_01_from_env")
    key = load_settings().publishable_key
    assert isinstance(key, SecretStr)
    assert key.get_secret_value() == "pk_01_from_env"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ("https://a.example,https://b.example,", ["https://a.example", "https://b.example"]),
        (" https://a.example ,, ", ["https://a.example"]),
        ("", []),
        (" , ", []),
    ],
)
def test_comma_lists_are_split_and_trimmed(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", value)
    assert load_settings().cors_origins == expected


def test_a_list_can_also_be_given_as_a_list() -> None:
    assert load_settings(cors_origins=["https://a.example"]).cors_origins == ["https://a.example"]


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9100")
    monkeypatch.setenv("GATEWAY_DEBUG", "1")
    settings = load_settings(port="9200", debug=False)
    assert settings.port == 9200
    assert settings.debug is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_PORT", "70000"),
        ("GATEWAY_PORT", "0"),
        ("GATEWAY_PORT", "eighty"),
        ("GATEWAY_HOST", ""),
        ("GATEWAY_MEDUSA_URL", "ftp://medusa.internal"),
        ("GATEWAY_MEDUSA_URL", "medusa.internal:9000"),
        ("GATEWAY_CONNECT_TIMEOUT", "0"),
        ("GATEWAY_CONNECT_TIMEOUT", "61"),
        ("GATEWAY_REQUEST_TIMEOUT", "-1"),
        ("GATEWAY_REQUEST_TIMEOUT", "601"),
        ("GATEWAY_POOL_TIMEOUT", "0"),
        ("GATEWAY_MAX_CONNECTIONS", "0"),
        ("GATEWAY_MAX_CONNECTIONS", "10001"),
        ("GATEWAY_BACKEND_PROFILE", "medusa-9"),
        ("GATEWAY_DEBUG", "maybe"),
        ("GATEWAY_GRAPHIQL", "sometimes"),
        ("GATEWAY_MAX_QUERY_BYTES", "999"),
        ("GATEWAY_MAX_DEPTH", "1"),
        ("GATEWAY_MAX_DEPTH", "101"),
        ("GATEWAY_MAX_ALIASES", "0"),
        ("GATEWAY_DOCUMENT_CACHE_SIZE", "-1"),
        ("GATEWAY_LOG_LEVEL", "loud"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    message = settings_error()
    assert message.startswith("Invalid gateway settings:")
    assert f"  {variable}: " in message


def test_every_bad_setting_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "70000")
    monkeypatch.setenv("GATEWAY_MAX_DEPTH", "1")
    message = settings_error()
    assert "GATEWAY_PORT" in message
    assert "GATEWAY_MAX_DEPTH" in message
    assert len(message.splitlines()) == 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_PORT", "s3cr3t"),
        ("GATEWAY_PORT", "700s3cr3t"),
        ("GATEWAY_DEBUG", "s3cr3t"),
        ("GATEWAY_LOG_LEVEL", "s3cr3t"),
        ("GATEWAY_BACKEND_PROFILE", "s3cr3t"),
        ("GATEWAY_CONNECT_TIMEOUT", "s3cr3t"),
        ("GATEWAY_MEDUSA_URL", "http://user:s3cr3t@medusa.internal"),
        ("GATEWAY_MEDUSA_URL", "https://s3cr3t:x@medusa.internal:9000/"),
        ("GATEWAY_MEDUSA_URL", "http://user:s3cr3t@medusa.internal:99999"),
        ("GATEWAY_MEDUSA_URL", "ftp://user:s3cr3t@medusa.internal"),
        ("GATEWAY_MEDUSA_URL", "http://medusa.internal/?key=s3cr3t"),
        ("GATEWAY_MEDUSA_URL", "http://medusa.internal/#s3cr3t"),
        ("GATEWAY_MEDUSA_URL", "not a url s3cr3t"),
    ],
)
def test_rejected_values_are_never_echoed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in repr(caught.value)
    assert "s3cr3t" not in "".join(traceback.format_exception(caught.value))


def test_the_validation_error_is_not_chained(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic's own error repeats the input; it must not show up in a traceback.
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://user:s3cr3t@medusa.internal")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


def test_a_url_with_credentials_is_refused_with_advice() -> None:
    message = settings_error(medusa_url="http://user:s3cr3t@medusa.internal")
    assert "GATEWAY_MEDUSA_URL" in message
    assert "credentials" in message
    assert "GATEWAY_PUBLISHABLE_KEY" in message


def test_a_url_with_only_a_user_is_refused() -> None:
    assert "credentials" in settings_error(medusa_url="http://user@medusa.internal")


@pytest.mark.parametrize(
    "url",
    [
        "http://medusa.internal/?x=1",
        "http://medusa.internal/#top",
        # Empty query/fragment: still not a base URL. `http://medusa.internal/?` as base URL
        # makes httpx send every call to `/?/store/...`, i.e. to Medusa's root path.
        "http://medusa.internal/?",
        "http://medusa.internal:9000?",
        "http://medusa.internal/#",
    ],
)
def test_a_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    message = settings_error(medusa_url=url)
    assert "GATEWAY_MEDUSA_URL" in message
    assert "base URL" in message


def test_any_string_is_accepted_as_publishable_key() -> None:
    odd = "not-even-pk_ shaped \u00e9"
    settings = load_settings(publishable_key=odd)
    assert settings.publishable_key is not None
    assert settings.publishable_key.get_secret_value() == odd


def test_custom_profile_requires_allowed_fields() -> None:
    message = settings_error(backend_profile="custom")
    assert "GATEWAY_BACKEND_ALLOWED_FIELDS" in message
    assert "custom" in message


def test_custom_profile_with_only_blank_fields_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_BACKEND_PROFILE", "custom")
    monkeypatch.setenv("GATEWAY_BACKEND_ALLOWED_FIELDS", " , ")
    assert "GATEWAY_BACKEND_ALLOWED_FIELDS" in settings_error()


@pytest.mark.parametrize("profile", ["medusa-2.21", "open"])
def test_allowed_fields_require_the_custom_profile(profile: str) -> None:
    message = settings_error(backend_profile=profile, backend_allowed_fields="amount")
    assert "GATEWAY_BACKEND_ALLOWED_FIELDS" in message
    assert "GATEWAY_BACKEND_PROFILE=custom" in message


def test_allowed_fields_alone_require_the_custom_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_BACKEND_ALLOWED_FIELDS", "amount")
    assert "GATEWAY_BACKEND_PROFILE=custom" in settings_error()


def test_custom_profile_with_fields_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_BACKEND_PROFILE", "custom")
    monkeypatch.setenv("GATEWAY_BACKEND_ALLOWED_FIELDS", "id, amount ,payment_sessions.id")
    settings = load_settings()
    assert settings.backend_profile == "custom"
    assert settings.backend_allowed_fields == ["id", "amount", "payment_sessions.id"]


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://medusa.internal:9000/", "http://medusa.internal:9000"),
        ("http://medusa.internal:9000", "http://medusa.internal:9000"),
        ("https://shop.example/medusa/", "https://shop.example/medusa"),
        ("https://shop.example/medusa", "https://shop.example/medusa"),
    ],
)
def test_the_base_url_has_no_trailing_slash(url: str, base: str) -> None:
    assert load_settings(medusa_url=url).medusa_base_url == base


def test_the_key_is_secret_in_repr_and_str() -> None:
    settings = Settings(publishable_key="pk_live_very_secret")
    assert "pk_live_very_secret" not in repr(settings)
    assert "pk_live_very_secret" not in str(settings)
    assert "pk_live_very_secret" not in repr(settings.model_dump())
    assert settings.publishable_key is not None
    assert settings.publishable_key.get_secret_value() == "pk_live_very_secret"


def test_unknown_settings_are_refused_by_name() -> None:
    message = settings_error(no_such_setting="s3cr3t")
    assert "GATEWAY_NO_SUCH_SETTING" in message
    assert "s3cr3t" not in message


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]


# --- production profile and hardening limits ---------------------------------------------------


def test_production_defaults_turn_graphiql_and_introspection_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://medusa.internal:9000")
    settings = load_settings()
    assert (settings.env, settings.graphiql, settings.introspection) == (
        "production",
        False,
        False,
    )


def test_production_keeps_an_explicit_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://medusa.internal:9000")
    monkeypatch.setenv("GATEWAY_GRAPHIQL", "true")
    settings = load_settings(introspection=True)
    assert (settings.graphiql, settings.introspection) == (True, True)


def test_development_keeps_graphiql_and_introspection_on() -> None:
    settings = load_settings()
    assert (settings.env, settings.graphiql, settings.introspection) == (
        "development",
        True,
        True,
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"env": "production", "medusa_url": "http://m", "debug": True}, "GATEWAY_DEBUG"),
        ({"env": "production", "medusa_url": "http://m", "cors_origins": "*"}, "GATEWAY_CORS"),
        ({"max_query_bytes": 5_000, "max_body_bytes": 4_000}, "GATEWAY_MAX_QUERY_BYTES"),
        ({"connect_retries": 2}, "GATEWAY_CONNECT_RETRIES"),
        ({"max_batch_size": 101}, "GATEWAY_MAX_BATCH_SIZE"),
        ({"env": "staging"}, "GATEWAY_ENV"),
    ],
)
def test_unsafe_combinations_are_refused(overrides: dict[str, object], variable: str) -> None:
    assert variable in settings_error(**overrides)


def test_the_hardening_defaults_are_secure() -> None:
    settings = load_settings()
    assert settings.max_payment_mutations == 1
    assert settings.max_batch_size == 0
    assert settings.max_body_bytes == 262_144
    assert settings.max_tokens == 4_000
    assert settings.max_upstream_calls == 6
    assert settings.connect_retries == 1
    assert settings.max_in_flight == 256
    assert settings.write_timeout == 10.0
    assert settings.max_response_bytes == 2_000_000


def test_a_settings_error_keeps_each_problem_by_setting_so_a_caller_can_rename_it() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(port=0, max_depth=1, debug=True, env="production")
    error = caught.value
    fields = [field for field, _ in error.problems]
    assert fields == ["port", "max_depth"]  # field validators first; the model rule needs them
    assert str(error).splitlines()[1:] == [
        f"  GATEWAY_PORT: {error.problems[0][1]}",
        f"  GATEWAY_MAX_DEPTH: {error.problems[1][1]}",
    ]
    renamed = error.naming(lambda field: f"--{field.replace('_', '-')}")
    assert renamed.splitlines()[1:] == [
        f"  --port: {error.problems[0][1]}",
        f"  --max-depth: {error.problems[1][1]}",
    ]


def test_a_rule_across_settings_is_named_settings_whatever_the_naming() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(debug=True, env="production")
    assert caught.value.naming(str.upper).splitlines()[1].startswith("  settings: ")


def test_an_error_without_problems_keeps_its_message() -> None:
    assert SettingsError("OTEL_TRACES_EXPORTER: unknown").naming(str.upper) == (
        "OTEL_TRACES_EXPORTER: unknown"
    )
