"""The newcomer's flow: ``offsets-gateway sandbox``, then CNaught's official Node SDK pointed at it.

The SDK (``@cnaught/cnaught-node-sdk`` 2.8.0, the newest on the npm registry, installed by ``scripts/test``
into ``tests/sandbox/node_sdk``) calls every method it has against the sandbox the CLI serves, with an
arbitrary key, and must see the documented answers: shapes, test vectors, idempotent replays and typed
``CNaughtError``s built from the problem documents. Its checkout-session methods use the paths CNaught
retired in 2024-05 (``/orders/checkout-session``), which the sandbox serves as deprecated aliases.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port

SDK_DIR = Path(__file__).parent / "node_sdk"
ERRORS = "https://api.cnaught.com/v1/errors/"


@pytest.fixture(scope="module")
def cli_port() -> Iterator[int]:
    """``offsets-gateway sandbox --port P``: the installed console script, as a newcomer runs it."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("offsets-gateway")), "sandbox", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_serving(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + 60  # a cold console-script start on a busy 2-core machine takes >10 s
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/portfolios")
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "offsets-gateway sandbox did not start"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def sdk(cli_port: int) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed (scripts/test installs npm, which brings it)"
    assert (SDK_DIR / "node_modules/@cnaught/cnaught-node-sdk").is_dir(), (
        "run: npm ci --prefix tests/sandbox/node_sdk (scripts/test does)"
    )
    run = subprocess.run(
        [node, "client.mjs", str(cli_port)], cwd=SDK_DIR, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    results: dict[str, Any] = json.loads(run.stdout)
    return results


def ok(results: dict[str, Any], name: str) -> Any:
    assert "ok" in results[name], results[name]
    return results[name]["ok"]


def error(results: dict[str, Any], name: str) -> dict[str, Any]:
    assert "error" in results[name], results[name]
    problem: dict[str, Any] = results[name]["error"]
    return problem


def test_orders_and_idempotency(sdk: dict[str, Any]) -> None:
    order = ok(sdk, "placeGenericOrder")
    assert (order["state"], order["amount_kg"], order["price_usd_cents"]) == ("placed", 10, 20)
    assert ok(sdk, "replay")["id"] == order["id"]
    assert error(sdk, "changedPayload")["type"] == ERRORS + "idempotency-changed-payload"
    invalid = error(sdk, "invalid")
    assert (invalid["status"], invalid["title"]) == (400, "Your request parameters didn't validate")
    assert "amount_kg" in invalid["errors"]
    assert (ok(sdk, "byPrice")["amount_kg"], ok(sdk, "byPrice")["price_usd_cents"]) == (1595, 3190)
    assert ok(sdk, "getOrderDetails")["order_number"] == order["order_number"]
    assert (error(sdk, "missingOrder")["status"], error(sdk, "missingOrder")["title"]) == (
        404,
        "Could not find order",
    )
    first, second = ok(sdk, "getListOfOrders")["data"], ok(sdk, "nextPage")["data"]
    assert len(first) == len(second) == 1 and first[0]["id"] != second[0]["id"]
    cancelled = ok(sdk, "cancelOrder")
    assert (cancelled["state"], cancelled["certificate_public_url"]) == ("cancelled", None)
    assert ok(sdk, "placeRideOrder")["amount_kg"] == 8


@pytest.mark.parametrize(
    ("method", "kg", "cents"),
    [
        ("getGenericQuote", 10, 20),
        ("getAirFreightQuote", 2, 4),
        ("getFlightQuote", 10, 20),
        ("getGroundFreightQuote", 14, 28),
        ("getGroundTransportQuote", 745, 1490),
        ("getOfficeSpaceQuote", 8600, 17200),
        ("getTrainQuote", 38, 76),
        ("getRideQuote", 8, 16),
    ],
)
def test_quote_vectors(sdk: dict[str, Any], method: str, kg: int, cents: int) -> None:
    assert ok(sdk, method) == {"amount_kg": kg, "price_usd_cents": cents}


def test_subaccounts_and_scoping(sdk: dict[str, Any]) -> None:
    sub = ok(sdk, "createSubaccount")
    assert ok(sdk, "updateSubaccount")["email"] is None  # PUT is a full replacement
    assert ok(sdk, "updateSubaccountLogoFromUrl")["logo_url"].startswith(
        "https://customer-assets.cnaught.com/"
    )
    assert ok(sdk, "updateSubaccountLogoFromImageData")["logo_url"].endswith(".png")
    assert ok(sdk, "removeSubaccountLogo")["logo_url"] is None
    assert ok(sdk, "getSubaccountDetails")["name"] == "Renamed"
    assert [s["id"] for s in ok(sdk, "getListOfSubaccounts")["data"]] == [sub["id"]]
    scoped = ok(sdk, "subaccountOrder")
    assert scoped["subaccount_id"] == sub["id"]
    assert [o["id"] for o in ok(sdk, "subaccountOrders")["data"]] == [scoped["id"]]
    assert ok(sdk, "getImpactHostedPageConfig")["url"].endswith("/" + sub["id"])


def test_checkout_sessions_on_the_pre_2024_05_paths(sdk: dict[str, Any], cli_port: int) -> None:
    session = ok(sdk, "createCheckoutSession")
    assert (session["status"], session["amount_kg"], session["price_usd_cents"]) == ("open", 50, 100)
    assert session["checkout_url"] == f"https://checkout.cnaught.com/pay/{session['id']}"
    assert "state" not in session  # that era's shape
    assert ok(sdk, "getCheckoutSession") == session
    scoped = ok(sdk, "subaccountCheckoutSession")
    assert scoped["subaccount_id"] == ok(sdk, "createSubaccount")["id"]
    assert scoped["order_description"] == "gift"
    no_email = error(sdk, "checkoutWithoutEmail")
    assert (no_email["status"], no_email["type"]) == (400, ERRORS + "invalid-parameters")
    assert "email" in no_email["errors"]
    assert "amount_kg" in error(sdk, "checkoutTooCheap")["errors"]  # below the $0.50 minimum
    assert error(sdk, "missingCheckoutSession")["status"] == 404
    # The same session on today's path, in today's shape.
    current = httpx.get(
        f"http://127.0.0.1:{cli_port}/v1/checkout/sessions/{session['id']}",
        headers={"Authorization": "Bearer any-key-a-newcomer-types"},
    ).json()
    assert current["state"] == "open" and {k: v for k, v in current.items() if k != "state"} == {
        k: v for k, v in session.items() if k != "status"
    }


def test_impact_catalogue_and_auth(sdk: dict[str, Any]) -> None:
    impact = ok(sdk, "getImpactData")
    assert (impact["since_date"], impact["to_date"]) == (
        "2024-01-01T00:00:00.000000Z",
        "2024-02-01T00:00:00.000000Z",
    )
    assert [p["id"] for p in ok(sdk, "getListOfPortfolios")["data"]] == ["oH5hlq", "ixmZSK"]
    assert ok(sdk, "getPortfolioDetails")["api_price_per_kg_usd_cents"] == 2
    assert ok(sdk, "getProjectDetails")["credit_issuances"][0] == {"vintage_year": 2022, "total_amount": 5000}
    assert ok(sdk, "getProjectCategoryDetails")["projects"][0]["id"] == "I0UbDH"
    unauthorized = error(sdk, "unauthorized")
    assert (unauthorized["status"], unauthorized["title"]) == (401, "Unauthorized")
