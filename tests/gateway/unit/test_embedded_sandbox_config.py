"""The embedded sandbox takes its settings from the gateway only, never from stray SANDBOX_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config import Settings


def test_standalone_sandbox_variables_do_not_reach_the_embedded_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stray = {
        "SANDBOX_SUBACCOUNTS_ENABLED": "false",
        "SANDBOX_ENABLE_ADMIN": "true",
        "SANDBOX_DB": str(tmp_path / "standalone.sqlite"),
        "SANDBOX_FULFILMENT_DELAY": "99",
        "SANDBOX_API_KEYS": "sk_standalone_only",
        "SANDBOX_PRODUCT_CLIENT_ID": "standalone-client",
        "SANDBOX_PUBLIC_BASE_URL": "http://standalone.invalid",
    }
    for name, value in stray.items():
        monkeypatch.setenv(name, value)
    app = create_app(Settings(upstream_url=None, sandbox_fulfilment_delay=7.0))
    config = app.state.sandbox_app.state.config
    assert config.subaccounts_enabled is True
    assert config.enable_admin is False
    assert config.db is None
    assert config.fulfilment_delay == 7.0
    assert config.api_keys == []
    assert config.product_client_id is None
    assert config.public_base_url == "http://127.0.0.1:8001"
    assert not (tmp_path / "standalone.sqlite").exists()


def test_the_gateway_sandbox_settings_still_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SANDBOX_DB", str(tmp_path / "standalone.sqlite"))
    app = create_app(Settings(upstream_url=None, sandbox_db=tmp_path / "gateway.sqlite"))
    assert app.state.sandbox_app.state.config.db == tmp_path / "gateway.sqlite"
