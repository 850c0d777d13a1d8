"""The one id parser (`gateway.ids`): global and upstream ids can never be read as each other."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.ids import (
    InvalidIdError,
    from_global_id,
    is_upstream_id,
    node_id,
    optional_upstream_id,
    to_global_id,
    upstream_id_of,
)
from gateway.schema.node import NODE_TYPES

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: The upstream's id alphabets: the documented alphanumerics (6, 8, 10, 12 long), `_sandbox` ids of the
#: retired sandbox, and base64url (what the old global ids were made of).
upstream_ids = st.one_of(
    st.sampled_from([6, 8, 10, 12]).flatmap(lambda n: st.text(ALNUM, min_size=n, max_size=n)),
    st.text(ALNUM, min_size=6, max_size=12).map(lambda s: s + "_sandbox"),
    st.text(ALNUM + "-_", min_size=1, max_size=64),
)


def old_global_id(type_name: str, upstream_id: str) -> str:
    """The base64url global ids of earlier versions."""
    return base64.urlsafe_b64encode(f"{type_name}:{upstream_id}".encode()).decode().rstrip("=")


@given(upstream_ids, st.sampled_from(sorted(NODE_TYPES)))
def test_upstream_and_global_ids_read_back_as_themselves(upstream_id: str, type_name: str) -> None:
    global_id = to_global_id(type_name, upstream_id)
    assert is_upstream_id(upstream_id) and not is_upstream_id(global_id)
    assert upstream_id_of(upstream_id, type_name) == upstream_id
    assert upstream_id_of(global_id, type_name) == upstream_id
    assert from_global_id(global_id) == node_id(global_id) == (type_name, upstream_id)


@given(st.sampled_from(sorted(NODE_TYPES)), upstream_ids, st.sampled_from(sorted(NODE_TYPES)))
def test_an_old_base64_global_id_is_just_a_plain_id(named: str, inner: str, expected: str) -> None:
    # "U3ViYWNjb3VudDpzdWJfYg" decoded to "Subaccount:sub_b"; now it is the upstream id it looks like.
    old = old_global_id(named, inner)
    if len(old) <= 64:
        assert upstream_id_of(old, expected) == old
    else:  # longer than any upstream id: refused, and still never read as `inner`
        with pytest.raises(InvalidIdError, match="not a valid"):
            upstream_id_of(old, expected)
    with pytest.raises(InvalidIdError, match="needs a global id"):
        node_id(old)


@given(st.text(max_size=80), st.sampled_from(sorted(NODE_TYPES)))
def test_every_string_has_at_most_one_reading(value: str, type_name: str) -> None:
    """Whatever a caller sends, the id it is read as is determined, and re-encodes to the same string."""
    try:
        upstream_id = upstream_id_of(value, type_name, "input", "id")
    except InvalidIdError as exc:
        assert exc.field == ["input", "id"]
        return
    assert value in (upstream_id, to_global_id(type_name, upstream_id))
    assert (value == upstream_id) == (":" not in value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "not a valid Subaccount id"),
        ("sub a", "not a valid Subaccount id"),
        ("../orders", "not a valid Subaccount id"),
        ("x" * 65, "not a valid Subaccount id"),
        ("Order:Gre28Fc35bt3", "names an Order, expected a Subaccount"),
        ("Subaccount:", "not a valid global id"),
        ("Subaccount:a:b", "not a valid global id"),
        ("subaccount:5nubL0NS", "not a valid global id"),
    ],
)
def test_bad_ids_are_refused_with_a_reason(value: str, message: str) -> None:
    with pytest.raises(InvalidIdError, match=message):
        upstream_id_of(value, "Subaccount")


def test_optional_ids_and_node_ids() -> None:
    assert optional_upstream_id(None, "Order") is None
    assert optional_upstream_id("Order:Gre28Fc35bt3", "Order") == "Gre28Fc35bt3"
    with pytest.raises(InvalidIdError, match="needs a global id"):
        node_id("5nubL0NS")
