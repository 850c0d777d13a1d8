"""A uvicorn server that tells subscribers it is going away (close code 1001) before it stops.

uvicorn closes open WebSockets with 1012 and waits for streaming responses to end before the app's
lifespan hears of the shutdown, so an SSE subscription would hold a stopping server forever. This server
first asks the app's `OrderFeed` to close WebSockets with 1001 and complete SSE streams, then shuts down
as usual. `offsets-gateway serve` uses it (one worker per process; with ``--workers N`` uvicorn's own
supervisor runs plain servers, whose WebSockets see 1012 and whose SSE streams end at the graceful
shutdown timeout).
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from gateway.subscriptions.feed import OrderFeed

FEED_ATTRIBUTE = "order_feed"


class GoingAwayServer(uvicorn.Server):
    """uvicorn's server, ending subscriptions first when it shuts down."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        feed = feed_of(self.config.loaded_app)
        if feed is not None:
            await feed.going_away()
        await super().shutdown(sockets)


def feed_of(app: Any) -> OrderFeed | None:
    """The `OrderFeed` of a gateway app, looked up through uvicorn's middleware wrappers."""
    for _ in range(16):
        feed = getattr(getattr(app, "state", None), FEED_ATTRIBUTE, None)
        if isinstance(feed, OrderFeed):
            return feed
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None
