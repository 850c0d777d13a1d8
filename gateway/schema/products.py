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
from gateway.schema.errors import UserError, UserErrorCode
from gateway.schema.money import Money, MoneyInput
from gateway.schema.node import optional_upstream_id, upstream_id_of
from gateway.schema.payloads import MutationPayload

ProductOffsetVisibility = strawberry.enum(
    Visibility, name="ProductOffsetVisibility", description="Whether the platform shows a value publicly."
)


@strawberry.input(description="One project's retirement evidence within a batch.")
class ProductOffsetProjectInput:
    offset_provider: str
    offset_quantity: float
    offset_quantity_unit: str
    offset_type: str | None = None
    offset_provider_project_id: str | None = None
    offset_provider_finalization_date: datetime | None = None
    offset_provider_finalization_id: str | None = None
    project_id: str | None = strawberry.field(default=None, description="The registry's project id.")
    project_name: str | None = None
    project_location: str | None = None
    project_type: str | None = None
    project_url: str | None = None
    product_type: str | None = None
    offset_retirement_date: datetime | None = None
    offset_vintage_start: datetime | None = None
    offset_vintage_end: datetime | None = None
    offset_serial_number: str | None = None
    offset_retirement_url: str | None = None
    offset_owner: str | None = None
    offset_reason: str | None = None


@strawberry.input(description="One production batch's offset record.")
class ProductOffsetBatchInput:
    batch_number: str
    offset_total: float
    offset_unit: str
    task_id: str | None = None
    offset_portfolio_id: str | None = None
    offset_price: MoneyInput | None = None
    offset_owner_visibility: Visibility | None = None
    offset_reason_visibility: Visibility | None = None
    offset_provider_order_id: str | None = None
    certificate_link: str | None = None
    offset_projects: list[ProductOffsetProjectInput] = strawberry.field(default_factory=list)
    offset_owner: str | None = None
    offset_reason: str | None = None
    comment: str | None = None


@strawberry.input
class RecordProductOffsetsInput:
    product_id: strawberry.ID
    batches: list[ProductOffsetBatchInput]


@strawberry.input(description="Record a batch built from the caller's own fulfilled orders.")
class OffsetProductBatchInput:
    product_id: strawberry.ID
    batch_number: str
    order_ids: list[strawberry.ID] = strawberry.field(
        description="Fulfilled orders (global or upstream ids)."
    )
    task_id: str | None = None
    subaccount_id: strawberry.ID | None = strawberry.field(
        default=None, description="The subaccount whose orders these are (none: the main account's)."
    )
    portfolio_id: strawberry.ID | None = strawberry.field(
        default=None, description="Sent as `offsetPortfolioId` (orders do not say which portfolio they used)."
    )
    owner: str | None = None
    reason: str | None = None
    owner_visibility: Visibility | None = None
    reason_visibility: Visibility | None = None
    comment: str | None = None


@strawberry.type(description="One project's retirement evidence as recorded.")
class ProductOffsetProject:
    offset_provider: str
    offset_quantity: float
    offset_quantity_unit: str
    offset_type: str | None
    offset_provider_project_id: str | None
    offset_provider_finalization_date: datetime | None
    offset_provider_finalization_id: str | None
    project_id: str | None
    project_name: str | None
    project_location: str | None
    project_type: str | None
    project_url: str | None
    product_type: str | None
    offset_retirement_date: datetime | None
    offset_vintage_start: datetime | None
    offset_vintage_end: datetime | None
    offset_serial_number: str | None
    offset_retirement_url: str | None
    offset_owner: str | None
    offset_reason: str | None

    @classmethod
    def from_record(cls, record: ProjectRecord) -> ProductOffsetProject:
        return cls(**dict(record))


@strawberry.type(description="One production batch's offset record as recorded.")
class ProductOffsetBatch:
    batch_number: str
    offset_total: float
    offset_unit: str
    task_id: str | None
    offset_portfolio_id: str | None
    offset_price: Money | None
    offset_owner_visibility: Visibility | None
    offset_reason_visibility: Visibility | None
    offset_provider_order_id: str | None
    certificate_link: str | None
    offset_projects: list[ProductOffsetProject]
    offset_owner: str | None
    offset_reason: str | None
    comment: str | None

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


@strawberry.type
class RecordProductOffsetsPayload(MutationPayload):
    recorded: list[ProductOffsetBatch] = strawberry.field(description="The batches now on the platform.")


@strawberry.type
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
        self, info: GatewayInfo, input: RecordProductOffsetsInput
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
        self, info: GatewayInfo, input: OffsetProductBatchInput
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
