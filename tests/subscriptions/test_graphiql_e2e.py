"""GraphiQL runs a subscription: headless chromium shows an order moving from PLACED to FULFILLED."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from tests.gateway.e2e.test_graphiql_browser import EDITOR, RESULT, chromium, wait_for
from tests.servers import serve

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PLACE = "mutation { placeOrder(input: {amountKg: 1}) { order { id } } }"


def test_graphiql_shows_an_order_become_fulfilled(tmp_path: Path) -> None:
    # `offsets-gateway serve` defaults: embedded sandbox, GraphiQL on; polling off, so the change comes
    # from the sandbox's in-process callback.
    settings = Settings(sandbox_fulfilment_delay=1.0, subscription_poll_interval=300)
    subscription = "subscription { orderUpdates { previousState order { id state } } }"
    with serve(create_app(settings)) as url, chromium(tmp_path) as browser:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=f"{url}/graphql")
        wait_for(lambda: browser.evaluate(f"!!({EDITOR} && {EDITOR}.CodeMirror)"), "the GraphiQL editor")
        browser.evaluate(f"{EDITOR}.CodeMirror.setValue({json.dumps(subscription)})")
        time.sleep(1)  # GraphiQL parses the document after a pause; unparsed, it would not know to use WS
        browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
        time.sleep(2)  # the subscription is open (a fresh sandbox: no first events)
        placed = httpx.post(f"{url}/graphql", json={"query": PLACE}).json()
        order_id = placed["data"]["placeOrder"]["order"]["id"]

        def fulfilled() -> str | None:
            text: str = browser.evaluate(f"{RESULT} ? {RESULT}.CodeMirror.getValue() : ''")
            return text if order_id in text and "FULFILLED" in text else None

        text = wait_for(fulfilled, "the subscription's FULFILLED event", timeout=20)
    update = json.loads(text)["data"]["orderUpdates"]
    assert update == {"previousState": "PLACED", "order": {"id": order_id, "state": "FULFILLED"}}
