"""Identifiers in the documented formats (reference section 3).

Short opaque alphanumerics: order 12 characters, subaccount 8, checkout session 10, catalogue ids 6.
The order number printed on certificates is "a hex representation derived from the id" shown like
``47726-53238-46633-33562-7433``; [?] the sandbox reads the first ten bytes of SHA-256(id) as five
big-endian 16-bit numbers, printing the first four as 5 digits and the last modulo 10000 as 4 digits.
"""

from __future__ import annotations

import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

ORDER_ID_LENGTH = 12
SUBACCOUNT_ID_LENGTH = 8
CHECKOUT_SESSION_ID_LENGTH = 10


def random_id(length: int) -> str:
    """A random alphanumeric id of `length` characters."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def order_id() -> str:
    """A new order id, e.g. ``Gre28Fc35bt3``."""
    return random_id(ORDER_ID_LENGTH)


def subaccount_id() -> str:
    """A new subaccount id, e.g. ``5nubL0NS``."""
    return random_id(SUBACCOUNT_ID_LENGTH)


def checkout_session_id() -> str:
    """A new checkout session id, e.g. ``zpQ6QSNRQh``."""
    return random_id(CHECKOUT_SESSION_ID_LENGTH)


def order_number(order_id: str) -> str:
    """The certificate number derived from an order id, e.g. ``47726-53238-46633-33562-7433``."""
    digest = hashlib.sha256(order_id.encode()).digest()
    words = [int.from_bytes(digest[i : i + 2], "big") for i in range(0, 10, 2)]
    return "-".join([*(f"{w:05d}" for w in words[:4]), f"{words[4] % 10000:04d}"])
