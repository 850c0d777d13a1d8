"""Whether a request asks for GraphQL over SSE: ``text/event-stream`` and no JSON it could take instead.

The `graphql-sse` client sends ``Accept: text/event-stream`` alone. Clients that list it among JSON types
(urql's default ``Accept`` does) can read a plain JSON answer and get one; answering their queries as
event streams broke them.
"""

from __future__ import annotations

EVENT_STREAM = "text/event-stream"
#: Media types meaning "a JSON answer will do".
JSON_TYPES = frozenset(
    {
        "application/json",
        "application/graphql-response+json",
        "application/graphql+json",
        "*/*",
        "application/*",
    }
)


def wants_event_stream(accept: str | None) -> bool:
    """True when `accept` names ``text/event-stream`` and no JSON type."""
    types = {part.split(";", 1)[0].strip().lower() for part in (accept or "").split(",")}
    return EVENT_STREAM in types and not types & JSON_TYPES
