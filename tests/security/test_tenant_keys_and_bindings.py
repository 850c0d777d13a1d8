"""Tenants in depth, over real HTTP (gateway and sandbox under uvicorn): idempotency keys are namespaced per
credential, and subaccount bindings fail closed (clients file at start-up, JWT claims per request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.auth.clients import hash_token
from gateway.auth.errors import AuthenticationError
from gateway.auth.jwt import BindingRule
from gateway.security.settings import SecuritySettings
from tests.security.conftest import Gateway, SecureSetup, make_jwt

PLACE = (
    "mutation($kg: Float!, $key: String) { placeOrder(input: {amountKg: $kg, idempotencyKey: $key}) "
    "{ order { upstreamId subaccount { upstreamId } } replayed idempotencyKey userErrors { code } } }"
)
WRITE = ["read", "orders:write"]
#: name -> (token, bound to which of the setup's subaccounts: "a", "b" or None)
CLIENTS: dict[str, tuple[str, str | None]] = {
    "tenant-a": ("tok_tenant_a_0123456789", "a"),
    "tenant-b": ("tok_tenant_b_0123456789", "b"),
    "job-1": ("tok_job_1_0123456789", None),
    "job-2": ("tok_job_2_0123456789", None),
}


@pytest.fixture(scope="module")
def tenants(secure: SecureSetup, tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    """A gateway whose clients are two tenants (bound to sub_a and sub_b) and two unbound jobs."""
    subs = {"a": secure.sub_a, "b": secure.sub_b}
    entries = [
        {"name": name, "token_sha256": hash_token(token), "scopes": WRITE}
        | ({"subaccount_id": subs[bound]} if bound else {})
        for name, (token, bound) in CLIENTS.items()
    ]
    path = tmp_path_factory.mktemp("tenants") / "clients.json"
    path.write_text(json.dumps({"clients": entries}))
    secure.clients_file = path  # later `secure.start(...)` calls in this module use these clients
    return secure.start()


def place(gateway: Gateway, client: str, kg: float, key: str) -> dict[str, Any]:
    response = gateway.post(PLACE, {"kg": kg, "key": key}, token=CLIENTS[client][0])
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


def test_a_tenant_cannot_tell_which_keys_another_used(tenants: Gateway, secure: SecureSetup) -> None:
    theirs = place(tenants, "tenant-b", 2, "invoice-1")
    mine = place(tenants, "tenant-a", 2, "invoice-1")
    # Same key, same input: no IDEMPOTENCY_KEY_REUSED, no replay of B's order - A's own new order.
    assert (mine["userErrors"], mine["replayed"], mine["idempotencyKey"]) == ([], False, "invoice-1")
    assert mine["order"]["upstreamId"] != theirs["order"]["upstreamId"]
    assert mine["order"]["subaccount"]["upstreamId"] == secure.sub_a
    # The namespace is A's own: A reusing its key with other input is still refused.
    reused = place(tenants, "tenant-a", 7, "invoice-1")
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]


def test_a_tenant_cannot_block_another_tenants_next_order(tenants: Gateway, secure: SecureSetup) -> None:
    squatted = place(tenants, "tenant-a", 3, "b-order-next")
    theirs = place(tenants, "tenant-b", 4, "b-order-next")
    assert (theirs["userErrors"], theirs["replayed"]) == ([], False)
    assert theirs["order"]["subaccount"]["upstreamId"] == secure.sub_b
    assert theirs["order"]["upstreamId"] != squatted["order"]["upstreamId"]


def test_the_same_credential_retrying_replays_also_through_another_gateway(
    tenants: Gateway, secure: SecureSetup
) -> None:
    first = place(tenants, "tenant-a", 1, "retry-me")
    again = place(tenants, "tenant-a", 1, "retry-me")
    replica = secure.start()  # another process's worth of gateway: the namespace is derived, not stored
    elsewhere = place(replica, "tenant-a", 1, "retry-me")
    assert (first["replayed"], again["replayed"], elsewhere["replayed"]) == (False, True, True)
    assert first["order"] == again["order"] == elsewhere["order"]


def test_unbound_credentials_have_namespaces_too_and_upstream_never_sees_a_caller_key(
    tenants: Gateway, secure: SecureSetup
) -> None:
    secure.request_log.clear()
    one = place(tenants, "job-1", 5, "nightly-2026-11-29")
    two = place(tenants, "job-2", 5, "nightly-2026-11-29")
    assert two["replayed"] is False and two["order"]["upstreamId"] != one["order"]["upstreamId"]
    sent = [e.headers["idempotency-key"] for e in secure.request_log.entries if e.route == "POST /v1/orders"]
    assert len(sent) == 2 and sent[0] != sent[1]
    assert all(key.startswith("gw1-") and len(key) <= 512 and "nightly" not in key for key in sent)


# --- bindings fail closed: JWT claims ---------------------------------------------------------------------

SUBACCOUNTS = "{ subaccounts(first: 10) { edges { node { upstreamId } } } }"


def listed(gateway: Gateway, token: str) -> tuple[int, Any]:
    response = gateway.post(SUBACCOUNTS, token=token)
    body = response.json()
    if response.status_code != 200:
        return response.status_code, body["errors"][0]["extensions"]["code"]
    return 200, [e["node"]["upstreamId"] for e in body["data"]["subaccounts"]["edges"]]


@pytest.mark.parametrize(
    "claims",
    [
        {"subaccountId": "x"},  # the binding under another name is not silently ignored
        {"SubAccount-ID": "x"},
        {"subaccount_id": ""},
        {"subaccount_id": None},
        {"subaccount_id": 42},
        {"subaccount_id": ["x"]},
        {"subaccount_id": "not an id"},
    ],
    ids=repr,
)
def test_a_doubtful_jwt_binding_is_refused_never_unbound(
    tenants: Gateway, secure: SecureSetup, claims: dict[str, Any]
) -> None:
    assert listed(tenants, make_jwt({"scope": "read", **claims})) == (401, "UNAUTHENTICATED")


def test_the_binding_claim_is_configurable_and_can_be_required(tenants: Gateway, secure: SecureSetup) -> None:
    default_claim = make_jwt({"scope": "read", "subaccount_id": secure.sub_b})
    assert listed(tenants, default_claim) == (200, [secure.sub_b])
    unbound = make_jwt({"scope": "read"})
    status, seen = listed(tenants, unbound)
    assert status == 200 and {secure.sub_a, secure.sub_b} <= set(seen)

    custom = secure.start(jwt_subaccount_claim="tenant", jwt_require_subaccount=True)
    assert listed(custom, make_jwt({"scope": "read", "tenant": secure.sub_b})) == (200, [secure.sub_b])
    assert listed(custom, unbound) == (401, "UNAUTHENTICATED")  # required: no binding, no entry
    assert listed(custom, default_claim) == (401, "UNAUTHENTICATED")  # the old claim name is suspicious
    # Client tokens are not JWTs: an unbound job still works (the option is for frontend audiences).
    assert listed(custom, CLIENTS["job-1"][0])[0] == 200


@pytest.mark.parametrize(
    ("claims", "bound"),
    [({}, None), ({"tenant": "5nubL0NS"}, "5nubL0NS"), ({"tenant": "a"}, "a")],
)
def test_binding_rule_reads_the_configured_claim(claims: dict[str, Any], bound: str | None) -> None:
    assert BindingRule("tenant").subaccount(claims) == bound
    if bound is None:
        with pytest.raises(AuthenticationError, match="missing the subaccount binding claim 'tenant'"):
            BindingRule("tenant", required=True).subaccount(claims)


# --- bindings fail closed: the clients file refuses start-up ----------------------------------------------


@pytest.mark.parametrize("binding", ["", "   ", None, 7, "sub acme", "Subaccount:abc"], ids=repr)
def test_a_blank_or_malformed_binding_refuses_start_up_in_one_line(tmp_path: Path, binding: Any) -> None:
    token_hash = hash_token("tok_acme_web_0123456789")
    clients = [
        {"name": "billing-job", "token_sha256": hash_token("tok_job_0123456789"), "scopes": WRITE},
        {"name": "acme-web", "token_sha256": token_hash, "scopes": ["read"], "subaccount_id": binding},
    ]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": clients}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_UPSTREAM_URL": "http://127.0.0.1:9/v1",
        "GATEWAY_UPSTREAM_API_KEY": "sk_live_never_printed",
        "GATEWAY_CLIENTS_FILE": str(path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "GATEWAY_CLIENTS_FILE" in lines[0] and "clients[1] ('acme-web').subaccount_id" in lines[0]
    assert token_hash not in done.stderr and "sk_live_never_printed" not in done.stderr


@pytest.mark.parametrize("claim", ["", "sub", "aud", "scope"])
def test_the_binding_claim_cannot_be_blank_or_a_claim_with_another_meaning(claim: str) -> None:
    with pytest.raises(ValidationError, match="jwt_subaccount_claim"):
        SecuritySettings(jwt_subaccount_claim=claim)
