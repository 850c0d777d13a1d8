"""gateway.preflight: the known variables come from the settings models; problems name the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gateway.config import OtelSettings, Settings
from gateway.preflight import (
    ConfigError,
    _dotenv_values,
    known_variables,
    load_settings,
    preflight,
    unknown_variables,
    variable_of,
)
from gateway.security.settings import SecuritySettings


def test_every_field_of_the_settings_and_of_nested_settings_is_a_known_variable() -> None:
    known = known_variables()
    expected = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}
    expected |= {f"GATEWAY_{name.upper()}" for name in SecuritySettings.model_fields}
    expected |= {f"OTEL_{name.upper()}" for name in OtelSettings.model_fields}  # the standard OTEL_* ones
    assert set(known) == expected
    assert known["GATEWAY_CLIENTS_FILE"] == ("security", "clients_file")
    assert known["GATEWAY_UPSTREAM_URL"] == ("upstream_url",)


class _Later(SecuritySettings):
    """A settings model as another change might extend it: a new field is known without a list to edit."""

    jwt_subaccount_claim: str = Field(default="subaccount_id", description="a field added later")


class _LaterSettings(Settings):
    security: _Later = Field(default_factory=_Later, description="nested")


def test_a_field_added_to_a_model_is_known_at_once() -> None:
    environ = {"GATEWAY_JWT_SUBACCOUNT_CLAIM": "sub", "GATEWAY_JWT_SUBACOUNT_CLAIM": "sub"}
    problems = unknown_variables(environ, _LaterSettings)
    assert [p.variable for p in problems] == ["GATEWAY_JWT_SUBACOUNT_CLAIM"]
    assert "did you mean GATEWAY_JWT_SUBACCOUNT_CLAIM?" in problems[0].reason


def test_unknown_variables_get_a_did_you_mean_and_other_prefixes_are_ignored() -> None:
    environ = {"GATEWAY_UPSTREM_URL": "x", "GATEWAY_ZZZ": "x", "PATH": "/bin", "UPSTREAM_URL": "x"}
    problems = {p.variable: p.reason for p in unknown_variables(environ)}
    assert problems["GATEWAY_UPSTREM_URL"] == "unknown variable; did you mean GATEWAY_UPSTREAM_URL?"
    assert problems["GATEWAY_ZZZ"].startswith("unknown variable (see the README")
    assert set(problems) == {"GATEWAY_UPSTREM_URL", "GATEWAY_ZZZ"}


def test_kubernetes_service_links_of_a_service_named_gateway_are_not_typos() -> None:
    links = ["GATEWAY_SERVICE_HOST", "GATEWAY_SERVICE_PORT", "GATEWAY_SERVICE_PORT_HTTP", "GATEWAY_PORT"]
    links += ["GATEWAY_PORT_8000_TCP", "GATEWAY_PORT_8000_TCP_ADDR", "GATEWAY_PORT_8000_TCP_PROTO"]
    assert unknown_variables(dict.fromkeys(links, "10.0.0.1")) == []
    assert [p.variable for p in unknown_variables({"GATEWAY_PORTS": "1"})] == ["GATEWAY_PORTS"]


def test_lower_case_names_are_read_by_the_settings_so_they_are_known() -> None:
    assert unknown_variables({"gateway_upstream_url": "x"}) == []


def test_a_validation_location_maps_to_its_variable() -> None:
    assert variable_of(("max_depth",)) == "GATEWAY_MAX_DEPTH"  # a nested model validated on its own
    assert variable_of(("security", "cors_origins", 0)) == "GATEWAY_CORS_ORIGINS"
    assert variable_of(("upstream_api_key",)) == "GATEWAY_UPSTREAM_API_KEY"


def test_load_settings_names_every_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.upper().startswith("GATEWAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_UPSTREAM_APIKEY", "sk_live_x")
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "soon")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert [p.variable for p in error.value.problems] == ["GATEWAY_UPSTREAM_APIKEY", "GATEWAY_READ_TIMEOUT"]
    assert "sk_live_x" not in str(error.value) and "soon" not in str(error.value)


def test_a_dotenv_file_read_by_the_settings_is_checked_too(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("GATEWAY_UPSTREM_URL=https://typo.example\n")

    class WithDotenv(Settings):
        model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=dotenv, extra="ignore")

    values = _dotenv_values(WithDotenv)
    assert [p.variable for p in unknown_variables(values, WithDotenv)] == ["GATEWAY_UPSTREM_URL"]
    assert _dotenv_values(Settings) == {}  # the gateway's own settings read no .env file


def test_an_upstream_key_without_url_is_refused() -> None:
    with pytest.raises(ValueError, match="GATEWAY_UPSTREAM_URL is not"):
        Settings(upstream_api_key="sk_live_x")
    assert Settings(upstream_api_key="  ").upstream_api_key is None  # blank means unset


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("redis_url", "notaurl", "redis://"),
        ("redis_url", "redis://host:99999/0", "redis://"),
        ("jwt_jwks_url", "notaurl", "absolute http(s) URL"),
        ("jwt_secret", "x" * 31, "at least 32 bytes"),
        ("cors_origins", "https://shop.example/path", "scheme://host"),
        ("cors_origins", "shop-only.test", "scheme://host"),
    ],
)
def test_security_values_are_checked(field: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")) as error:
        SecuritySettings(**{field: value})
    assert value not in str(error.value).split("[type=")[0]


def test_good_security_values_pass() -> None:
    settings = SecuritySettings(
        redis_url="rediss://:pw@cache.internal:6380/1",
        jwt_jwks_url="https://idp.example/.well-known/jwks.json",
        jwt_secret="s" * 32,
        cors_origins="https://shop.example, http://localhost:3000,*",
    )
    assert settings.cors_origins == ["https://shop.example", "http://localhost:3000", "*"]
    assert SecuritySettings(redis_url="unix:///run/redis.sock").redis_url is not None


def test_preflight_names_each_bad_file_and_resolves_the_mode(tmp_path: Path) -> None:
    (tmp_path / "clients.json").write_text(json.dumps({"clients": "no"}))
    (tmp_path / "trusted.json").write_text("[1, 2]")
    security = SecuritySettings(
        clients_file=tmp_path / "clients.json", trusted_documents_file=tmp_path / "trusted.json"
    )
    with pytest.raises(ConfigError) as error:
        preflight(Settings(security=security))
    problems = {p.variable: p.reason for p in error.value.problems}
    assert set(problems) == {"GATEWAY_CLIENTS_FILE", "GATEWAY_TRUSTED_DOCUMENTS_FILE"}
    assert str(tmp_path) not in str(error.value)
    assert preflight(Settings()).auth_mode == "sandbox"
