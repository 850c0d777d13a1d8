"""Checkout sessions: hosted payment pages for your end users; completing one creates an order."""

from __future__ import annotations

import enum
from typing import Annotated, Self

import strawberry

from gateway.backend import models
from gateway.context import GatewayInfo
from gateway.schema.arguments import id_argument, input_argument
from gateway.schema.catalogue import Portfolio, load_portfolio
from gateway.schema.money import Money
from gateway.schema.node import Node, optional_upstream_id, upstream_id_field, upstream_id_of
from gateway.schema.payloads import MutationPayload, Outcome, attempt
from gateway.schema.scalars import DateTime
from gateway.schema.subaccounts import Subaccount, load_subaccount

CHECKOUT_INPUT_RENAMES = {"notification_config.url": "callbackUrl", "notification_config": "callbackUrl"}


@strawberry.enum(description="Lifecycle of a checkout session.")
class CheckoutSessionState(enum.Enum):
    OPEN = strawberry.enum_value("open", description="Waiting for the buyer to pay.")
    COMPLETE = strawberry.enum_value("complete", description="Paid: the session's order was created.")
    EXPIRED = strawberry.enum_value("expired", description="Not paid in time (24 hours); no order.")


@strawberry.type(description="A hosted checkout page; completing it creates an order.")
class CheckoutSession(Node):
    upstream_id: str = upstream_id_field()
    amount_kg: float = strawberry.field(description="Credits the buyer buys, in kg CO2e.")
    price: Money = strawberry.field(description="What the buyer pays (US dollars).")
    state: CheckoutSessionState = strawberry.field(description="Where the session is in its lifecycle.")
    checkout_url: str = strawberry.field(description="Send the buyer here.")
    success_url: str = strawberry.field(
        description="Where the buyer goes after paying (`{CHECKOUT_SESSION_ID}` is replaced)."
    )
    cancel_url: str = strawberry.field(description="Where the buyer goes on cancelling.")
    created_on: DateTime = strawberry.field(description="When the session was created.")
    expires_on: DateTime = strawberry.field(description="When the session expires unless paid.")
    completed_on: DateTime | None = strawberry.field(description="When the buyer paid; null until then.")
    order_description: str | None = strawberry.field(description="The description the created order gets.")
    callback_url: str | None = strawberry.field(description="Callback of the order the session creates.")
    portfolio_upstream_id: str | None = strawberry.field(
        description="Upstream id of the portfolio the order will use."
    )
    subaccount_upstream_id: str | None = strawberry.field(
        description="Upstream id of the subaccount the order will belong to."
    )

    @strawberry.field(description="The portfolio the order will use.")
    async def portfolio(self, info: GatewayInfo) -> Portfolio | None:
        if self.portfolio_upstream_id is None:
            return None
        return await load_portfolio(info.context.loaders, self.portfolio_upstream_id)

    @strawberry.field(description="The subaccount the order will belong to.")
    async def subaccount(self, info: GatewayInfo) -> Subaccount | None:
        if self.subaccount_upstream_id is None:
            return None
        return await load_subaccount(info, self.subaccount_upstream_id)

    @classmethod
    def from_backend(cls, session: models.CheckoutSession) -> CheckoutSession:
        return cls(
            upstream_id=session.id,
            amount_kg=session.amount_kg,
            price=Money.from_usd_cents(session.price_usd_cents),
            state=CheckoutSessionState(session.state.value),
            checkout_url=session.checkout_url,
            success_url=session.success_url,
            cancel_url=session.cancel_url,
            created_on=session.created_on,
            expires_on=session.expires_on,
            completed_on=session.completed_on,
            order_description=session.order_description,
            callback_url=session.order_webhook_url,
            portfolio_upstream_id=session.portfolio_id,
            subaccount_upstream_id=session.subaccount_id,
        )


async def fetch_checkout_session_node(info: GatewayInfo, upstream_id: str) -> CheckoutSession:
    return CheckoutSession.from_backend(await info.context.loaders.checkout_sessions.load(upstream_id))


@strawberry.type
class CheckoutQueries:
    @strawberry.field(description="A checkout session by id (global or upstream).")
    async def checkout_session(
        self, info: GatewayInfo, id: Annotated[strawberry.ID, id_argument("checkout session")]
    ) -> CheckoutSession | None:
        return await fetch_checkout_session_node(info, upstream_id_of(id, "CheckoutSession"))


@strawberry.input(description="A checkout page for `amountKg`; the total must be at least $0.50.")
class CreateCheckoutSessionInput:
    amount_kg: float = strawberry.field(description="Credits to sell, in kg CO2e.")
    success_url: str = strawberry.field(
        description="Absolute https URL; `{CHECKOUT_SESSION_ID}` in it is replaced on redirect."
    )
    cancel_url: str = strawberry.field(description="Absolute https URL.")
    portfolio_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Portfolio the order will use (global or upstream id; default: the account's).",
    )
    description: str | None = strawberry.field(default=None, description="Becomes the order's description.")
    callback_url: str | None = strawberry.field(default=None, description="Becomes the order's callback URL.")
    subaccount_id: strawberry.ID | None = strawberry.field(
        default=None, description="Subaccount the order will belong to (global or upstream id)."
    )


@strawberry.type(description="The result of `createCheckoutSession`.")
class CreateCheckoutSessionPayload(MutationPayload):
    checkout_session: CheckoutSession | None = strawberry.field(
        description="The new session; null when it was not created."
    )

    @classmethod
    def from_outcome(cls, outcome: Outcome[models.CheckoutSession]) -> Self:
        return cls(
            checkout_session=outcome.converted(CheckoutSession.from_backend), **outcome.payload_fields()
        )


@strawberry.type
class CheckoutMutations:
    @strawberry.mutation(description="Create a checkout session (not idempotent upstream: never retried).")
    async def create_checkout_session(
        self,
        info: GatewayInfo,
        input: Annotated[CreateCheckoutSessionInput, input_argument("The session to create.")],
    ) -> CreateCheckoutSessionPayload:
        context = info.context

        async def call() -> models.CheckoutSession:
            params = models.CreateCheckoutSessionParams(
                amount_kg=input.amount_kg,
                success_url=input.success_url,
                cancel_url=input.cancel_url,
                portfolio_id=optional_upstream_id(input.portfolio_id, "Portfolio", "input", "portfolioId"),
                description=input.description,
                notification_url=input.callback_url,
            )
            opts = context.call_options(
                subaccount_id=optional_upstream_id(input.subaccount_id, "Subaccount", "input", "subaccountId")
            )
            session = await context.client.create_checkout_session(params, opts=opts)
            context.loaders.checkout_sessions.prime(session.id, session)
            return session

        return CreateCheckoutSessionPayload.from_outcome(await attempt(call, CHECKOUT_INPUT_RENAMES))
