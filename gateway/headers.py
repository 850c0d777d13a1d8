"""Request headers: one read straight from the ASGI scope, and what a value we send or log may hold.

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


def is_printable_ascii(value: str) -> bool:
    """Whether `value` is printable ASCII, space included (" " to "~"): for ASCII text that is exactly what
    `str.isprintable` accepts, checked without a Python loop over the characters."""
    return value.isascii() and value.isprintable()
