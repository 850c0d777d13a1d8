"""A bound credential never reaches another subaccount through any id, whatever the id looks like.

Ids are generated across the upstream's alphabets and lengths, plus the shapes that used to confuse the
gateway (upstream ids that were valid base64 of ``"<Type>:..."``, the old global-id format), and sent to
every root field and mutation input that names a subaccount:

* in process, against a worst-case upstream on which every id exists, so only the gateway's own checks can
  keep the tenant in (fast, many examples);
* over real HTTP, through a gateway and the sandbox under uvicorn, with another tenant's subaccount whose
  upstream id *is* such a base64 string (the sandbox's id generator is steered for that one create).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from unittest import mock
from urllib.parse import unquote

import httpx
import pytest
from graphql import GraphQLInputObjectType, GraphQLNamedType, get_named_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.auth import ALL_SCOPES, Principal
from gateway.auth.scopes import SUBACCOUNT_TARGETS
from gateway.backend._http import RetryPolicy
from gateway.backend.client import OffsetsClient
from gateway.context import build_context
from gateway.masking import MaskInternalErrors
from gateway.schema import build_schema
from gateway.security.guard import GuardConfig, OperationGuard
from tests.gateway.unit.schema_fakes import BASE, KEY, order, subaccount
from tests.gateway.unit.schema_fakes import settings as gateway_settings
from tests.security.conftest import UPSTREAM_KEY, Gateway, SecureSetup

BOUND = "5nubL0NS"
ORDER = "Order:Gre28Fc35bt3"
LOGO = "https://img.test/l.png"

#: Every root field that reads a subaccount id, with the id as `$id`.
OPERATIONS: dict[str, str] = {
    "subaccount": "query($id: ID!) { subaccount(id: $id) { upstreamId name } }",
    "node": "query($id: ID!) { node(id: $id) { id ... on Subaccount { name } } }",
    "nodes": "query($id: ID!) { nodes(ids: [$id]) { id ... on Subaccount { name } } }",
    "orders": "query($id: ID) { orders(first: 2, subaccountId: $id) { edges { node { upstreamId } } } }",
    "order": f'query($id: ID) {{ order(id: "{ORDER}", subaccountId: $id) {{ upstreamId }} }}',
    "impact": "query($id: ID) { impact(subaccountId: $id) { totalOffsetKg } }",
    "hostedImpactPage": "query($id: ID) { hostedImpactPage(subaccountId: $id) { enabled } }",
    "quote": "query($id: ID) { quote(input: {mass: {amountKg: 1}}, subaccountId: $id) { amountKg } }",
    "updateSubaccount": (
        'mutation($id: ID!) { updateSubaccount(input: {id: $id, name: "taken"}) '
        "{ subaccount { name } userErrors { code } } }"
    ),
    "deleteSubaccount": (
        "mutation($id: ID!) { deleteSubaccount(input: {id: $id}) "
        "{ deletedSubaccountUpstreamId userErrors { code } } }"
    ),
    "setSubaccountLogo": (
        f'mutation($id: ID!) {{ setSubaccountLogo(input: {{id: $id, logoUrl: "{LOGO}"}}) '
        "{ subaccount { name } userErrors { code } } }"
    ),
    "removeSubaccountLogo": (
        "mutation($id: ID!) { removeSubaccountLogo(input: {id: $id}) "
        "{ subaccount { name } userErrors { code } } }"
    ),
    "placeOrder": (
        "mutation($id: ID) { placeOrder(input: {amountKg: 1, subaccountId: $id}) "
        "{ order { upstreamId } userErrors { code } } }"
    ),
    "placeRideOrder": (
        "mutation($id: ID) { placeRideOrder(input: {distanceKm: 3, subaccountId: $id}) "
        "{ order { upstreamId } userErrors { code } } }"
    ),
    "cancelOrder": (
        f'mutation($id: ID) {{ cancelOrder(input: {{id: "{ORDER}", subaccountId: $id}}) '
        "{ order { upstreamId } userErrors { code } } }"
    ),
    "createCheckoutSession": (
        'mutation($id: ID) { createCheckoutSession(input: {amountKg: 30, successUrl: "https://shop.test/ok", '
        'cancelUrl: "https://shop.test/no", subaccountId: $id}) { checkoutSession { upstreamId } '
        "userErrors { code } } }"
    ),
    "orderUpdates": "subscription($id: ID) { orderUpdates(subaccountId: $id) { order { upstreamId } } }",
    "offsetProductBatch": (
        'mutation($id: ID) { offsetProductBatch(input: {productId: "p1", batchNumber: "b1", '
        "orderIds: [], subaccountId: $id}) { __typename } }"
    ),
}

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def old_global_id(type_name: str, upstream_id: str) -> str:
    """The base64url global ids of earlier versions, e.g. ``QWI6Y2Rl`` for ``"Ab:cde"``."""
    return base64.urlsafe_b64encode(f"{type_name}:{upstream_id}".encode()).decode().rstrip("=")


def ids_around(other: str) -> st.SearchStrategy[str]:
    """Ids a bound caller might send: random upstream-alphabet ids of the documented lengths, `_sandbox`
    ids, base64 ids decoding to ``"<Type>:..."`` (known and unknown types), and `other` in every form."""
    plain = st.sampled_from([6, 8, 10, 12]).flatmap(lambda n: st.text(ALNUM, min_size=n, max_size=n))
    types = st.one_of(
        st.sampled_from(["Subaccount", "Order", "Node", "Portfolio"]),
        st.text(ALNUM, min_size=1, max_size=4).filter(lambda t: t.isidentifier()),
    )
    return st.one_of(
        plain,
        plain.map(lambda s: s + "_sandbox"),
        st.text(ALNUM + "-_:", min_size=1, max_size=70),
        st.builds(old_global_id, types, st.one_of(plain, st.just(other), st.just(BOUND))),
        st.builds(lambda t, i: f"{t}:{i}", types, st.one_of(plain, st.just(other))),
        st.sampled_from([other, f"Subaccount:{other}", old_global_id("Subaccount", other)]),
    )


def test_every_root_field_naming_a_subaccount_is_exercised() -> None:
    """A new root field with a `subaccountId` (argument or input field) must be added to OPERATIONS."""
    schema = build_schema()._schema
    roots = [schema.query_type, schema.mutation_type, schema.subscription_type]
    naming = {
        name
        for root in roots
        if root is not None
        for name, field in root.fields.items()
        if any(_names_subaccount(arg_name, arg.type) for arg_name, arg in field.args.items())
    }
    naming |= {field for _, field in SUBACCOUNT_TARGETS}
    assert naming - OPERATIONS.keys() == set()


def _names_subaccount(name: str, type_: Any, seen: frozenset[str] = frozenset()) -> bool:
    if name == "subaccountId":
        return True
    named: GraphQLNamedType = get_named_type(type_)
    if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
        return False
    return any(_names_subaccount(n, f.type, seen | {named.name}) for n, f in named.fields.items())


# --- in process: a worst-case upstream on which every id exists -------------------------------------------


class EveryIdExists:
    """Answers every subaccount id with a subaccount and every order call with an order; records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?")[0].removeprefix("/v1")
        header = request.headers.get("x-subaccount-id")
        self.calls.append((request.method, path, header))
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts[0] == "subaccounts" and len(parts) >= 2:
            if request.method == "DELETE" and len(parts) == 2:
                return httpx.Response(204)
            return httpx.Response(200, json=subaccount(parts[1]))
        if parts[0] == "orders":
            if request.method == "GET" and len(parts) == 1:
                return httpx.Response(200, json={"data": [order("o1", header, [])]})
            created = order(parts[1] if len(parts) > 1 else "new1", header, [], state="placed")
            return httpx.Response(201 if request.method == "POST" else 200, json=created)
        return httpx.Response(404, json={"type": "about:blank", "title": "Not found", "status": 404})

    def reached(self) -> set[str]:
        """Every subaccount the calls named: in a subaccount path, or as X-Subaccount-Id."""
        named = {unquote(p.split("/")[2]) for _, p, _ in self.calls if p.startswith("/subaccounts/")}
        return named | {h for _, _, h in self.calls if h is not None}


SCHEMA = build_schema(extensions=[MaskInternalErrors, lambda: OperationGuard(config=GuardConfig())])
SETTINGS = gateway_settings()


#: The same schema without the guard: the resolvers' own checks (`call_options`, the subaccount loader).
UNGUARDED = build_schema(extensions=[MaskInternalErrors])


def run_bound(query: str, variables: dict[str, Any], schema: Any = SCHEMA) -> tuple[Any, EveryIdExists]:
    upstream = EveryIdExists()
    principal = Principal(name="client:tenant", scopes=ALL_SCOPES, subaccount_id=BOUND)

    async def execute() -> Any:
        async with httpx.AsyncClient(transport=upstream.transport()) as http:
            backend = OffsetsClient(http, base_url=BASE, api_key=KEY, retry=RetryPolicy(max_attempts=1))
            context = await build_context(None, None, client=backend, settings=SETTINGS, principal=principal)
            if not query.startswith("subscription"):
                return await schema.execute(query, variable_values=variables, context_value=context)
            stream = await schema.subscribe(query, variable_values=variables, context_value=context)
            try:  # the first event, or the error that ends the subscription
                return await anext(stream)
            finally:
                await stream.aclose()

    return asyncio.run(execute()), upstream


def test_the_bound_subaccount_itself_is_reachable_in_both_id_forms() -> None:
    for value in (BOUND, f"Subaccount:{BOUND}"):
        result, upstream = run_bound(OPERATIONS["subaccount"], {"id": value})
        assert result.errors is None
        assert result.data == {"subaccount": {"upstreamId": BOUND, "name": f"Sub {BOUND}"}}
        assert upstream.reached() == {BOUND}


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(OPERATIONS)), ids_around("QWI6Y2Rl"))
def test_in_process_no_id_reaches_another_subaccount(field: str, value: str) -> None:
    result, upstream = run_bound(OPERATIONS[field], {"id": value})
    assert upstream.reached() <= {BOUND}, (field, value, upstream.calls)
    names = {n for n in json.dumps(result.data).split('"') if n.startswith("Sub ")}
    assert names <= {f"Sub {BOUND}"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(OPERATIONS)), ids_around("QWI6Y2Rl"))
def test_without_the_guard_the_resolvers_still_keep_the_tenant_in(field: str, value: str) -> None:
    _, upstream = run_bound(OPERATIONS[field], {"id": value}, UNGUARDED)
    assert upstream.reached() <= {BOUND}, (field, value, upstream.calls)


# --- over real HTTP: gateway and sandbox under uvicorn ----------------------------------------------------

#: Upstream ids that were well-formed global ids of an unknown type under the old base64 scheme.
CRAFTED = [old_global_id("Ab", "cde"), old_global_id("Zz", "9876")]


@pytest.fixture(scope="module")
def others(secure: SecureSetup) -> list[str]:
    """Another tenant's subaccounts: sub_b, and ones whose ids are the crafted base64 strings."""
    made = [secure.sub_b]
    headers = {"authorization": f"Bearer {UPSTREAM_KEY}"}
    with httpx.Client(base_url=secure.sandbox_url, headers=headers) as http:
        for crafted in CRAFTED:
            assert crafted.isalnum()  # a plausible upstream id
            with mock.patch("sandbox.ids.subaccount_id", return_value=crafted):
                response = http.post("/v1/subaccounts", json={"name": "Tenant B"})
            response.raise_for_status()
            made.append(response.json()["id"])
    assert made[1:] == CRAFTED
    return made


#: Subscriptions run over WebSocket/SSE; in process (above) they run through the same guard and resolver.
HTTP_OPERATIONS = {k: v for k, v in OPERATIONS.items() if not v.startswith("subscription")}


def _send_as_bound(gateway: Gateway, secure: SecureSetup, field: str, value: str) -> str:
    """Send one operation as the bound writer; return the response text, having checked the sandbox saw
    nothing about any subaccount but the bound one."""
    secure.request_log.clear()
    response = gateway.post(HTTP_OPERATIONS[field], {"id": value}, token=secure.token("bound_writer"))
    assert response.status_code == 200, response.text
    for entry in secure.request_log.entries:
        assert entry.headers.get("x-subaccount-id") in (None, secure.sub_a), (field, value, entry.path)
        if entry.path.startswith("/v1/subaccounts/"):
            assert entry.path.split("/")[3] == secure.sub_a, (field, value, entry.path)
    return response.text


def test_over_http_another_tenants_ids_in_every_form_reach_nothing(
    gateway: Gateway, secure: SecureSetup, others: list[str]
) -> None:
    for other in others:
        forms = [other, f"Subaccount:{other}", old_global_id("Subaccount", other)]
        for field in HTTP_OPERATIONS:
            for value in forms:
                assert "Tenant B" not in _send_as_bound(gateway, secure, field, value)
    # Nothing of theirs changed: names, logos, existence.
    admin = secure.token("admin")
    for other in others:
        seen = gateway.post(
            "query($id: ID!) { subaccount(id: $id) { name logoUrl } }", {"id": other}, token=admin
        ).json()
        assert seen["data"] == {"subaccount": {"name": "Tenant B", "logoUrl": None}}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_over_http_generated_ids_reach_no_other_subaccount(
    gateway: Gateway, secure: SecureSetup, others: list[str], data: st.DataObject
) -> None:
    field = data.draw(st.sampled_from(sorted(HTTP_OPERATIONS)))
    value = data.draw(ids_around(data.draw(st.sampled_from(others))))
    assert "Tenant B" not in _send_as_bound(gateway, secure, field, value)
