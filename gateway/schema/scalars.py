"""Scalars the schema uses beyond GraphQL's own: `DateTime` (strawberry's, ISO-8601), `Decimal` and `Upload`.

Money is `Money { amount: Decimal, currencyCode }` (`gateway.schema.money`); mass is a `Float` of
kilograms, named for its unit (`amountKg`).
"""

from __future__ import annotations

import decimal
import re
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.file_uploads import Upload

__all__ = ["DateTime", "DecimalScalar", "Upload", "read_upload"]

DateTime = datetime

#: Longest decimal text accepted: far beyond any amount of money, short enough to parse in no time.
MAX_DECIMAL_CHARACTERS = 100
_DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")


def serialize_decimal(value: decimal.Decimal) -> str:
    """Plain notation (``"30000000.00"``, never ``"3E+7"``), exactly as precise as the value."""
    return format(value, "f")


def parse_decimal(value: object) -> decimal.Decimal:
    """A `Decimal` from a string such as ``"12.34"`` or a JSON number; anything else is refused.

    Strings keep every digit; numbers are read through their shortest text (``12.34`` -> ``12.34``), so a
    float's binary rounding never shows. Exponents, NaN, infinities and texts longer than
    `MAX_DECIMAL_CHARACTERS` are refused with a `GraphQLError`: graphql-core reports that as the client's
    mistake, where any other exception would be logged as a bug of ours.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise GraphQLError('Decimal must be a string such as "12.34" (or a number)')
    text = (
        str(value) if isinstance(value, int) else value if isinstance(value, str) else repr(value)
    ).strip()
    if len(text) > MAX_DECIMAL_CHARACTERS or not _DECIMAL_TEXT.match(text):
        raise GraphQLError(
            f'Decimal must be a plain decimal number such as "12.34", at most {MAX_DECIMAL_CHARACTERS} '
            f"characters; got {text[:20]!r}"
        )
    return decimal.Decimal(text)


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description=(
        "A decimal number of any size, with every digit kept, sent as a string in plain notation "
        '("31.90", "0.016"), so neither a 32-bit limit nor float rounding ever applies. Accepted as such a '
        "string (at most 100 characters) or as a JSON number."
    ),
    serialize=serialize_decimal,
    parse_value=parse_decimal,
)


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
