"""Product offset records (seed 000): `recordProductOffsets` and `offsetProductBatch`.

`recordProductOffsets` sends hand-written batch records, typed and validated here first. `offsetProductBatch`
builds the record from the caller's own fulfilled orders (mapping in `gateway.products.from_orders`) and
records it at most once (`gateway.products.recording`). Both need the `orders:write` scope. Expected
failures (bad input, unusable orders, the platform refusing a field, no platform configured) are
`userErrors`; a platform that cannot be reached is a coded GraphQL error saying whether it may be retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError

from gateway.auth.principal import ORDERS_WRITE
from gateway.backend.errors import (
    BackendConnectionError,
    BackendError,
    BackendStatusError,
    BadRequestError,
    ForbiddenError,
    UnauthorizedError,
)
from gateway.backend.models import CreditIssuance, Order
from gateway.context import GatewayInfo, SubaccountNotAllowedError
from gateway.products import BatchRecord, ProductPlatformClient, ProjectRecord
from gateway.products.eligibility import check_order_ids, eligible_orders
from gateway.products.from_orders import BatchSpec, batch_from_orders, projects_needing_issuances
from gateway.products.models import Visibility
from gateway.products.recording import PartiallyRecordedError, RecordResult, record_batch_once, record_batches
from gateway.products.validation import (
    FieldProblem,
    camel,
    check_batches,
    check_product_id,
    wire_path_to_input,
)
from gateway.schema.arguments import input_argument
from gateway.schema.errors import UserError, UserErrorCode
from gateway.schema.money import Money, MoneyInput
from gateway.schema.node import optional_upstream_id, upstream_id_of
from gateway.schema.payloads import MutationPayload

ProductOffsetVisibility = strawberry.enum(
    Visibility, name="ProductOffsetVisibility", description="Whether the platform shows a value publicly."
)
# `Visibility` is the platform model's own enum, so its GraphQL values are described here.
_VISIBILITY_HELP = {"PUBLIC": "Shown to everyone.", "PRIVATE": "Shown only to the product's owner."}
for _value in ProductOffsetVisibility.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = _VISIBILITY_HELP[_value.name]


@strawberry.input(description="One project's retirement evidence within a batch.")
class ProductOffsetProjectInput:
    offset_provider: str = strawberry.field(description="Who supplied the credits, e.g. `CNaught`.")
    offset_quantity: float = strawberry.field(
        description="Credits retired for this batch from this project, in `offsetQuantityUnit`."
    )
    offset_quantity_unit: str = strawberry.field(description="Unit of `offsetQuantity`, e.g. `kg`.")
    offset_type: str | None = strawberry.field(default=None, description="Kind of offset, e.g. `Removal`.")
    offset_provider_project_id: str | None = strawberry.field(
        default=None, description="The provider's id of the project."
    )
    offset_provider_finalization_date: datetime | None = strawberry.field(
        default=None, description="When the provider finalised the retirement."
    )
    offset_provider_finalization_id: str | None = strawberry.field(
        default=None, description="The provider's id of that finalisation (e.g. the order id)."
    )
    project_id: str | None = strawberry.field(default=None, description="The registry's project id.")
    project_name: str | None = strawberry.field(default=None, description="The project's name.")
    project_location: str | None = strawberry.field(default=None, description="Where the project is.")
    project_type: str | None = strawberry.field(default=None, description="The project's type.")
    project_url: str | None = strawberry.field(
        default=None, description="The project's page (absolute http(s) URL)."
    )
    product_type: str | None = strawberry.field(default=None, description="The kind of credit product.")
    offset_retirement_date: datetime | None = strawberry.field(
        default=None, description="When the credits were retired."
    )
    offset_vintage_start: datetime | None = strawberry.field(
        default=None, description="Start of the credits' vintage."
    )
    offset_vintage_end: datetime | None = strawberry.field(
        default=None, description="End of the credits' vintage (not before the start)."
    )
    offset_serial_number: str | None = strawberry.field(
        default=None, description="Serial numbers of the retired credits."
    )
    offset_retirement_url: str | None = strawberry.field(
        default=None, description="The retirement's page at the registry."
    )
    offset_owner: str | None = strawberry.field(default=None, description="Who owns the retired credits.")
    offset_reason: str | None = strawberry.field(default=None, description="Why they were retired.")


@strawberry.input(description="One production batch's offset record.")
class ProductOffsetBatchInput:
    batch_number: str = strawberry.field(description="The production batch's number.")
    offset_total: float = strawberry.field(description="Emissions offset for the batch, in `offsetUnit`.")
    offset_unit: str = strawberry.field(description="Unit of `offsetTotal`, e.g. `kg`.")
    task_id: str | None = strawberry.field(
        default=None, description="The platform's supplier-request task this answers, if any."
    )
    offset_portfolio_id: str | None = strawberry.field(
        default=None, description="The provider's portfolio the credits came from."
    )
    offset_price: MoneyInput | None = strawberry.field(
        default=None, description="What the credits cost (at most the currency's decimals)."
    )
    offset_owner_visibility: Visibility | None = strawberry.field(
        default=None, description="Whether the platform shows `offsetOwner` publicly."
    )
    offset_reason_visibility: Visibility | None = strawberry.field(
        default=None, description="Whether the platform shows `offsetReason` publicly."
    )
    offset_provider_order_id: str | None = strawberry.field(
        default=None, description="The provider's order ids, comma-separated."
    )
    certificate_link: str | None = strawberry.field(
        default=None, description="Certificate URLs, separated by single spaces."
    )
    offset_projects: list[ProductOffsetProjectInput] = strawberry.field(
        description="Per-project retirement evidence.", default_factory=list
    )
    offset_owner: str | None = strawberry.field(default=None, description="Who owns the retired credits.")
    offset_reason: str | None = strawberry.field(default=None, description="Why they were retired.")
    comment: str | None = strawberry.field(default=None, description="Free text.")


@strawberry.input(description="Offset batches to record against one product.")
class RecordProductOffsetsInput:
    product_id: strawberry.ID = strawberry.field(description="The platform's product id.")
    batches: list[ProductOffsetBatchInput] = strawberry.field(
        description="The batches, sent together as one array."
    )


@strawberry.input(description="Record a batch built from the caller's own fulfilled orders.")
class OffsetProductBatchInput:
    product_id: strawberry.ID = strawberry.field(description="The platform's product id.")
    batch_number: str = strawberry.field(
        description="The production batch's number (with the product and orders, identifies the record)."
    )
    order_ids: list[strawberry.ID] = strawberry.field(
        description="Fulfilled orders (global or upstream ids)."
    )
    task_id: str | None = strawberry.field(
        default=None, description="The platform's supplier-request task this answers, if any."
    )
    subaccount_id: strawberry.ID | None = strawberry.field(
        default=None, description="The subaccount whose orders these are (none: the main account's)."
    )
    portfolio_id: strawberry.ID | None = strawberry.field(
        default=None, description="Sent as `offsetPortfolioId` (orders do not say which portfolio they used)."
    )
    owner: str | None = strawberry.field(default=None, description="Who owns the retired credits.")
    reason: str | None = strawberry.field(default=None, description="Why they were retired.")
    owner_visibility: Visibility | None = strawberry.field(
        default=None, description="Whether the platform shows `owner` publicly."
    )
    reason_visibility: Visibility | None = strawberry.field(
        default=None, description="Whether the platform shows `reason` publicly."
    )
    comment: str | None = strawberry.field(default=None, description="Free text.")


@strawberry.type(description="One project's retirement evidence as recorded.")
class ProductOffsetProject:
    offset_provider: str = strawberry.field(description="Who supplied the credits.")
    offset_quantity: float = strawberry.field(
        description="Credits retired from this project, in `offsetQuantityUnit`."
    )
    offset_quantity_unit: str = strawberry.field(description="Unit of `offsetQuantity`.")
    offset_type: str | None = strawberry.field(description="Kind of offset.")
    offset_provider_project_id: str | None = strawberry.field(description="The provider's id of the project.")
    offset_provider_finalization_date: datetime | None = strawberry.field(
        description="When the provider finalised the retirement."
    )
    offset_provider_finalization_id: str | None = strawberry.field(
        description="The provider's id of that finalisation."
    )
    project_id: str | None = strawberry.field(description="The registry's project id.")
    project_name: str | None = strawberry.field(description="The project's name.")
    project_location: str | None = strawberry.field(description="Where the project is.")
    project_type: str | None = strawberry.field(description="The project's type.")
    project_url: str | None = strawberry.field(description="The project's page.")
    product_type: str | None = strawberry.field(description="The kind of credit product.")
    offset_retirement_date: datetime | None = strawberry.field(description="When the credits were retired.")
    offset_vintage_start: datetime | None = strawberry.field(description="Start of the credits' vintage.")
    offset_vintage_end: datetime | None = strawberry.field(description="End of the credits' vintage.")
    offset_serial_number: str | None = strawberry.field(description="Serial numbers of the retired credits.")
    offset_retirement_url: str | None = strawberry.field(description="The retirement's page at the registry.")
    offset_owner: str | None = strawberry.field(description="Who owns the retired credits.")
    offset_reason: str | None = strawberry.field(description="Why they were retired.")

    @classmethod
    def from_record(cls, record: ProjectRecord) -> ProductOffsetProject:
        return cls(**dict(record))


@strawberry.type(description="One production batch's offset record as recorded.")
class ProductOffsetBatch:
    batch_number: str = strawberry.field(description="The production batch's number.")
    offset_total: float = strawberry.field(description="Emissions offset for the batch, in `offsetUnit`.")
    offset_unit: str = strawberry.field(description="Unit of `offsetTotal`.")
    task_id: str | None = strawberry.field(description="The platform's supplier-request task, if any.")
    offset_portfolio_id: str | None = strawberry.field(
        description="The provider's portfolio the credits came from."
    )
    offset_price: Money | None = strawberry.field(
        description="What the credits cost; null if not recorded (or in a currency not listed here)."
    )
    offset_owner_visibility: Visibility | None = strawberry.field(
        description="Whether the platform shows `offsetOwner` publicly."
    )
    offset_reason_visibility: Visibility | None = strawberry.field(
        description="Whether the platform shows `offsetReason` publicly."
    )
    offset_provider_order_id: str | None = strawberry.field(
        description="The provider's order ids, comma-separated."
    )
    certificate_link: str | None = strawberry.field(
        description="Certificate URLs, separated by single spaces."
    )
    offset_projects: list[ProductOffsetProject] = strawberry.field(
        description="Per-project retirement evidence."
    )
    offset_owner: str | None = strawberry.field(description="Who owns the retired credits.")
    offset_reason: str | None = strawberry.field(description="Why they were retired.")
    comment: str | None = strawberry.field(description="Free text.")

    @classmethod
    def from_record(cls, record: BatchRecord) -> ProductOffsetBatch:
        fields = dict(record)
        del fields["offset_price_unit"]
        price = record.price
        fields["offset_price"] = (
            None if price is None else Money.from_minor(price.amount_minor, price.currency)
        )
        fields["offset_projects"] = [ProductOffsetProject.from_record(p) for p in record.offset_projects]
        return cls(**fields)


@strawberry.type(description="The result of `recordProductOffsets`.")
class RecordProductOffsetsPayload(MutationPayload):
    recorded: list[ProductOffsetBatch] = strawberry.field(description="The batches now on the platform.")


@strawberry.type(description="The result of `offsetProductBatch`.")
class OffsetProductBatchPayload(MutationPayload):
    recorded: ProductOffsetBatch | None = strawberry.field(description="The batch as the platform holds it.")


# --- input -> records ---------------------------------------------------------------------------------


def batch_from_input(batch: ProductOffsetBatchInput) -> BatchRecord:
    """The platform record for one input batch (Money -> the platform's decimal amount and currency code)."""
    fields = {
        name: value for name, value in vars(batch).items() if name not in ("offset_price", "offset_projects")
    }
    price = batch.offset_price
    if price is not None:
        # Checked by `check_batches` like every other field (e.g. no more decimals than the currency has).
        fields.update(offset_price=float(price.amount), offset_price_unit=price.currency_code.name)
    projects = tuple(ProjectRecord(**vars(project)) for project in batch.offset_projects)
    return BatchRecord(**fields, offset_projects=projects)


def _user_errors(problems: Sequence[FieldProblem]) -> list[UserError]:
    return [UserError(code=UserErrorCode[p.code], field=list(p.field), message=p.message) for p in problems]


def _not_configured() -> list[UserError]:
    message = (
        "No product platform is configured (set GATEWAY_PRODUCT_PLATFORM_URL and its client credentials)."
    )
    return [UserError(code=UserErrorCode.PRODUCT_PLATFORM_NOT_CONFIGURED, field=None, message=message)]


def _platform_rejection(exc: BadRequestError, prefix: tuple[str, ...] | None) -> list[UserError]:
    """The platform's 400 as user errors; its JSON paths mapped to input paths when the input mirrors them."""
    if not exc.errors:
        return [UserError(code=UserErrorCode.INVALID_INPUT, field=None, message=_platform_message(exc))]
    return [
        UserError(
            code=UserErrorCode.INVALID_INPUT,
            field=list(wire_path_to_input(path, prefix)) if prefix else None,
            message=f"{path}: {message}" if prefix is None else message,
        )
        for path, messages in exc.errors.items()
        for message in messages
    ]


def _platform_message(exc: BackendError) -> str:
    if isinstance(exc, BackendStatusError) and exc.title:
        return f"The product platform refused the record: {exc.title}"
    return "The product platform refused the record."


def _platform_failure(exc: BackendError, hint: str) -> GraphQLError:
    """A coded GraphQL error for a platform failure; never its URL or credentials.

    The platform refusing the gateway's own client credentials is the operator's problem, not the
    caller's, so it is UPSTREAM_ERROR rather than UNAUTHENTICATED/FORBIDDEN (which would blame the caller).
    """
    code = "UPSTREAM_ERROR" if isinstance(exc, UnauthorizedError | ForbiddenError) else exc.code
    extensions: dict[str, object] = {"code": code, "upstream": "productPlatform"}
    if isinstance(exc, BackendStatusError):
        extensions["upstreamStatus"] = exc.status
    return GraphQLError(_failure_message(exc) + hint, extensions=extensions)


# offsetProductBatch looks the batch up before sending, so a caller may simply repeat the call.
_RETRY_HINT = " Repeating the same offsetProductBatch call is safe: it checks the platform before sending."


def _failure_message(exc: BackendError) -> str:
    if isinstance(exc, PartiallyRecordedError):
        text = "A response was lost and the platform holds only some of the batches; nothing was re-sent"
    elif isinstance(exc, BackendConnectionError):
        text = "The product platform could not be reached"
    elif isinstance(exc, UnauthorizedError | ForbiddenError):
        text = "The product platform refused the gateway's client credentials"
    elif isinstance(exc, BackendStatusError):
        text = f"The product platform failed (HTTP {exc.status})"
    else:
        text = "The product platform sent an unexpected answer"
    return f"{text}."


def _require_write(info: GatewayInfo) -> None:
    if not info.context.principal.has_scope(ORDERS_WRITE):
        raise GraphQLError(
            "Recording product offsets needs the orders:write scope.", extensions={"code": "FORBIDDEN"}
        )


async def _send(
    action: Awaitable[RecordResult], prefix: tuple[str, ...] | None
) -> tuple[RecordResult | None, list[UserError]]:
    """Await a recording coroutine, sorting platform failures into user errors or coded GraphQL errors.

    prefix: the input path the platform's error paths map under (`recordProductOffsets`, whose input
    mirrors the record); None for `offsetProductBatch`, whose record is derived and may be re-requested.
    """
    try:
        return await action, []
    except BadRequestError as exc:
        return None, _platform_rejection(exc, prefix)
    except BackendError as exc:
        raise _platform_failure(exc, "" if prefix else _RETRY_HINT) from exc


# --- offsetProductBatch --------------------------------------------------------------------------------


def _spec(input: OffsetProductBatchInput) -> BatchSpec:
    return BatchSpec(
        batch_number=input.batch_number,
        task_id=input.task_id,
        owner=input.owner,
        reason=input.reason,
        owner_visibility=input.owner_visibility,
        reason_visibility=input.reason_visibility,
        comment=input.comment,
        portfolio_id=optional_upstream_id(input.portfolio_id, "Portfolio", "input", "portfolioId"),
    )


def _subaccount(info: GatewayInfo, input: OffsetProductBatchInput) -> str | None:
    """The subaccount whose orders may be used; a bound caller asking for another is refused."""
    requested = optional_upstream_id(input.subaccount_id, "Subaccount", "input", "subaccountId")
    return info.context.call_options(subaccount_id=requested).subaccount_id


async def _issuances(info: GatewayInfo, orders: Sequence[Order]) -> dict[str, list[CreditIssuance]]:
    """Credit issuances of the projects whose vintages the serials do not name; one loader batch."""
    projects = await info.context.loaders.projects.load_many(projects_needing_issuances(orders))
    return {project.id: list(project.credit_issuances) for project in projects}


async def _build_batch(
    info: GatewayInfo, input: OffsetProductBatchInput, order_ids: list[str]
) -> tuple[BatchRecord | None, list[UserError]]:
    """The order-derived record, or the user errors that stop it (nothing is sent in that case)."""
    try:
        subaccount = _subaccount(info, input)
    except SubaccountNotAllowedError as exc:
        return None, [
            UserError(code=UserErrorCode.NOT_FOUND, field=["input", "subaccountId"], message=str(exc))
        ]
    loader = info.context.loaders.orders
    orders, problems = await eligible_orders(
        lambda oid: loader.load((oid, subaccount)), order_ids, subaccount
    )
    if problems:
        return None, _user_errors(problems)
    batch = batch_from_orders(_spec(input), orders, await _issuances(info, orders))
    problems = check_batches([batch])
    return (None, _user_errors(_spec_paths(problems))) if problems else (batch, [])


def _spec_paths(problems: Sequence[FieldProblem]) -> list[FieldProblem]:
    """Problems in a derived record (from odd upstream data): reported once each, against `orderIds`."""
    unique = dict.fromkeys(FieldProblem(("input", "orderIds"), p.code, p.message) for p in problems)
    return list(unique)


_SPEC_LIMITS = {"batch_number": 512, "task_id": 512, "owner": 512, "reason": 512, "comment": 2000}


def _offset_input_problems(input: OffsetProductBatchInput, order_ids: list[str]) -> list[FieldProblem]:
    problems = check_product_id(input.product_id) + check_order_ids(order_ids)
    if not input.batch_number.strip():
        problems.append(
            FieldProblem(("input", "batchNumber"), "INVALID_INPUT", "batchNumber must not be empty")
        )
    for name, limit in _SPEC_LIMITS.items():
        value = getattr(input, name)
        if value is not None and len(value) > limit:
            message = f"{camel(name)} must be at most {limit} characters"
            problems.append(FieldProblem(("input", camel(name)), "INVALID_INPUT", message))
    return problems


# --- the mutations ------------------------------------------------------------------------------------


@strawberry.type
class ProductMutations:
    @strawberry.mutation(description="Record offset batches against a product on the product platform.")
    async def record_product_offsets(
        self,
        info: GatewayInfo,
        input: Annotated[RecordProductOffsetsInput, input_argument("The product and its batches.")],
    ) -> RecordProductOffsetsPayload:
        _require_write(info)
        platform: ProductPlatformClient | None = info.context.products
        if platform is None:
            return RecordProductOffsetsPayload(recorded=[], replayed=False, user_errors=_not_configured())
        batches = [batch_from_input(batch) for batch in input.batches]
        problems = check_product_id(input.product_id) + check_batches(batches)
        if problems:
            return RecordProductOffsetsPayload(
                recorded=[], replayed=False, user_errors=_user_errors(problems)
            )
        result, errors = await _send(
            record_batches(platform, input.product_id, batches, request_id=info.context.request_id),
            ("input", "batches"),
        )
        recorded = [] if result is None else [ProductOffsetBatch.from_record(b) for b in result.batches]
        return RecordProductOffsetsPayload(recorded=recorded, replayed=False, user_errors=errors)

    @strawberry.mutation(
        description="Record one production batch built from the caller's fulfilled orders; never twice."
    )
    async def offset_product_batch(
        self,
        info: GatewayInfo,
        input: Annotated[OffsetProductBatchInput, input_argument("The product, batch and orders.")],
    ) -> OffsetProductBatchPayload:
        _require_write(info)
        platform: ProductPlatformClient | None = info.context.products
        if platform is None:
            return OffsetProductBatchPayload(recorded=None, replayed=False, user_errors=_not_configured())
        order_ids = [
            upstream_id_of(order_id, "Order", "input", "orderIds", str(index))
            for index, order_id in enumerate(input.order_ids)
        ]
        problems = _offset_input_problems(input, order_ids)
        batch, errors = (
            (None, _user_errors(problems)) if problems else await _build_batch(info, input, order_ids)
        )
        if batch is None:
            return OffsetProductBatchPayload(recorded=None, replayed=False, user_errors=errors)
        recording = record_batch_once(platform, input.product_id, batch, request_id=info.context.request_id)
        result, errors = await _send(recording, None)
        recorded = None if result is None else ProductOffsetBatch.from_record(result.batches[0])
        replayed = result is not None and result.replayed
        return OffsetProductBatchPayload(recorded=recorded, replayed=replayed, user_errors=errors)
