"""Ids: THE reading of every id a caller sends, Relay global ids, and opaque connection cursors.

Two formats, told apart by one character:

* an **upstream id** is what the REST API prints: 1-64 ASCII letters, digits, ``_`` or ``-`` (the reference
  shows short alphanumerics such as ``5nubL0NS``, and ``..._sandbox`` on ids of the retired sandbox);
* a **global id** is ``"<TypeName>:<upstream id>"``, e.g. ``Subaccount:5nubL0NS``.

The colon is outside the upstream alphabet, so a string is a global id exactly when it contains one: no
upstream id can ever be read as a global id, nor the other way round (the base64 global ids of earlier
versions could: a plain id that happened to be valid base64 of ``"Subaccount:..."`` named another tenant).

`upstream_id_of` is the one function that turns an id argument into the upstream id to fetch. Root fields,
mutation inputs and ``subaccountId`` arguments accept either format through it; `node_id` reads the ids of
`node(id:)`/`nodes(ids:)`, which must be global (a plain id does not say which type to fetch). The security
guard calls the same two functions, so it judges exactly the id the resolver will fetch.
"""

from __future__ import annotations

import base64
import binascii
import re

UPSTREAM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_UPSTREAM_ID = re.compile(UPSTREAM_ID_PATTERN)
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
_SEPARATOR = ":"
_CURSOR_PREFIX = "cursor:"
UPSTREAM_ID_HELP = "1-64 letters, digits, '_' or '-'"


class InvalidIdError(ValueError):
    """An id or cursor that cannot be read, or names another type than the one expected.

    field: the GraphQL input path of the id, when the caller knows it (mutation inputs).
    """

    def __init__(self, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field


def is_upstream_id(value: str) -> bool:
    """True when `value` has the shape of an upstream id (and so is not a global id)."""
    return _UPSTREAM_ID.fullmatch(value) is not None


def to_global_id(type_name: str, upstream_id: str) -> str:
    """The Relay global id of the upstream object `upstream_id` of GraphQL type `type_name`."""
    return f"{type_name}{_SEPARATOR}{upstream_id}"


def from_global_id(global_id: str) -> tuple[str, str]:
    """Split a global id into (type name, upstream id); InvalidIdError when it is not one."""
    type_name, separator, upstream_id = global_id.partition(_SEPARATOR)
    if not separator or not _TYPE_NAME.fullmatch(type_name) or not is_upstream_id(upstream_id):
        raise InvalidIdError(
            "not a valid global id: expected `<Type>:<upstream id>`, e.g. `Order:Gre28Fc35bt3`"
        )
    return type_name, upstream_id


def upstream_id_of(value: str, type_name: str, *field: str) -> str:
    """The upstream id an id argument of type `type_name` means: a global id of that type, or a plain id.

    field: the argument's input path (e.g. ``"input", "id"``), named by the error of a wrong id.
    """
    path = list(field) or None
    if _SEPARATOR not in value:
        if is_upstream_id(value):
            return value
        raise InvalidIdError(f"not a valid {type_name} id: give its `id` or `upstreamId`", path)
    try:
        named, upstream_id = from_global_id(value)
    except InvalidIdError as exc:
        raise InvalidIdError(str(exc), path) from None
    if named != type_name:
        raise InvalidIdError(f"the id names {_a(named)}, expected {_a(type_name)}", path)
    return upstream_id


def optional_upstream_id(value: str | None, type_name: str, *field: str) -> str | None:
    """`upstream_id_of` for optional arguments."""
    return None if value is None else upstream_id_of(value, type_name, *field)


def node_id(value: str) -> tuple[str, str]:
    """(type name, upstream id) of a `node(id:)` argument, which must be a global id."""
    if _SEPARATOR not in value:
        raise InvalidIdError("`node` needs a global id (an object's `id`, e.g. `Order:Gre28Fc35bt3`)")
    return from_global_id(value)


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(value: str) -> str | None:
    """Decode unpadded base64url; None when `value` is not such a string."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return raw.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


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
