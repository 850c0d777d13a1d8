"""Relay global ids and opaque connection cursors.

A global id is ``base64url("<TypeName>:<upstream id>")`` (unpadded), so `node(id:)` can tell which REST
resource to fetch. Root fields and mutation inputs accept either a global id or the plain upstream id
(what REST users, webhooks and certificates know): `resolve_id` decodes a global id of the expected type
and passes anything else through unchanged. Upstream ids are short alphanumerics, so a plain id never
decodes to ``"<TypeName>:..."`` by accident.
"""

from __future__ import annotations

import base64
import binascii

_CURSOR_PREFIX = "cursor:"


class InvalidIdError(ValueError):
    """An id or cursor that cannot be decoded, or names another type than the one expected.

    field: the GraphQL input path of the id, when the caller knows it (mutation inputs).
    """

    def __init__(self, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(value: str) -> str | None:
    """Decode unpadded base64url; None when `value` is not such a string."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return raw.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def to_global_id(type_name: str, upstream_id: str) -> str:
    """The Relay global id of the upstream object `upstream_id` of GraphQL type `type_name`."""
    return _b64encode(f"{type_name}:{upstream_id}")


def from_global_id(global_id: str) -> tuple[str, str]:
    """Split a global id into (type name, upstream id); raise InvalidIdError when it is not one."""
    decoded = _b64decode(global_id)
    if decoded is None or ":" not in decoded:
        raise InvalidIdError(f"{global_id!r} is not a valid global id")
    type_name, _, upstream_id = decoded.partition(":")
    if not type_name.isidentifier() or not upstream_id:
        raise InvalidIdError(f"{global_id!r} is not a valid global id")
    return type_name, upstream_id


def resolve_id(value: str, expected_type: str, known_types: frozenset[str]) -> str:
    """The upstream id meant by `value`: a global id of `expected_type`, or a plain upstream id.

    A global id of another node type in `known_types` is rejected rather than passed upstream.
    """
    try:
        type_name, upstream_id = from_global_id(value)
    except InvalidIdError:
        return value
    if type_name == expected_type:
        return upstream_id
    if type_name in known_types:
        raise InvalidIdError(f"the id names {_a(type_name)}, expected {_a(expected_type)}")
    return value


def encode_cursor(upstream_id: str) -> str:
    """An opaque connection cursor pointing at the item `upstream_id`."""
    return _b64encode(_CURSOR_PREFIX + upstream_id)


def decode_cursor(cursor: str) -> str:
    """The upstream id inside a cursor made by `encode_cursor`; InvalidIdError otherwise."""
    decoded = _b64decode(cursor)
    if decoded is None or not decoded.startswith(_CURSOR_PREFIX) or len(decoded) == len(_CURSOR_PREFIX):
        raise InvalidIdError(f"{cursor!r} is not a valid cursor")
    return decoded[len(_CURSOR_PREFIX) :]


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "AEIOU" else f"a {noun}"
