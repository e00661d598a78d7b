from __future__ import annotations

import pytest

from gateway.config import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)


def test_defaults_listen_on_loopback_and_use_the_sandbox() -> None:
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.uses_sandbox
    assert settings.medusa_base_url is None
    assert settings.backend_profile == "medusa-2.21"
    assert settings.debug is False


def test_environment_with_prefix_and_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://medusa.internal:9000/")
    monkeypatch.setenv("GATEWAY_PORT", "9100")
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GATEWAY_DEBUG", "1")
    settings = load_settings()
    assert settings.medusa_base_url == "http://medusa.internal:9000"
    assert not settings.uses_sandbox
    assert settings.port == 9100
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.debug is True


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9100")
    assert load_settings(port="9200").port == 9200


@pytest.mark.parametrize(
    ("name", "value", "variable"),
    [
        ("GATEWAY_PORT", "70000", "GATEWAY_PORT"),
        ("GATEWAY_PORT", "eighty", "GATEWAY_PORT"),
        ("GATEWAY_MEDUSA_URL", "ftp://x", "GATEWAY_MEDUSA_URL"),
        ("GATEWAY_REQUEST_TIMEOUT", "0", "GATEWAY_REQUEST_TIMEOUT"),
        ("GATEWAY_BACKEND_PROFILE", "medusa-9", "GATEWAY_BACKEND_PROFILE"),
        ("GATEWAY_LOG_LEVEL", "loud", "GATEWAY_LOG_LEVEL"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, variable: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)


def test_rejected_values_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_MEDUSA_URL", "http://user:s3cr3t@medusa.internal")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "s3cr3t" not in str(caught.value)
    assert "GATEWAY_MEDUSA_URL" in str(caught.value)


def test_a_url_with_a_query_is_refused() -> None:
    with pytest.raises(SettingsError, match="base URL"):
        load_settings(medusa_url="http://medusa.internal/?x=1")


def test_custom_profile_and_allowed_fields_go_together() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_BACKEND_ALLOWED_FIELDS"):
        load_settings(backend_profile="custom")
    with pytest.raises(SettingsError, match="only used with"):
        load_settings(backend_allowed_fields="amount")
    settings = load_settings(backend_profile="custom", backend_allowed_fields="amount, *payments")
    assert settings.backend_allowed_fields == ["amount", "*payments"]


def test_the_key_is_secret_in_repr() -> None:
    settings = Settings(publishable_key="pk_live_very_secret")
    assert "pk_live_very_secret" not in repr(settings)
    assert settings.publishable_key is not None
    assert settings.publishable_key.get_secret_value() == "pk_live_very_secret"


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(SettingsError):
        load_settings(no_such_setting="1")
