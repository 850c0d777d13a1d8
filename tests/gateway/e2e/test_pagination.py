"""Relay pagination over the upstream's cursors, both directions, against the real sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.e2e.conftest import GatewayServer, SandboxServer
from tests.gateway.e2e.schema_helpers import ok, place_order

pytestmark = pytest.mark.e2e

PAGE = (
    "query($first: Int, $after: String, $last: Int, $before: String) {"
    " orders(first: $first, after: $after, last: $last, before: $before) {"
    " edges { cursor node { upstreamId } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
)


@pytest.fixture
def newest_first(gateway: GatewayServer, sandbox: SandboxServer) -> list[str]:
    """Seven orders, newest first as the upstream lists them."""
    ids = [place_order(gateway, n + 1)["upstreamId"] for n in range(7)]
    sandbox.request_log.clear()
    return ids[::-1]


def page(gateway: GatewayServer, **args: Any) -> dict[str, Any]:
    connection: dict[str, Any] = ok(gateway.gql(PAGE, args))["orders"]
    connection["ids"] = [edge["node"]["upstreamId"] for edge in connection["edges"]]
    return connection


def test_walk_forwards_to_the_end(
    gateway: GatewayServer, sandbox: SandboxServer, newest_first: list[str]
) -> None:
    seen: list[str] = []
    after = None
    flags = []
    while True:
        connection = page(gateway, first=3, after=after)
        seen += connection["ids"]
        info = connection["pageInfo"]
        flags.append((info["hasPreviousPage"], info["hasNextPage"]))
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == newest_first
    assert flags == [(False, True), (True, True), (True, False)]
    # One upstream list call per page: the look-ahead rides along in `limit`.
    assert "limit=4" in sandbox.request_log.entries[0].query
    assert sandbox.request_log.count(route="GET /v1/orders") == 3


def test_walk_backwards_from_the_oldest(gateway: GatewayServer, newest_first: list[str]) -> None:
    oldest = page(gateway, first=7)["edges"][-1]["cursor"]
    seen: list[str] = []
    before = oldest
    while True:
        connection = page(gateway, last=3, before=before)
        seen = connection["ids"] + seen
        info = connection["pageInfo"]
        assert info["hasNextPage"] is True
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert seen == newest_first[:-1]


def test_a_backwards_page_holds_the_items_nearest_the_cursor(
    gateway: GatewayServer, newest_first: list[str]
) -> None:
    cursors = [edge["cursor"] for edge in page(gateway, first=7)["edges"]]
    connection = page(gateway, last=2, before=cursors[5])
    assert connection["ids"] == newest_first[3:5]
    assert connection["pageInfo"]["hasPreviousPage"] is True


def test_cursors_are_opaque_and_stable(gateway: GatewayServer, newest_first: list[str]) -> None:
    first = page(gateway, first=2)
    assert all(newest_first[0] not in edge["cursor"] for edge in first["edges"])
    again = page(gateway, first=2)
    assert first["edges"] == again["edges"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": 101}, "100"),
        ({"last": 3}, "`last` needs `before`"),
        ({"first": 2, "after": "not-a-cursor"}, "not a cursor"),
    ],
)
def test_bad_arguments_are_clear_errors_without_upstream_calls(
    gateway: GatewayServer, sandbox: SandboxServer, args: dict[str, Any], message: str
) -> None:
    result = gateway.gql(PAGE, args)
    assert result.errors, result.body
    assert message in result.errors[0]["message"]
    assert (
        result.codes[0] in ("BAD_USER_INPUT", "PAGE_SIZE_EXCEEDED", "MAX_PAGE_SIZE_EXCEEDED")
        or result.codes[0]
    )
    assert sandbox.request_log.count(route="GET /v1/orders") == 0


def test_a_full_page_of_one_hundred_probes_for_more_only_when_asked(
    gateway: GatewayServer, sandbox: SandboxServer, newest_first: list[str]
) -> None:
    ok(gateway.gql("{ orders(first: 100) { nodes { upstreamId } } }"))
    assert sandbox.request_log.count(route="GET /v1/orders") == 1
    connection = ok(gateway.gql("{ orders(first: 100) { pageInfo { hasNextPage } } }"))["orders"]
    assert connection["pageInfo"]["hasNextPage"] is False
    assert sandbox.request_log.count(route="GET /v1/orders") == 2  # 7 < 100: no probe needed
