"""Relay against a real gateway: relay-compiler over ``schema.graphql``, then relay-runtime over HTTP.

The artifacts are generated at test time into a temporary directory (nothing generated is committed), so a
schema change that breaks the Relay documents in ``js/relay/operations.js`` (``@connection``,
``@refetchable`` on ``Query`` and on a ``Node`` type, ``@prependNode``) fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import (
    JS_DIR,
    REPO,
    ClientGateway,
    RunNode,
    assert_paged_every_order,
    ok,
    seed_orders,
)

SEEDED = 31
RELAY_CONFIG = {
    "src": "./src",
    "schema": "./schema.graphql",
    "language": "javascript",
    "artifactDirectory": "./__generated__",
    # CommonJS artifacts: relay 21's ES modules import each other without file extensions, which Node's
    # ESM loader refuses; bundlers accept either.
    "eagerEsModules": False,
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("relay")
    (project / "src").mkdir()
    (project / "__generated__").mkdir()
    shutil.copy(JS_DIR / "relay" / "operations.js", project / "src")
    shutil.copy(REPO / "schema.graphql", project)
    (project / "relay.config.json").write_text(json.dumps(RELAY_CONFIG))
    compiler = JS_DIR / "node_modules" / "relay-compiler" / "cli.js"
    node = shutil.which("node") or "node"
    run = subprocess.run(
        [node, str(compiler), "relay.config.json"], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return project / "__generated__"


@pytest.fixture(scope="module")
def relay(client_gateway: ClientGateway, run_node: RunNode, artifacts: Path) -> dict[str, Any]:
    seed_orders(client_gateway, SEEDED, prefix="relay")
    return run_node("relay.mjs", client_gateway.graphql_url, str(artifacts))


def test_compiler_generates_the_pagination_and_refetch_queries(artifacts: Path) -> None:
    names = sorted(path.name.removesuffix(".graphql.js") for path in artifacts.glob("*.graphql.js"))
    assert names == [
        "OrdersListPaginationQuery",
        "OrdersListPlaceMutation",
        "OrdersListQuery",
        "OrdersList_query",
        "SubaccountCardQuery",
        "SubaccountCardRefetchQuery",
        "SubaccountCard_subaccount",
    ]


def test_load_next_sees_every_order_once_in_order(
    relay: dict[str, Any], client_gateway: ClientGateway
) -> None:
    result = ok(relay, "loadNext")
    assert_paged_every_order(client_gateway, result["ids"], at_least=SEEDED)
    assert len(result["pages"]) >= 5
    assert (result["hasNextPage"], result["hasPreviousPage"]) == (False, False)


def test_load_previous_then_prepend_node(relay: dict[str, Any], client_gateway: ClientGateway) -> None:
    result = ok(relay, "loadPreviousThenPrependNode")
    expected = client_gateway.order_ids()
    # The order placed by the mutation is the newest of all; the pages before it are every older order.
    assert expected[0] == result["placedId"]
    assert result["ids"] == expected[1 : 1 + len(result["ids"])] and len(result["ids"]) == len(expected) - 1
    assert result["pages"][-1] == 5  # the short page that lost its newest orders before the fix
    assert (result["hasNextPage"], result["hasPreviousPage"]) == (False, False)
    assert result["afterPrepend"] == [result["placedId"], result["ids"][0]]
    assert result["lengthAfterPrepend"] == len(result["ids"]) + 1


def test_refetchable_fragment_on_a_node_type(relay: dict[str, Any]) -> None:
    result = ok(relay, "refetchableNode")
    assert result == {"before": "Relay", "after": "Relay renamed", "refetchText": True}
