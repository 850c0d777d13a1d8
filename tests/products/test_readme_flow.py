"""The README's two-step supplier flow, run exactly as written (issue: "Done means").

The two GraphQL documents are read from the README's "Recording product offsets" section, so the README
cannot drift from what the gateway accepts: step 1 buys credits with `placeOrder`; once the sandbox has
fulfilled the order, step 2 records it with `offsetProductBatch` (its `<order id>` placeholder replaced by
the id step 1 returned), and running step 2 again records nothing new.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.products.conftest import Stack

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_steps() -> tuple[str, str]:
    """The README's step-1 and step-2 documents (the first graphql block of the section)."""
    section = README.read_text().split("## Recording product offsets", 1)[1]
    match = re.search(r"```graphql\n(.*?)```", section, re.DOTALL)
    assert match, "the section has no graphql block"
    step1, step2 = match.group(1).split("\n# 2.", 1)
    return step1, "# 2." + step2


def test_the_readme_two_step_flow_runs_as_written(stack: Stack) -> None:
    step1, step2 = readme_steps()
    placed = stack.gql(step1)
    assert "errors" not in placed, placed
    order = placed["data"]["placeOrder"]["order"]
    assert order["state"] == "PLACED"
    (upstream,) = stack.rest.get("/v1/orders").json()["data"]
    assert stack.rest.post(f"/_sandbox/orders/{upstream['id']}/fulfil").json()["state"] == "fulfilled"

    document = step2.replace("<order id>", order["id"])
    first, again = stack.gql(document), stack.gql(document)
    assert "errors" not in first and "errors" not in again, (first, again)
    payload = first["data"]["offsetProductBatch"]
    assert (payload["userErrors"], payload["replayed"]) == ([], False)
    assert payload["recorded"]["offsetTotal"] == upstream["amount_kg"] == 250
    assert payload["recorded"]["offsetPrice"] == {
        "amount": f"{upstream['price_usd_cents'] / 100:.2f}",
        "currencyCode": "USD",
    }
    serials = [p["offsetSerialNumber"] for p in payload["recorded"]["offsetProjects"]]
    assert serials and all(serials)
    assert again["data"]["offsetProductBatch"]["replayed"] is True
    (stored,) = stack.read_back("P-1")
    assert stored["batch"]["offsetProviderOrderID"] == upstream["id"]
