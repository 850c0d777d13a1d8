"""Settings: environment parsing, defaults, validation and the derived modes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.config import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)


def test_defaults_mean_embedded_sandbox_with_graphiql() -> None:
    settings = Settings()
    assert settings.upstream_url is None
    assert settings.embedded_sandbox
    assert not settings.pass_through_auth
    assert settings.graphiql_enabled
    assert settings.catalogue_cache_ttl == 60
    assert settings.max_concurrent_upstream == 10


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_UPSTREAM_URL", "https://api.cnaught.com/v1/")
    monkeypatch.setenv("GATEWAY_UPSTREAM_API_KEY", "sk_live_secret")
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "12.5")
    monkeypatch.setenv("GATEWAY_MAX_RETRIES", "5")
    monkeypatch.setenv("GATEWAY_GRAPHIQL", "true")
    monkeypatch.setenv("UPSTREAM_URL", "http://unprefixed.invalid")  # ignored: no prefix
    settings = Settings()
    assert settings.upstream_url == "https://api.cnaught.com/v1"  # trailing slash dropped
    assert settings.upstream_api_key is not None
    assert settings.upstream_api_key.get_secret_value() == "sk_live_secret"
    assert (settings.read_timeout, settings.max_retries, settings.graphiql_enabled) == (12.5, 5, True)
    assert not settings.embedded_sandbox


def test_api_key_never_shows_in_repr_or_dump() -> None:
    settings = Settings(upstream_url="https://api.example/v1", upstream_api_key="sk_live_secret")
    assert "sk_live_secret" not in repr(settings)
    assert "sk_live_secret" not in settings.model_dump_json()


def test_url_without_key_means_pass_through_and_no_graphiql_by_default() -> None:
    settings = Settings(upstream_url="https://api.example/v1")
    assert settings.pass_through_auth
    assert not settings.graphiql_enabled


def test_blank_url_means_embedded_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_UPSTREAM_URL", "  ")
    assert Settings().embedded_sandbox


@pytest.mark.parametrize("url", ["api.cnaught.com/v1", "ftp://api.example/v1", "https://"])
def test_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValidationError, match="absolute http"):
        Settings(upstream_url=url)


@pytest.mark.parametrize(
    ("field", "value"), [("read_timeout", 0), ("max_retries", -1), ("log_level", "loud")]
)
def test_rejects_out_of_range_values(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_safe_upstream_url_drops_credentials_and_query() -> None:
    settings = Settings(upstream_url="https://user:pw@api.example:8443/v1?key=sk_x")
    assert settings.safe_upstream_url == "https://api.example:8443/v1"
    assert Settings().safe_upstream_url == "embedded sandbox"


def test_every_field_is_documented() -> None:
    undocumented = [name for name, info in Settings.model_fields.items() if not info.description]
    assert undocumented == []


def test_every_variable_is_in_the_readme_configuration_table() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`GATEWAY_{name.upper()}`" not in readme]
    assert missing == []


def test_every_security_variable_is_in_the_readme() -> None:
    import re
    from pathlib import Path

    from gateway.security.settings import SecuritySettings

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in SecuritySettings.model_fields
        if not re.search(rf"`GATEWAY_{name.upper()}[`=]", readme)
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("fields", "graphiql", "introspection"),
    [
        ({}, False, False),
        ({"graphiql": True}, True, True),  # GraphiQL loads the schema by introspection
        ({"graphiql": True, "introspection": False}, True, False),  # an explicit choice wins
        ({"introspection": True}, False, True),
    ],
)
def test_introspection_follows_graphiql_unless_set(
    fields: dict[str, bool], graphiql: bool, introspection: bool
) -> None:
    settings = Settings(upstream_url="https://api.example/v1", upstream_api_key="sk_live_x", **fields)
    assert (settings.graphiql_enabled, settings.introspection_enabled) == (graphiql, introspection)
