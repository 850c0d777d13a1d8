"""No credential in any log line: a gateway started by its CLI gets credentials in every place a request
can carry them, and its whole output (access log included, at debug level) is searched for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.processes import GatewayProcess
from tests.security.conftest import AUDIENCE, JWT_SECRET, TOKENS, UPSTREAM_KEY, SecureSetup, make_jwt

FOREIGN_KEY = "sk_live_4f9a8b7c6d5e4f3a2b1c"
QUERY = "{ portfolios { id } }"


@pytest.fixture
def gateway(secure: SecureSetup, tmp_path: Path) -> Iterator[GatewayProcess]:
    env = {
        "GATEWAY_UPSTREAM_URL": f"{secure.sandbox_url}/v1",
        "GATEWAY_UPSTREAM_API_KEY": UPSTREAM_KEY,
        "GATEWAY_CLIENTS_FILE": str(secure.clients_file),
        "GATEWAY_JWT_SECRET": JWT_SECRET,
        "GATEWAY_JWT_AUDIENCE": AUDIENCE,
    }
    process = GatewayProcess(env, tmp_path / "gateway.log", log_level="debug")
    try:
        yield process.wait_healthy()
    finally:
        process.stop()


NOT_A_CLIENT = "tok_not_a_client_0123456789"


def _credentials() -> list[str]:
    return [
        TOKENS["admin"][0],  # valid client token
        TOKENS["bound_reader"][0],
        NOT_A_CLIENT,  # invalid client token
        make_jwt({"scope": "read"}),  # valid JWT
        make_jwt({"scope": "read", "exp": 1}),  # expired
        make_jwt({"scope": "admin"}, "wrong-secret-wrong-secret-wrong-secret"),  # bad signature
        FOREIGN_KEY,  # an offsets API key the caller should not have sent
    ]


def _send_everywhere(http: httpx.Client, credential: str, admin: str) -> None:
    encoded = quote(credential, safe="")
    fully_encoded = "".join(f"%{byte:02X}" for byte in credential.encode())
    auth = {"authorization": f"Bearer {credential}"}
    http.post("/graphql", json={"query": QUERY}, headers=auth)
    http.post("/graphql", json={"query": QUERY}, headers={**auth, "x-request-id": credential})
    if credential != NOT_A_CLIENT:
        # Another credential as X-Request-Id: refused as an id (its shape, or the clients registry knows it).
        # A string that authenticates nobody is not a credential: as an id it is the caller's own label,
        # and request ids are on every request's log lines (gateway.telemetry), so it is not sent here.
        http.post(
            "/graphql",
            json={"query": QUERY},
            headers={"authorization": f"Bearer {admin}", "x-request-id": credential},
        )
    http.post("/graphql", json={"query": QUERY}, headers={"authorization": f"Basic {credential}"})
    preflight = {"authorization": f"Bearer {admin}", "apollo-require-preflight": "true"}
    for query_string in (
        f"query={quote(QUERY)}&api_key={credential}",
        f"query={quote(QUERY)}&token={encoded}",
        f"query={quote(QUERY)}&x={fully_encoded}",
        f"{credential}",
    ):
        http.get(f"/graphql?{query_string}", headers=preflight)
    http.get(f"/{fully_encoded}", headers=preflight)  # a 404 path
    http.get(f"/graphql/{encoded}", headers=preflight)
    # In bodies: arguments the upstream refuses (errors may quote them), variables, a broken document.
    admin_auth = {"authorization": f"Bearer {admin}"}
    http.post("/graphql", json={"query": f'{{ order(id: "{credential}") {{ id }} }}'}, headers=admin_auth)
    http.post(
        "/graphql",
        json={"query": "query($id: ID!) { subaccount(id: $id) { id } }", "variables": {"id": credential}},
        headers=admin_auth,
    )
    http.post("/graphql", json={"query": f"{{ {credential} }}"}, headers=admin_auth)
    http.post(
        "/graphql",
        content=f'{{"query": "{credential}',
        headers={**admin_auth, "content-type": "application/json"},
    )


def test_no_credential_reaches_the_log(gateway: GatewayProcess, secure: SecureSetup) -> None:
    credentials = _credentials()
    admin = secure.token("admin")
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for credential in credentials:
            _send_everywhere(http, credential, admin)
        # An upstream failure, retried and logged.
        secure.sandbox_app.state.faults.set([{"route": "GET /v1/portfolios", "status": 500}])
        try:
            http.post("/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {admin}"})
        finally:
            secure.sandbox_app.state.faults.clear()
    log = gateway.log()
    assert '"POST /graphql" 200' in log  # the access log (gateway.telemetry.access) was captured
    assert "auth: rejected" in log
    for secret in [*credentials, UPSTREAM_KEY, JWT_SECRET]:
        for form in {secret, quote(secret, safe=""), secret[:24]}:
            assert form not in log, f"{form[:12]}... in the log:\n{log}"
    for marker in ("Logging error", "Traceback"):
        assert marker not in log, log
