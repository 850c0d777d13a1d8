"""Live order updates: GraphQL subscriptions fed by the upstream's order callbacks and a poller.

How the parts fit (webhook = hint, upstream = truth):

- `transport`: graphql-transport-ws at ``/graphql`` (authentication in ``connection_init``, keep-alive
  pings, limits, text frames); GraphQL over SSE comes from strawberry's HTTP view.
- `feed`: the `OrderFeed` service a subscription resolver opens; it reads current states, hears events and
  hints from the `broker`, re-reads orders upstream on a hint and publishes each new state once.
- `hub`: this process's subscribers, each with a bounded queue and the last state it was told.
- `broker`: how events and hints reach every replica (memory alone, or Redis pub/sub) and the claims that
  make one replica, not N, process a hint, a poll or a state.
- `webhook`: the ``/webhooks/orders/<token>`` receiver and the callback URL the gateway's orders carry;
  `tokens` signs and checks those URLs' tokens.
- `poller`: refreshes watched orders and the newest page while someone listens.
- `shutdown`: a uvicorn server that says "going away" (1001) to subscribers before it stops.
"""
