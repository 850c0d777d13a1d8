"""The app's one upstream client is shared by every caller, so it must carry nothing from one to the next."""

from __future__ import annotations

import httpx

from gateway.app import _http_client
from gateway.config import Settings


async def test_a_cookie_set_by_one_upstream_answer_is_never_sent_on_a_later_call() -> None:
    seen: list[str | None] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=tenant-a; Path=/"}, json={"data": []})

    settings = Settings(upstream_url="http://127.0.0.1:9/v1", upstream_api_key="sk_test")
    async with _http_client(settings, httpx.MockTransport(upstream)) as client:
        for _ in range(2):
            (await client.get("http://127.0.0.1:9/v1/orders")).raise_for_status()
        assert len(client.cookies) == 0
    assert seen == [None, None]
