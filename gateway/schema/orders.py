"""Orders: the `order`/`orders` queries, the order mutations and the `Order` type with its navigation."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry

from gateway.backend import models
from gateway.backend.client import CallOptions, Result
from gateway.context import GatewayInfo
from gateway.operation_limits.cost import plain_data
from gateway.schema.arguments import After, Before, First, Last, SubaccountIdArg, id_argument, input_argument
from gateway.schema.catalogue import Project
from gateway.schema.errors import GatewayInputError
from gateway.schema.execution import memoizable
from gateway.schema.lookahead import MaybeAwaitable, selects
from gateway.schema.money import Money, MoneyInput
from gateway.schema.node import Node, optional_upstream_id, upstream_id_field, upstream_id_of
from gateway.schema.pagination import PAGING_HELP, Connection, fetch_connection, page_request
from gateway.schema.payloads import KeyedOutcome, MutationPayload, attempt_keyed
from gateway.schema.scalars import DateTime
from gateway.subscriptions.placing import callback_url, order_changed

if TYPE_CHECKING:
    from gateway.schema.checkout import CheckoutSession
    from gateway.schema.subaccounts import Subaccount

# Upstream request-body names that differ from the input field names (for userErrors' `field`).
ORDER_INPUT_RENAMES = {
    "notification_config.url": "callbackUrl",
    "notification_config": "callbackUrl",
    "total_price_usd_cents": "totalPrice",
}


@strawberry.enum(description="Lifecycle of an order.")
class OrderState(enum.Enum):
    PLACED = strawberry.enum_value("placed", description="Waiting to be matched to credits.")
    FULFILLED = strawberry.enum_value("fulfilled", description="Matched to credits, which are retired.")
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Cancelled; a fulfilled order's price is credited."
    )


@strawberry.type(description="A registry retirement backing part of an order.")
class Retirement:
    serial_number_range: str | None = strawberry.field(
        description="Serial numbers of the retired credits at the registry."
    )
    url: str | None = strawberry.field(description="The retirement's page at the registry.")


# Converted nested projects by upstream id, for one page of orders: a page repeats a few projects across
# many allocations (50 orders: ~200 allocations, ~4 projects), and the copies in one upstream response are
# the same data, so one read-only `Project` each serves them all.
ProjectMemo = dict[str, Project]


def _project(project: models.Project, memo: ProjectMemo | None) -> Project:
    if memo is None:
        return Project.from_backend(project)
    converted = memo.get(project.id)
    if converted is None:
        converted = memo[project.id] = Project.from_backend(project)
    return converted


@strawberry.type(description="The part of a fulfilled order that one project supplied.")
class ProjectAllocation:
    amount_kg: float = strawberry.field(description="Credits this project supplied, in kg CO2e.")
    project: Project = strawberry.field(description="The project.")
    retirements: list[Retirement] = strawberry.field(description="Registry retirements of these credits.")

    @classmethod
    def from_backend(
        cls, allocation: models.ProjectAllocation, projects: ProjectMemo | None = None
    ) -> ProjectAllocation:
        """Convert an allocation; `projects` shares one `Project` per upstream id (see `ProjectMemo`)."""
        return cls(
            amount_kg=allocation.amount_kg,
            # A nested project lacks credit issuances; `creditIssuances` loads them once per project.
            project=_project(allocation.project, projects),
            retirements=[
                Retirement(serial_number_range=r.serial_number_range, url=r.url)
                for r in allocation.retirements
            ],
        )


@strawberry.type(description="An order of carbon credits.")
class Order(Node):
    upstream_id: str = upstream_id_field()
    order_number: str = strawberry.field(description="The number printed on the certificate.")
    created_on: DateTime = strawberry.field(description="When the order was placed.")
    amount_kg: float = strawberry.field(description="Credits bought, in kg CO2e.")
    price: Money = strawberry.field(description="What the order cost (US dollars).")
    state: OrderState = strawberry.field(description="Where the order is in its lifecycle.")
    description: str | None = strawberry.field(description="Public text printed on the certificate.")
    metadata: str | None = strawberry.field(description="Private data of the buyer, never printed.")
    callback_url: str | None = strawberry.field(description="Where state changes are POSTed.")
    certificate_public_url: str | None = strawberry.field(
        description="Public certificate page; null when cancelled."
    )
    certificate_download_public_url: str | None = strawberry.field(
        description="Certificate PDF; null when cancelled."
    )
    subaccount_upstream_id: str | None = strawberry.field(
        description="Upstream id of the order's subaccount."
    )
    checkout_session_upstream_id: str | None = strawberry.field(
        description="Upstream id of the checkout session the order came from."
    )
    _backend_allocations: strawberry.Private[list[models.ProjectAllocation]]
    _projects: strawberry.Private[ProjectMemo | None] = None
    _allocations: strawberry.Private[list[ProjectAllocation] | None] = None

    @strawberry.field(description="Which projects fulfilled the order (empty until it is fulfilled).")
    @memoizable
    @plain_data
    def project_allocations(self) -> list[ProjectAllocation]:
        return self.allocations()

    def allocations(self) -> list[ProjectAllocation]:
        """The allocations, converted when first asked for: an operation that does not select them (most
        reads of one order) does not pay for converting their projects."""
        if self._allocations is None:
            self._allocations = [
                ProjectAllocation.from_backend(a, self._projects) for a in self._backend_allocations
            ]
        return self._allocations

    @strawberry.field(
        description="The subaccount the order belongs to.",
        graphql_type=Annotated["Subaccount", strawberry.lazy("gateway.schema.subaccounts")] | None,
    )
    def subaccount(self, info: GatewayInfo) -> MaybeAwaitable[Subaccount | None]:
        # Synchronous when the subaccount is in hand (a page of orders prefetches them): no task per order.
        from gateway.schema.subaccounts import Subaccount, load_subaccount

        if self.subaccount_upstream_id is None:
            return None
        in_hand = info.context.loaders.subaccounts.peek_converted(
            self.subaccount_upstream_id, Subaccount.from_backend
        )
        if in_hand is not None:
            return in_hand
        return load_subaccount(info, self.subaccount_upstream_id)

    @strawberry.field(description="The checkout session the order came from.")
    async def checkout_session(
        self, info: GatewayInfo
    ) -> Annotated[CheckoutSession, strawberry.lazy("gateway.schema.checkout")] | None:
        from gateway.schema.checkout import fetch_checkout_session_node

        if self.checkout_session_upstream_id is None:
            return None
        return await fetch_checkout_session_node(info, self.checkout_session_upstream_id)

    @classmethod
    def from_backend(cls, order: models.Order, projects: ProjectMemo | None = None) -> Order:
        """Convert an order; pass one `projects` memo for every order of the same upstream page."""
        return cls(
            upstream_id=order.id,
            order_number=order.order_number,
            created_on=order.created_on,
            amount_kg=order.amount_kg,
            price=Money.from_usd_cents(order.price_usd_cents),
            state=OrderState(order.state.value),
            description=order.description,
            metadata=order.metadata,
            callback_url=order.callback_url,
            certificate_public_url=order.certificate_public_url,
            certificate_download_public_url=order.certificate_download_public_url,
            _backend_allocations=order.project_allocations,
            _projects=projects,
            subaccount_upstream_id=order.subaccount_id,
            checkout_session_upstream_id=order.checkout_session_id,
        )


OrderConnection = Connection[Order]


async def fetch_order_node(info: GatewayInfo, upstream_id: str) -> Order:
    return Order.from_backend(await info.context.loaders.orders.load((upstream_id, None)))


async def list_orders(
    info: GatewayInfo,
    subaccount_id: str | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Order]:
    """One page of orders (of `subaccount_id`, else of the account), priming the order loader."""
    request = page_request(first, after, last, before)
    context = info.context

    async def fetch(limit: int, starting_after: str | None, ending_before: str | None) -> list[models.Order]:
        orders = await context.client.list_orders(
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            opts=context.call_options(subaccount_id=subaccount_id),
        )
        for order in orders:
            context.loaders.prime_order(order, subaccount_id)
        return orders

    projects: ProjectMemo = {}
    fetched: list[models.Order] = []

    def convert(order: models.Order) -> Order:
        fetched.append(order)
        return Order.from_backend(order, projects)

    connection = await fetch_connection(request, fetch, lambda order: order.id, convert)
    await prefetch_links(info, fetched)
    return connection


# Where a page of orders selects its links, as paths under the connection field.
_SUBACCOUNT_PATHS = (("edges", "node", "subaccount"), ("nodes", "subaccount"))
_ISSUANCE_PATHS = tuple(
    (*page, "projectAllocations", "project", "creditIssuances") for page in (("edges", "node"), ("nodes",))
)


async def prefetch_links(info: GatewayInfo, orders: list[models.Order]) -> None:
    """Fetch the subaccounts and project details a page of orders links to, when the operation selects
    them, as the loaders would have (same batches, same upstream calls) but in one wave before the page is
    returned: `subaccount` and `creditIssuances` then resolve synchronously instead of one task each."""
    loaders = info.context.loaders
    waves: list[asyncio.Future[Any]] = []
    if any(selects(info, path) for path in _SUBACCOUNT_PATHS):
        ids = dict.fromkeys(o.subaccount_id for o in orders if o.subaccount_id is not None)
        waves.append(loaders.subaccounts.prefetch(ids))
    if any(selects(info, path) for path in _ISSUANCE_PATHS):
        ids = dict.fromkeys(a.project.id for o in orders for a in o.project_allocations)
        waves.append(loaders.projects.prefetch(ids))
    if waves:
        await asyncio.gather(*waves)


@strawberry.type
class OrderQueries:
    @strawberry.field(description="An order by id (global or upstream), optionally as seen by a subaccount.")
    async def order(
        self,
        info: GatewayInfo,
        id: Annotated[strawberry.ID, id_argument("order")],
        subaccount_id: SubaccountIdArg = None,
    ) -> Order | None:
        key = (upstream_id_of(id, "Order"), optional_upstream_id(subaccount_id, "Subaccount"))
        return Order.from_backend(await info.context.loaders.orders.load(key))

    @strawberry.field(description="Orders, newest first (a Relay connection; see `PageInfo`). " + PAGING_HELP)
    async def orders(
        self,
        info: GatewayInfo,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        subaccount_id: SubaccountIdArg = None,
    ) -> Connection[Order] | None:
        subaccount = optional_upstream_id(subaccount_id, "Subaccount")
        return await list_orders(info, subaccount, first, after, last, before)


# --- mutations ---------------------------------------------------------------------------------------


@strawberry.input(description="Buy credits by mass (`amountKg`) or by budget (`totalPrice`): exactly one.")
class PlaceOrderInput:
    amount_kg: float | None = strawberry.field(default=None, description="Credits to buy, in kg CO2e.")
    total_price: MoneyInput | None = strawberry.field(
        default=None,
        description="Budget in US dollars (`currencyCode: USD`, whole cents); the upstream derives a "
        "whole-kg amount from it, so the order's `price` may differ slightly.",
    )
    description: str | None = strawberry.field(
        default=None, description="Printed on the certificate (<= 512)."
    )
    metadata: str | None = strawberry.field(default=None, description="Private data returned with the order.")
    callback_url: str | None = strawberry.field(default=None, description="URL POSTed on state changes.")
    portfolio_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Portfolio to buy from (global or upstream id; default: the subaccount's or account's).",
    )
    subaccount_id: strawberry.ID | None = strawberry.field(
        default=None, description="Subaccount that buys (global or upstream id; default: the main account)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key never buys twice (<= 512 chars). The gateway makes one if "
        "absent and returns it in the payload.",
    )


@strawberry.input(description="Buy the credits of a car ride (deprecated upstream).")
class PlaceRideOrderInput:
    distance_km: float = strawberry.field(description="Distance of the ride, in km.")
    description: str | None = strawberry.field(
        default=None, description="Printed on the certificate (<= 512)."
    )
    metadata: str | None = strawberry.field(default=None, description="Private data returned with the order.")
    callback_url: str | None = strawberry.field(default=None, description="URL POSTed on state changes.")
    portfolio_id: strawberry.ID | None = strawberry.field(
        default=None, description="Portfolio to buy from (global or upstream id)."
    )
    subaccount_id: strawberry.ID | None = strawberry.field(
        default=None, description="Subaccount that buys (global or upstream id)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key never buys twice; the gateway makes one if absent.",
    )


@strawberry.input(description="Cancel an order.")
class CancelOrderInput:
    id: strawberry.ID = strawberry.field(description="The order (global or upstream id).")
    subaccount_id: strawberry.ID | None = strawberry.field(
        default=None, description="The subaccount the order belongs to (global or upstream id)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key never cancels twice; the gateway makes one if absent.",
    )


@strawberry.type(description="The result of an order mutation.")
class OrderPayload(MutationPayload):
    order: Order | None = strawberry.field(description="The order; null when the mutation failed.")
    idempotency_key: str = strawberry.field(
        description="The idempotency key of this call (yours, or one the gateway made); retry with it."
    )

    @classmethod
    def from_outcome(cls, outcome: KeyedOutcome[models.Order]) -> Self:
        return cls(order=outcome.converted(Order.from_backend), **outcome.payload_fields())


@strawberry.type(description="The result of `placeOrder`.")
class PlaceOrderPayload(OrderPayload):
    pass


@strawberry.type(description="The result of `placeRideOrder`.")
class PlaceRideOrderPayload(OrderPayload):
    pass


@strawberry.type(description="The result of `cancelOrder`.")
class CancelOrderPayload(OrderPayload):
    pass


def order_params(input: PlaceOrderInput) -> models.CreateOrderParams:
    if (input.amount_kg is None) == (input.total_price is None):
        raise GatewayInputError("Give exactly one of `amountKg` and `totalPrice`.", ["input"])
    cents = None if input.total_price is None else input.total_price.usd_cents("input", "totalPrice")
    return models.CreateOrderParams(
        amount_kg=input.amount_kg,
        total_price_usd_cents=cents,
        description=input.description,
        metadata=input.metadata,
        notification_url=input.callback_url,
        portfolio_id=optional_upstream_id(input.portfolio_id, "Portfolio", "input", "portfolioId"),
    )


def ride_order_params(input: PlaceRideOrderInput) -> models.CreateRideOrderParams:
    return models.CreateRideOrderParams(
        distance_km=input.distance_km,
        description=input.description,
        metadata=input.metadata,
        notification_url=input.callback_url,
        portfolio_id=optional_upstream_id(input.portfolio_id, "Portfolio", "input", "portfolioId"),
    )


OrderCall = Callable[[CallOptions], Awaitable[Result[models.Order]]]


async def _run_order_call(
    info: GatewayInfo, call: OrderCall, subaccount_id: strawberry.ID | None, caller_key: str | None
) -> KeyedOutcome[models.Order]:
    """Run one idempotent order call under the input's subaccount, priming the order loader."""
    context = info.context

    async def keyed(key: str) -> Result[models.Order]:
        subaccount = optional_upstream_id(subaccount_id, "Subaccount", "input", "subaccountId")
        result = await call(context.call_options(subaccount_id=subaccount, idempotency_key=key))
        context.loaders.prime_order(result.data, subaccount)
        await order_changed(context, result.data)
        return result

    return await attempt_keyed(keyed, caller_key, ORDER_INPUT_RENAMES)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Place an order for carbon credits (idempotent with `idempotencyKey`).")
    async def place_order(
        self, info: GatewayInfo, input: Annotated[PlaceOrderInput, input_argument("What to buy.")]
    ) -> PlaceOrderPayload:
        client = info.context.client

        async def call(opts: CallOptions) -> Result[models.Order]:
            params = order_params(input)
            url = callback_url(info.context, opts, params.notification_url)
            return await client.create_order(params.model_copy(update={"notification_url": url}), opts=opts)

        outcome = await _run_order_call(info, call, input.subaccount_id, input.idempotency_key)
        return PlaceOrderPayload.from_outcome(outcome)

    @strawberry.mutation(
        description="Place an order for the emissions of a car ride.",
        deprecation_reason="Deprecated upstream: quote `groundTransport`, then `placeOrder` its amountKg.",
    )
    async def place_ride_order(
        self, info: GatewayInfo, input: Annotated[PlaceRideOrderInput, input_argument("The ride.")]
    ) -> PlaceRideOrderPayload:
        client = info.context.client

        async def call(opts: CallOptions) -> Result[models.Order]:
            params = ride_order_params(input)
            url = callback_url(info.context, opts, params.notification_url)
            return await client.create_ride_order(
                params.model_copy(update={"notification_url": url}), opts=opts
            )

        outcome = await _run_order_call(info, call, input.subaccount_id, input.idempotency_key)
        return PlaceRideOrderPayload.from_outcome(outcome)

    @strawberry.mutation(description="Cancel an order (fulfilled ones too: the price is credited).")
    async def cancel_order(
        self, info: GatewayInfo, input: Annotated[CancelOrderInput, input_argument("The order to cancel.")]
    ) -> CancelOrderPayload:
        client = info.context.client

        async def call(opts: CallOptions) -> Result[models.Order]:
            return await client.cancel_order(upstream_id_of(input.id, "Order", "input", "id"), opts=opts)

        outcome = await _run_order_call(info, call, input.subaccount_id, input.idempotency_key)
        return CancelOrderPayload.from_outcome(outcome)
