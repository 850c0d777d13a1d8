"""What the backend client reads of an upstream answer, however it was fetched."""

from __future__ import annotations

from dataclasses import dataclass

from multidict import CIMultiDictProxy


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """An answer as `AiohttpTransport.fetch` returns it: what the backend client reads of a response.

    headers: case-insensitive (``headers.get("retry-after")``); content: the body, decoded when the
    upstream sent a ``Content-Encoding``.
    """

    status_code: int
    reason_phrase: str
    headers: CIMultiDictProxy[str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300
