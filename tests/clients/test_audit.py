"""graphql-http's GraphQL-over-HTTP server audit (npm ``graphql-http``) against a real gateway.

Every audit must be ``ok``: MUSTs, SHOULDs and the MAYs it reports as notices or warnings. The audit runs
as a deployed client would, with the bearer token the gateway requires: its plain ``GET`` requests carry
nothing else a browser could not forge, so without a credential CSRF prevention rightly refuses them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.conftest import ClientGateway, RunNode, ok


@pytest.fixture(scope="module")
def audits(secured_gateway: ClientGateway, run_node: RunNode) -> list[dict[str, Any]]:
    assert secured_gateway.token
    results: list[dict[str, Any]] = ok(
        run_node("audit.mjs", secured_gateway.graphql_url, secured_gateway.token), "audits"
    )
    return results


def test_the_audit_ran_in_full(audits: list[dict[str, Any]]) -> None:
    assert len(audits) >= 60 and len({audit["id"] for audit in audits}) == len(audits)


def test_every_audit_is_ok(audits: list[dict[str, Any]]) -> None:
    assert [audit for audit in audits if audit["status"] != "ok"] == []
