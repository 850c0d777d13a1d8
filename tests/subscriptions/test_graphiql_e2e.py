"""GraphiQL runs a subscription: headless chromium shows an order moving from PLACED to FULFILLED.

Also behind a clients file: GraphiQL (3.8's `createGraphiQLFetcher`) sends the headers editor's headers
as the `connection_init` payload, so `{"Authorization": "Bearer <token>"}` typed there authenticates the
WebSocket as it does the HTTP requests; without it the socket is closed (4401) and no event shows.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from tests.gateway.e2e.test_graphiql_browser import EDITOR, RESULT, chromium, wait_for
from tests.servers import serve

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PLACE = "mutation { placeOrder(input: {amountKg: 1}) { order { id } } }"
SUBSCRIPTION = "subscription { orderUpdates { previousState order { id state } } }"
HEADERS_EDITOR = "document.querySelectorAll('.graphiql-editor-tool .CodeMirror')[1]"


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


def _clients_file(tmp_path: Path, token: str) -> Path:
    client = {
        "name": "graphiql",
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "scopes": ["read", "orders:write"],
    }
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": [client]}))
    return path


@pytest.mark.parametrize("with_header", [True, False], ids=["header", "no-header"])
def test_the_headers_editor_authenticates_graphiqls_websocket(tmp_path: Path, with_header: bool) -> None:
    token = secrets.token_urlsafe(32)
    security = SecuritySettings(clients_file=_clients_file(tmp_path, token))
    settings = Settings(sandbox_fulfilment_delay=1.0, subscription_poll_interval=300, security=security)
    bearer = {"Authorization": f"Bearer {token}"}
    with serve(create_app(settings)) as url, chromium(tmp_path) as browser:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=f"{url}/graphql")
        wait_for(lambda: browser.evaluate(f"!!({HEADERS_EDITOR} && {HEADERS_EDITOR}.CodeMirror)"), "editors")
        if with_header:
            browser.evaluate(f"{HEADERS_EDITOR}.CodeMirror.setValue({json.dumps(json.dumps(bearer))})")
        browser.evaluate(f"{EDITOR}.CodeMirror.setValue({json.dumps(SUBSCRIPTION)})")
        time.sleep(1)  # GraphiQL parses the document after a pause; unparsed, it would not know to use WS
        browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
        time.sleep(2)  # the subscription is open (a fresh sandbox: no first events)
        placed = httpx.post(f"{url}/graphql", json={"query": PLACE}, headers=bearer).json()
        order_id = placed["data"]["placeOrder"]["order"]["id"]

        def shown() -> str:
            text: str = browser.evaluate(f"{RESULT} ? {RESULT}.CodeMirror.getValue() : ''")
            return text

        if not with_header:
            time.sleep(3)  # the order is fulfilled after 1 s; an authenticated socket would show it
            assert order_id not in shown()
            return
        text = wait_for(
            lambda: shown() if order_id in shown() and "FULFILLED" in shown() else None, "FULFILLED"
        )
    update = json.loads(text)["data"]["orderUpdates"]
    assert update == {"previousState": "PLACED", "order": {"id": order_id, "state": "FULFILLED"}}
