"""When the view answers with a GraphQL-over-SSE stream rather than one JSON response."""

from __future__ import annotations

import pytest

from gateway.view import prefers_event_stream

URQL_QUERY = (  # @urql/core 6's Accept on queries and mutations
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)


@pytest.mark.parametrize(
    ("accept", "stream"),
    [
        (
            "text/event-stream",
            True,
        ),  # graphql-sse, urql's subscriptions ("text/event-stream, multipart/mixed")
        ("text/event-stream, multipart/mixed", True),
        ("text/event-stream, application/json", True),  # listed first, equal quality
        ("application/json;q=0.5, text/event-stream", True),
        (URQL_QUERY, False),  # urql's queries: JSON first
        ("application/json, text/event-stream", False),
        ("text/event-stream;q=0.5, application/graphql-response+json", False),
        ("text/event-stream;q=0", False),
        ("application/json", False),
        ("application/json;q=0", False),
        ("*/*", False),
        (None, False),
    ],
)
def test_streams_only_when_the_client_prefers_it(accept: str | None, stream: bool) -> None:
    assert prefers_event_stream(accept) is stream
