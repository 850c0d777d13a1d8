"""Scalars the schema uses beyond GraphQL's own: `DateTime` (strawberry's, ISO-8601) and `Upload`.

Money is always an `Int` of US cents and mass a `Float` of kilograms, each named for its unit
(`priceUsdCents`, `amountKg`), so no custom money scalar is needed.
"""

from __future__ import annotations

from datetime import datetime

from strawberry.file_uploads import Upload

__all__ = ["DateTime", "Upload", "read_upload"]

DateTime = datetime


async def read_upload(upload: Upload, max_bytes: int) -> tuple[bytes, str | None] | None:
    """The bytes and content type of a multipart upload; None when it is larger than `max_bytes`.

    At runtime strawberry hands resolvers the framework's upload object (starlette's `UploadFile`),
    whatever the `Upload` annotation says, so read it through its async `read`.
    """
    reader = getattr(upload, "read", None)
    content = await reader(max_bytes + 1) if reader is not None else bytes(upload)
    if len(content) > max_bytes:
        return None
    return content, getattr(upload, "content_type", None)
