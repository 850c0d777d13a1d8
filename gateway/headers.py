"""One request header read straight from the ASGI scope (issue 8).

starlette's `Headers.get` is `Mapping.get`: a header the request does not carry is found missing by a
`KeyError` raised and caught, which costs microseconds, and a request is asked for the same few headers
about ten times on its way through the gateway - ``Accept`` alone four times, and most API clients send
none. `header` scans the scope's list instead, with the same answer: the first value of that name,
decoded as latin-1 (ASGI servers give header names in lower case).
"""

from __future__ import annotations

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the request header `name` (lower-case bytes), or None when it is absent."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
