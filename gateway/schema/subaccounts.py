"""Subaccounts: queries, mutations (incl. logos via URL or multipart upload) and navigation to orders,
default portfolio and impact."""

from __future__ import annotations

from typing import Annotated, Self

import strawberry

from gateway.backend import models
from gateway.backend.client import Result
from gateway.context import GatewayInfo
from gateway.ids import to_global_id
from gateway.schema.arguments import After, Before, First, From, Last, To, id_argument, input_argument
from gateway.schema.catalogue import Portfolio, load_portfolio
from gateway.schema.errors import GatewayInputError
from gateway.schema.impact import HostedImpactPage, ImpactData, fetch_hosted_page, fetch_impact
from gateway.schema.node import Node, optional_upstream_id, upstream_id_field, upstream_id_of
from gateway.schema.orders import Order, list_orders
from gateway.schema.pagination import PAGING_HELP, Connection, PageRequest, fetch_connection, page_request
from gateway.schema.payloads import KeyedOutcome, MutationPayload, Outcome, attempt, attempt_keyed
from gateway.schema.scalars import DateTime, Upload, read_upload

MAX_LOGO_BYTES = 5 * 1024 * 1024


@strawberry.type(description="A subaccount: a customer of yours with its own orders, impact and defaults.")
class Subaccount(Node):
    upstream_id: str = upstream_id_field()
    name: str = strawberry.field(description="The subaccount's name.")
    email: str | None = strawberry.field(description="The subaccount's contact email.")
    created_on: DateTime = strawberry.field(description="When the subaccount was created.")
    logo_url: str | None = strawberry.field(description="Hosted copy of the logo (query string may vary).")
    default_portfolio_upstream_id: str | None = strawberry.field(
        description="Upstream id of its default portfolio (null: the account's)."
    )

    @strawberry.field(description="The portfolio its orders use by default (null: the account's default).")
    async def default_portfolio(self, info: GatewayInfo) -> Portfolio | None:
        if self.default_portfolio_upstream_id is None:
            return None
        return await load_portfolio(info.context.loaders, self.default_portfolio_upstream_id)

    @strawberry.field(description="The subaccount's orders, newest first. " + PAGING_HELP)
    async def orders(
        self,
        info: GatewayInfo,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Order] | None:
        return await list_orders(info, self.upstream_id, first, after, last, before)

    @strawberry.field(name="impact", description="The subaccount's climate impact, optionally in [from, to].")
    async def impact(
        self,
        info: GatewayInfo,
        from_: From = None,
        to: To = None,
    ) -> ImpactData | None:
        return await fetch_impact(info, self.upstream_id, from_, to)

    @strawberry.field(description="The subaccount's hosted impact page.")
    async def hosted_impact_page(self, info: GatewayInfo) -> HostedImpactPage | None:
        return await fetch_hosted_page(info, self.upstream_id)

    @classmethod
    def from_backend(cls, subaccount: models.Subaccount) -> Subaccount:
        return cls(
            upstream_id=subaccount.id,
            name=subaccount.name,
            email=subaccount.email,
            created_on=subaccount.created_on,
            logo_url=subaccount.logo_url,
            default_portfolio_upstream_id=subaccount.default_portfolio_id,
        )


async def load_subaccount(info: GatewayInfo, upstream_id: str) -> Subaccount:
    """A subaccount by upstream id, through the request's loader."""
    return Subaccount.from_backend(await info.context.loaders.subaccounts.load(upstream_id))


fetch_subaccount_node = load_subaccount


@strawberry.type
class SubaccountQueries:
    @strawberry.field(description="A subaccount by id (global or upstream).")
    async def subaccount(
        self, info: GatewayInfo, id: Annotated[strawberry.ID, id_argument("subaccount")]
    ) -> Subaccount | None:
        return await load_subaccount(info, upstream_id_of(id, "Subaccount"))

    @strawberry.field(description="Subaccounts, newest first (a Relay connection). " + PAGING_HELP)
    async def subaccounts(
        self,
        info: GatewayInfo,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Subaccount] | None:
        return await list_subaccounts(info, page_request(first, after, last, before))


async def list_subaccounts(info: GatewayInfo, request: PageRequest) -> Connection[Subaccount]:
    """One page of the account's subaccounts, priming the subaccount loader."""
    context = info.context

    async def fetch(
        limit: int, starting_after: str | None, ending_before: str | None
    ) -> list[models.Subaccount]:
        bound = context.principal.subaccount_id
        if bound is not None:  # tenant isolation: a bound caller's list holds its own subaccount only
            return [] if starting_after or ending_before else [await context.loaders.subaccounts.load(bound)]
        subaccounts = await context.client.list_subaccounts(
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            opts=context.call_options(),
        )
        for subaccount in subaccounts:
            context.loaders.subaccounts.prime(subaccount.id, subaccount)
        return subaccounts

    return await fetch_connection(request, fetch, lambda s: s.id, Subaccount.from_backend)


# --- mutations ---------------------------------------------------------------------------------------


@strawberry.input(description="A new subaccount.")
class CreateSubaccountInput:
    name: str = strawberry.field(description="Shown on its impact page (<= 512).")
    email: str | None = strawberry.field(default=None, description="Contact email.")
    default_portfolio_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default portfolio of its orders (global or upstream id)."
    )
    logo_url: str | None = strawberry.field(
        default=None, description="Public image URL; the upstream rehosts it."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key never creates two; the gateway makes one if absent.",
    )


@strawberry.input(description="A full replacement: an omitted `email` or `defaultPortfolioId` is cleared.")
class UpdateSubaccountInput:
    id: strawberry.ID = strawberry.field(description="The subaccount (global or upstream id).")
    name: str = strawberry.field(description="The new name.")
    email: str | None = strawberry.field(default=None, description="The new contact email (null clears it).")
    default_portfolio_id: strawberry.ID | None = strawberry.field(
        default=None, description="The new default portfolio (null: inherit the account's)."
    )


@strawberry.input(description="Delete a subaccount that has no orders.")
class DeleteSubaccountInput:
    id: strawberry.ID = strawberry.field(description="The subaccount (global or upstream id).")


@strawberry.input(
    description="Give exactly one of `logoUrl` (public image URL) and `file` (multipart upload)."
)
class SetSubaccountLogoInput:
    id: strawberry.ID = strawberry.field(description="The subaccount (global or upstream id).")
    logo_url: str | None = strawberry.field(
        default=None, description="A public image URL the upstream downloads."
    )
    file: Upload | None = strawberry.field(
        default=None, description="PNG, JPEG, WebP or SVG, at most 5 MiB (GraphQL multipart request spec)."
    )


@strawberry.input(description="Remove a subaccount's logo.")
class RemoveSubaccountLogoInput:
    id: strawberry.ID = strawberry.field(description="The subaccount (global or upstream id).")


@strawberry.type(description="The result of a subaccount mutation.")
class SubaccountPayload(MutationPayload):
    subaccount: Subaccount | None = strawberry.field(
        description="The subaccount; null when the mutation failed."
    )

    @classmethod
    def from_outcome(cls, outcome: Outcome[models.Subaccount]) -> Self:
        return cls(subaccount=outcome.converted(Subaccount.from_backend), **outcome.payload_fields())


@strawberry.type(description="The result of `createSubaccount`.")
class CreateSubaccountPayload(MutationPayload):
    subaccount: Subaccount | None = strawberry.field(
        description="The new subaccount; null when it was not created."
    )
    idempotency_key: str = strawberry.field(
        description="The idempotency key of this call (yours, or one the gateway made); retry with it."
    )

    @classmethod
    def from_outcome(cls, outcome: KeyedOutcome[models.Subaccount]) -> Self:
        return cls(subaccount=outcome.converted(Subaccount.from_backend), **outcome.payload_fields())


@strawberry.type(description="The result of `updateSubaccount`.")
class UpdateSubaccountPayload(SubaccountPayload):
    pass


@strawberry.type(description="The result of `setSubaccountLogo`.")
class SetSubaccountLogoPayload(SubaccountPayload):
    pass


@strawberry.type(description="The result of `removeSubaccountLogo`.")
class RemoveSubaccountLogoPayload(SubaccountPayload):
    pass


@strawberry.type(description="The result of `deleteSubaccount`.")
class DeleteSubaccountPayload(MutationPayload):
    deleted_subaccount_upstream_id: str | None = strawberry.field(
        description="Upstream id of the deleted subaccount; null when nothing was deleted."
    )

    @strawberry.field(description="Global id of the deleted subaccount; null when nothing was deleted.")
    def deleted_subaccount_id(self) -> strawberry.ID | None:
        upstream_id = self.deleted_subaccount_upstream_id
        return None if upstream_id is None else strawberry.ID(to_global_id("Subaccount", upstream_id))


_LOGO_FIELDS = {"content-type": "file", "content_type": "file", "file": "file", "logo": "file"}


async def _set_logo(info: GatewayInfo, input: SetSubaccountLogoInput) -> models.Subaccount:
    subaccount_id = upstream_id_of(input.id, "Subaccount", "input", "id")
    client, opts = info.context.client, info.context.call_options(subaccount_id=subaccount_id)
    if (input.logo_url is None) == (input.file is None):
        raise GatewayInputError("Give exactly one of `logoUrl` and `file`.", ["input"])
    if input.file is None:
        return await client.set_subaccount_logo_url(subaccount_id, str(input.logo_url), opts=opts)
    content, content_type = await _logo_file(input.file)
    return await client.upload_subaccount_logo(subaccount_id, content, content_type, opts=opts)


async def _logo_file(file: Upload) -> tuple[bytes, str]:
    upload = await read_upload(file, MAX_LOGO_BYTES)
    if upload is None:
        raise GatewayInputError("The logo file is larger than 5 MiB.", ["input", "file"])
    content, content_type = upload
    if not content_type:
        raise GatewayInputError("The logo file needs a content type (e.g. image/png).", ["input", "file"])
    return content, content_type


def _primed(info: GatewayInfo, subaccount: models.Subaccount) -> models.Subaccount:
    info.context.loaders.subaccounts.prime(subaccount.id, subaccount)
    return subaccount


@strawberry.type
class SubaccountMutations:
    @strawberry.mutation(description="Create a subaccount (idempotent with `idempotencyKey`).")
    async def create_subaccount(
        self,
        info: GatewayInfo,
        input: Annotated[CreateSubaccountInput, input_argument("The subaccount to create.")],
    ) -> CreateSubaccountPayload:
        context = info.context

        async def call(key: str) -> Result[models.Subaccount]:
            params = models.CreateSubaccountParams(
                name=input.name,
                email=input.email,
                default_portfolio_id=optional_upstream_id(
                    input.default_portfolio_id, "Portfolio", "input", "defaultPortfolioId"
                ),
                logo_url=input.logo_url,
            )
            result = await context.client.create_subaccount(
                params, opts=context.call_options(idempotency_key=key)
            )
            _primed(info, result.data)
            return result

        return CreateSubaccountPayload.from_outcome(await attempt_keyed(call, input.idempotency_key))

    @strawberry.mutation(description="Replace a subaccount's name, email and default portfolio.")
    async def update_subaccount(
        self,
        info: GatewayInfo,
        input: Annotated[UpdateSubaccountInput, input_argument("The subaccount and its new fields.")],
    ) -> UpdateSubaccountPayload:
        context = info.context

        async def call() -> models.Subaccount:
            params = models.UpdateSubaccountParams(
                name=input.name,
                email=input.email,
                default_portfolio_id=optional_upstream_id(
                    input.default_portfolio_id, "Portfolio", "input", "defaultPortfolioId"
                ),
            )
            subaccount_id = upstream_id_of(input.id, "Subaccount", "input", "id")
            return _primed(
                info,
                await context.client.update_subaccount(
                    subaccount_id, params, opts=context.call_options(subaccount_id=subaccount_id)
                ),
            )

        return UpdateSubaccountPayload.from_outcome(await attempt(call))

    @strawberry.mutation(description="Delete a subaccount (the upstream refuses when it has orders).")
    async def delete_subaccount(
        self,
        info: GatewayInfo,
        input: Annotated[DeleteSubaccountInput, input_argument("The subaccount to delete.")],
    ) -> DeleteSubaccountPayload:
        context = info.context

        async def call() -> str:
            subaccount_id = upstream_id_of(input.id, "Subaccount", "input", "id")
            opts = context.call_options(subaccount_id=subaccount_id)
            await context.client.delete_subaccount(subaccount_id, opts=opts)
            context.loaders.subaccounts.clear(subaccount_id)
            return subaccount_id

        outcome = await attempt(call)
        return DeleteSubaccountPayload(
            deleted_subaccount_upstream_id=outcome.value, **outcome.payload_fields()
        )

    @strawberry.mutation(description="Set a subaccount's logo from a public URL or an uploaded file.")
    async def set_subaccount_logo(
        self,
        info: GatewayInfo,
        input: Annotated[SetSubaccountLogoInput, input_argument("The subaccount and its logo.")],
    ) -> SetSubaccountLogoPayload:
        async def call() -> models.Subaccount:
            return _primed(info, await _set_logo(info, input))

        # The upstream names the uploaded file's problems after its part's header, e.g. `content-type`.
        return SetSubaccountLogoPayload.from_outcome(await attempt(call, _LOGO_FIELDS))

    @strawberry.mutation(description="Remove a subaccount's logo.")
    async def remove_subaccount_logo(
        self,
        info: GatewayInfo,
        input: Annotated[RemoveSubaccountLogoInput, input_argument("The subaccount.")],
    ) -> RemoveSubaccountLogoPayload:
        context = info.context

        async def call() -> models.Subaccount:
            subaccount_id = upstream_id_of(input.id, "Subaccount", "input", "id")
            opts = context.call_options(subaccount_id=subaccount_id)
            return _primed(info, await context.client.remove_subaccount_logo(subaccount_id, opts=opts))

        return RemoveSubaccountLogoPayload.from_outcome(await attempt(call))
