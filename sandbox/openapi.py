"""The sandbox's OpenAPI 3.1 document: the offsets REST contract (CNaught v1) written down as data.

It is hand-written from the reference (``shared/reference/offsets-api.md``), not derived from the sandbox's
code, so a test can hold the sandbox's real responses against it. Schemas are JSON Schema 2020-12 (OpenAPI
3.1's dialect). Response objects list every documented field; `required` holds the ones the reference says
are always present (nullable fields are sent as ``null``, not omitted). Served at ``GET /v1/openapi.json``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Schema = dict[str, Any]

ERRORS_BASE = "https://api.cnaught.com/v1/errors/"
PROBLEM_TYPES = (
    "invalid-parameters",
    "invalid-pagination",
    "invalid-subaccount",
    "idempotency-key-too-long",
    "forbidden",
    "not-found",
    "idempotency-concurrent-requests",
    "idempotency-changed-payload",
)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/svg+xml")
VEHICLE_TYPES = ("passenger_car_van_or_suv", "small_bus", "school_bus", "coach_bus")

_DESCRIPTION = """\
The offsets REST API (CNaught v1) as served by the offline sandbox of offsets-gateway.

Every path is relative to the server URL (`/v1` on the sandbox, `https://api.cnaught.com/v1` in production).
Authenticate with `Authorization: Bearer <API key>`; errors are RFC 7807 problem details
(`application/problem+json`).

Sandbox-only extensions (not part of this contract, not in CNaught's API):
`POST /_sandbox/orders/{id}/fulfil`, `POST /_sandbox/checkout/sessions/{id}/complete`, and with the admin
API enabled `/_sandbox/faults`, `/_sandbox/requests`, `/_sandbox/stats`; the product platform (seed 000)
lives under `/product-api`."""


# --- schema building blocks ---------------------------------------------------------------------------


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or JSON null."""
    if "type" in schema and "$ref" not in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        extra = {k: v for k, v in schema.items() if k not in ("type", "enum")}
        enum = {"enum": [*schema["enum"], None]} if "enum" in schema else {}
        return {"type": [*types, "null"], **enum, **extra}
    return {"anyOf": [schema, {"type": "null"}]}


def string(**extra: Any) -> Schema:
    """A string schema."""
    return {"type": "string", **extra}


def number(**extra: Any) -> Schema:
    """A number schema."""
    return {"type": "number", **extra}


def integer(**extra: Any) -> Schema:
    """An integer schema."""
    return {"type": "integer", **extra}


def array(items: Schema, **extra: Any) -> Schema:
    """An array schema."""
    return {"type": "array", "items": items, **extra}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, **extra: Any) -> Schema:
    """An object with `required` (always present) and `optional` properties."""
    properties = {**required, **(optional or {})}
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


TIMESTAMP = string(
    format="date-time", description="UTC, 6 fractional digits, e.g. 2022-08-01T18:00:00.000000Z"
)
TEXT_512 = nullable(string(maxLength=512))
NULLABLE_STRING = nullable(string())


def list_of(name: str) -> Schema:
    """The list envelope ``{"data": [...]}``."""
    return obj({"data": array(ref(name))})


# --- component schemas ----------------------------------------------------------------------------------


def _order() -> Schema:
    return obj(
        {
            "id": string(),
            "order_number": string(description="Printed on the certificate, derived from the id."),
            "created_on": TIMESTAMP,
            "metadata": TEXT_512,
            "description": TEXT_512,
            "amount_kg": number(),
            "state": string(enum=["placed", "fulfilled", "cancelled"]),
            "price_usd_cents": integer(),
            "callback_url": NULLABLE_STRING,
            "certificate_public_url": NULLABLE_STRING,
            "certificate_download_public_url": NULLABLE_STRING,
            "subaccount_id": NULLABLE_STRING,
        },
        {
            "project_allocations": array(ref("ProjectAllocation")),
            "checkout_session_id": NULLABLE_STRING,
            "type": string(description="Legacy (ride-order era)."),
            "distance_km": number(description="Legacy (ride orders)."),
        },
    )


def _project_fields() -> tuple[dict[str, Schema], dict[str, Schema]]:
    required = {"id": string(), "name": string(), "type": string(), "un_sdg_goals": array(integer())}
    optional: dict[str, Schema] = {
        key: NULLABLE_STRING
        for key in [
            "developer",
            "registry_name",
            "registry_id",
            "registry_url",
            "summary",
            "description",
            "location_name",
            "primary_image_url",
            "methodology",
            "verifier",
            "permanence",
            "impact_type",
            "due_diligence",
            "beyond_carbon",
            "risk_of_reversal",
        ]
    }
    optional |= {
        "activity_types": nullable(array(string())),
        "location_latitude": nullable(number()),
        "location_longitude": nullable(number()),
        "lifetime": nullable(obj({}, {"start_year": nullable(integer()), "end_year": nullable(integer())})),
        "third_party_labels": nullable(array(string())),
        "notable_buyers": nullable(array(obj({"name": string()}, _buyer_optional()))),
        "due_diligence_figure": nullable(
            obj(
                {"description": NULLABLE_STRING, "image_url": NULLABLE_STRING},
                {"image_alt_text": NULLABLE_STRING},
            )
        ),
        "news_articles": nullable(array(_news_article())),
    }
    return required, optional


def _buyer_optional() -> dict[str, Schema]:
    return {"logo_url": NULLABLE_STRING, "logo_alt_text": NULLABLE_STRING}


def _news_article() -> Schema:
    return obj(
        {"title": string(), "url": string()},
        {"author": NULLABLE_STRING, "published_on": NULLABLE_STRING, "cnaught_take": NULLABLE_STRING},
    )


def _project() -> Schema:
    required, optional = _project_fields()
    return obj(required, optional)


def _project_details() -> Schema:
    required, optional = _project_fields()
    issuance = obj({"vintage_year": integer(), "total_amount": number()})
    return obj({**required, "credit_issuances": array(issuance)}, optional)


def _category_fields() -> tuple[dict[str, Schema], dict[str, Schema]]:
    return {"id": string(), "name": string()}, {
        "description": NULLABLE_STRING,
        "primary_image_url": NULLABLE_STRING,
    }


def _category_details() -> Schema:
    required, optional = _category_fields()
    return obj({**required, "projects": array(ref("Project"))}, optional)


def _portfolio_fields() -> tuple[dict[str, Schema], dict[str, Schema]]:
    optional = {
        "summary": NULLABLE_STRING,
        "description": NULLABLE_STRING,
        "primary_image_url": NULLABLE_STRING,
    }
    return {"id": string(), "name": string()}, optional


def _portfolio_details() -> Schema:
    required, optional = _portfolio_fields()
    allocation = obj(
        {"allocated_fraction": number(minimum=0, maximum=1), "category": ref("ProjectCategoryDetails")}
    )
    prices = {
        "api_price_per_kg_usd_cents": number(),
        "checkout_price_per_kg_usd_cents": number(description="May be fractional; totals are rounded up."),
    }
    return obj({**required, **prices, "category_allocations": array(allocation)}, optional)


def _subaccount() -> Schema:
    return obj(
        {
            "id": string(),
            "created_on": TIMESTAMP,
            "name": string(maxLength=512),
            "email": NULLABLE_STRING,
            "default_portfolio_id": NULLABLE_STRING,
            "logo_url": NULLABLE_STRING,
        }
    )


def _impact_data() -> Schema:
    equivalents = obj(
        {
            k: number()
            for k in ("cars_off_the_road", "trees_planted", "homes_annual_energy_usage", "flights_lax_to_nyc")
        }
    )
    project = obj({"project": ref("Project"), "offset_kgs": number(), "vintages": string()})
    category = obj(
        {
            "category": obj({"name": string(), "description": NULLABLE_STRING}),
            "offset_kgs": number(),
            "projects": array(project),
        }
    )
    return obj(
        {
            "name": NULLABLE_STRING,
            "logo_url": NULLABLE_STRING,
            "total_offset_kgs": number(),
            "equivalents": equivalents,
            "since_date": string(description="The requested `from`, else when the account started."),
            "to_date": NULLABLE_STRING,
            "categories": array(category),
        }
    )


def _checkout_session() -> Schema:
    return obj(
        {
            "id": string(),
            "amount_kg": number(),
            "price_usd_cents": integer(),
            "success_url": string(),
            "cancel_url": string(),
            "checkout_url": string(),
            "state": string(enum=["open", "complete", "expired"]),
            "created_on": TIMESTAMP,
            "expires_on": TIMESTAMP,
            "completed_on": nullable(TIMESTAMP),
            "portfolio_id": NULLABLE_STRING,
        },
        {
            "subaccount_id": NULLABLE_STRING,
            "order_description": NULLABLE_STRING,
            "order_webhook_url": NULLABLE_STRING,
        },
    )


def _legacy_checkout_session() -> Schema:
    """The session as the pre-2024-05 paths answer it: `status` where `state` is now."""
    schema = _checkout_session()
    properties = {name: value for name, value in schema["properties"].items() if name != "state"}
    schema["properties"] = {**properties, "status": string(enum=["open", "complete", "expired"])}
    schema["required"] = [name if name != "state" else "status" for name in schema["required"]]
    return schema


def _problem() -> Schema:
    return obj(
        {
            "type": string(
                description="A URI naming the problem: " + ", ".join(ERRORS_BASE + t for t in PROBLEM_TYPES),
                examples=[ERRORS_BASE + "invalid-parameters", "about:blank"],
            ),
            "title": string(),
            "status": integer(minimum=400, maximum=599),
        },
        {
            "detail": string(),
            "errors": obj({}, additionalProperties=array(string()), description="Field path -> messages."),
        },
    )


def _request_bodies() -> dict[str, Schema]:
    notification = nullable(obj({"url": string(minLength=1)}))
    order_common = {
        "description": TEXT_512,
        "metadata": TEXT_512,
        "notification_config": notification,
        "portfolio_id": NULLABLE_STRING,
    }
    quote_common = {"portfolio_id": NULLABLE_STRING, "source": nullable(string(enum=["api", "checkout"]))}
    positive = number(exclusiveMinimum=0)
    return {
        "CreateOrderByAmount": obj({"amount_kg": positive}, order_common),
        "CreateOrderByPrice": obj({"total_price_usd_cents": integer(exclusiveMinimum=0)}, order_common),
        "CreateRideOrder": obj({"distance_km": positive}, order_common),
        "MassQuoteRequest": obj({"amount_kg": positive}, quote_common),
        "DistanceQuoteRequest": obj({"distance_km": positive}, quote_common),
        "FreightQuoteRequest": obj({"freight_mass_kg": positive, "distance_km": positive}, quote_common),
        "GroundTransportQuoteRequest": obj(
            {"distance_km": positive, "vehicle_type": string(enum=list(VEHICLE_TYPES))}, quote_common
        ),
        "OfficeSpaceQuoteRequest": obj({"square_footage": positive}, quote_common),
        "CreateSubaccount": obj(
            {"name": string(minLength=1, maxLength=512)},
            {"email": NULLABLE_STRING, "default_portfolio_id": NULLABLE_STRING, "logo_url": NULLABLE_STRING},
        ),
        "UpdateSubaccount": obj(
            {"name": string(minLength=1, maxLength=512)},
            {"email": NULLABLE_STRING, "default_portfolio_id": NULLABLE_STRING},
            description="A full replacement: omitted optional fields are cleared.",
        ),
        "SubaccountLogoUrl": obj({"logo_url": string(minLength=1)}),
        "CreateCheckoutSession": obj(
            {
                "amount_kg": positive,
                "success_url": string(description="Absolute https URL; may contain {CHECKOUT_SESSION_ID}."),
                "cancel_url": string(description="Absolute https URL."),
            },
            {"portfolio_id": NULLABLE_STRING, "description": TEXT_512, "notification_config": notification},
        ),
        "CreateCheckoutSessionLegacy": obj(
            {
                "email": string(minLength=1, maxLength=512, description="The buyer's email (required then)."),
                "amount_kg": positive,
                "success_url": string(description="Absolute https URL; may contain {CHECKOUT_SESSION_ID}."),
                "cancel_url": string(description="Absolute https URL."),
            },
            {"portfolio_id": NULLABLE_STRING, "description": TEXT_512, "notification_config": notification},
        ),
    }


def component_schemas() -> dict[str, Schema]:
    """Every named schema of the document."""
    category_required, category_optional = _category_fields()
    portfolio_required, portfolio_optional = _portfolio_fields()
    return {
        "Order": _order(),
        "ProjectAllocation": obj(
            {"project": ref("Project"), "amount_kg": number(), "retirements": array(ref("Retirement"))}
        ),
        "Retirement": obj({"serial_number_range": NULLABLE_STRING, "url": NULLABLE_STRING}),
        "Project": _project(),
        "ProjectDetails": _project_details(),
        "ProjectCategory": obj(category_required, category_optional),
        "ProjectCategoryDetails": _category_details(),
        "Portfolio": obj(portfolio_required, portfolio_optional),
        "PortfolioDetails": _portfolio_details(),
        "Quote": obj({"amount_kg": number(), "price_usd_cents": integer()}),
        "Subaccount": _subaccount(),
        "ImpactData": _impact_data(),
        "HostedPageConfig": obj(
            {"enabled": {"type": "boolean"}, "url": string(), "enabled_equivalents": array(string())}
        ),
        "CheckoutSession": _checkout_session(),
        "LegacyCheckoutSession": _legacy_checkout_session(),
        "OrderList": list_of("Order"),
        "SubaccountList": list_of("Subaccount"),
        "PortfolioList": list_of("Portfolio"),
        "Problem": _problem(),
        **_request_bodies(),
    }


# --- parameters, headers, responses --------------------------------------------------------------------


def _header_param(name: str, description: str, **schema: Any) -> Schema:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": string(**schema),
    }


def _query_param(name: str, description: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def component_parameters() -> dict[str, Schema]:
    """Reusable parameters (headers, pagination, the id in the path)."""
    return {
        "SubaccountId": _header_param("X-Subaccount-Id", "Scope the call to this subaccount of the caller."),
        "IdempotencyKey": _header_param(
            "Idempotency-Key", "Replays return the original response; max 512 characters.", maxLength=512
        ),
        "Limit": _query_param("limit", "Page size.", integer(minimum=1, maximum=100, default=20)),
        "StartingAfter": _query_param("starting_after", "Next page: the items older than this id.", string()),
        "EndingBefore": _query_param(
            "ending_before", "Previous page: the items newer than this id.", string()
        ),
        "Id": {"name": "id", "in": "path", "required": True, "schema": string()},
    }


def _problem_response(description: str) -> Schema:
    return {"description": description, "content": {"application/problem+json": {"schema": ref("Problem")}}}


def component_responses() -> dict[str, Schema]:
    """Reusable error responses (problem+json)."""
    return {
        "BadRequest": _problem_response(
            "invalid-parameters, invalid-pagination, invalid-subaccount or idempotency-key-too-long."
        ),
        "Unauthorized": _problem_response('Missing or unknown API key (title "Unauthorized").'),
        "Forbidden": _problem_response(
            "forbidden: subaccounts are not enabled for the account, the portfolio is not available to it,"
            " or the order is already cancelled."
        ),
        "NotFound": _problem_response('not-found: e.g. "Could not find order".'),
        "Conflict": _problem_response("idempotency-concurrent-requests: the same key is still in flight."),
        "UnprocessableEntity": _problem_response(
            "idempotency-changed-payload: the key was used with another body."
        ),
    }


def component_headers() -> dict[str, Schema]:
    """Response headers."""
    return {
        "X-Idempotent-Replay": {
            "description": "`true` when this is the stored response of an earlier request with the same key.",
            "schema": string(enum=["true"]),
        }
    }


def _param(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _error(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def _ok(schema_name: str | None, description: str, *, replayable: bool = False) -> Schema:
    response: Schema = {"description": description}
    if schema_name is not None:
        response["content"] = {"application/json": {"schema": ref(schema_name)}}
    if replayable:
        response["headers"] = {"X-Idempotent-Replay": {"$ref": "#/components/headers/X-Idempotent-Replay"}}
    return response


def _json_body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


# --- operations -----------------------------------------------------------------------------------------


def operation(
    op_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Schema],
    *,
    params: tuple[str, ...] = (),
    body: Schema | None = None,
    errors: tuple[str, ...] = (),
) -> Schema:
    """One operation; every operation can answer 401."""
    statuses = {"400": "BadRequest", "403": "Forbidden", "404": "NotFound", "409": "Conflict"}
    statuses |= {"422": "UnprocessableEntity"}
    all_responses = {**responses, "401": _error("Unauthorized")}
    if "SubaccountId" in params:  # a foreign subaccount is 400, subaccounts not enabled 403
        errors = (*errors, "400", "403")
    all_responses |= {status: _error(statuses[status]) for status in sorted(set(errors))}
    op: Schema = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": all_responses}
    if params:
        op["parameters"] = [_param(p) for p in params]
    if body is not None:
        op["requestBody"] = body
    return op


_KEYED = ("400", "409", "422")


def order_paths() -> dict[str, Schema]:
    """``/orders`` and its sub-resources."""
    create_body = _json_body(
        {
            "oneOf": [ref("CreateOrderByAmount"), ref("CreateOrderByPrice")],
            "description": "Exactly one amount.",
        }
    )
    created = {"201": _ok("Order", "The order, state placed.", replayable=True)}
    return {
        "/orders": {
            "get": operation(
                "GetListOfOrder",
                "List orders, newest first.",
                "Orders",
                {"200": _ok("OrderList", "A page of orders.")},
                params=("Limit", "StartingAfter", "EndingBefore", "SubaccountId"),
                errors=("400",),
            ),
            "post": operation(
                "SubmitOrder",
                "Place an order by mass or by price.",
                "Orders",
                created,
                params=("SubaccountId", "IdempotencyKey"),
                body=create_body,
                errors=(*_KEYED, "403"),
            ),
        },
        "/orders/ride": {
            "post": {
                **operation(
                    "SubmitRideOrder",
                    "Place a ride order (deprecated: quote ground-transport, then order by mass).",
                    "Orders",
                    created,
                    params=("SubaccountId", "IdempotencyKey"),
                    body=_json_body(ref("CreateRideOrder")),
                    errors=(*_KEYED, "403"),
                ),
                "deprecated": True,
            }
        },
        "/orders/{id}": {
            "parameters": [_param("Id")],
            "get": operation(
                "GetOrderById",
                "Get one order.",
                "Orders",
                {"200": _ok("Order", "The order.")},
                params=("SubaccountId",),
                errors=("400", "404"),
            ),
        },
        "/orders/{id}/cancel": {
            "parameters": [_param("Id")],
            "post": operation(
                "CancelOrder",
                "Cancel an order (fulfilled orders too); certificate URLs become null.",
                "Orders",
                {"200": _ok("Order", "The cancelled order.", replayable=True)},
                params=("SubaccountId", "IdempotencyKey"),
                errors=(*_KEYED, "403", "404"),
            ),
        },
    }


_QUOTES = (
    ("/quotes", "RequestQuote", "by emissions mass", "MassQuoteRequest", False),
    ("/quotes/ride", "RequestRideQuote", "for a ride (deprecated)", "DistanceQuoteRequest", True),
    ("/quotes/flight", "RequestFlightQuote", "for a flight", "DistanceQuoteRequest", False),
    ("/quotes/train", "RequestTrainQuote", "for a train journey", "DistanceQuoteRequest", False),
    ("/quotes/air-freight", "RequestAirFreightQuote", "for air freight", "FreightQuoteRequest", False),
    (
        "/quotes/ground-freight",
        "RequestGroundFreightQuote",
        "for ground freight",
        "FreightQuoteRequest",
        False,
    ),
    (
        "/quotes/ground-transport",
        "RequestGroundTransportQuote",
        "for ground transport",
        "GroundTransportQuoteRequest",
        False,
    ),
    ("/quotes/office-space", "RequestOfficeSpaceQuote", "for office space", "OfficeSpaceQuoteRequest", False),
)


def quote_paths() -> dict[str, Schema]:
    """The eight quote endpoints: all POST, all answer a Quote."""
    paths: dict[str, Schema] = {}
    for path, op_id, what, body, deprecated in _QUOTES:
        op = operation(
            op_id,
            f"Quote credits {what}.",
            "Quotes",
            {"200": _ok("Quote", "The amount and price.")},
            params=("SubaccountId",),
            body=_json_body(ref(body)),
            errors=("400",),
        )
        paths[path] = {"post": {**op, "deprecated": True} if deprecated else op}
    return paths


def impact_paths() -> dict[str, Schema]:
    """Climate impact data and the hosted impact page's config."""
    window = (
        _query_param("from", "Start of the window (ISO-8601).", string(format="date-time")),
        _query_param("to", "End of the window (ISO-8601).", string(format="date-time")),
    )
    data = operation(
        "GetImpactData",
        "Impact of the fulfilled orders of the account or subaccount.",
        "Impact",
        {"200": _ok("ImpactData", "The impact.")},
        params=("SubaccountId",),
        errors=("400",),
    )
    data["parameters"] = [*window, *data["parameters"]]
    config = operation(
        "GetImpactHostedPageConfig",
        "Configuration of the hosted impact page.",
        "Impact",
        {"200": _ok("HostedPageConfig", "The configuration.")},
        params=("SubaccountId",),
        errors=("400",),
    )
    return {"/impact/data": {"get": data}, "/impact/hosted-page-config": {"get": config}}


def _logo_upload_body() -> Schema:
    content = {t: {"schema": string(contentMediaType=t)} for t in IMAGE_TYPES}
    return {"required": True, "content": content, "description": "The raw image bytes."}


def subaccount_paths() -> dict[str, Schema]:
    """Subaccounts and their logos (need provisioning: 403 otherwise)."""
    one = {"200": _ok("Subaccount", "The subaccount.")}
    paging = ("Limit", "StartingAfter", "EndingBefore")
    return {
        "/subaccounts": {
            "get": operation(
                "GetListOfSubaccounts",
                "List subaccounts, newest first.",
                "Subaccounts",
                {"200": _ok("SubaccountList", "A page of subaccounts.")},
                params=paging,
                errors=("400", "403"),
            ),
            "post": operation(
                "CreateSubaccount",
                "Create a subaccount.",
                "Subaccounts",
                {"201": _ok("Subaccount", "The new subaccount.", replayable=True)},
                params=("IdempotencyKey",),
                body=_json_body(ref("CreateSubaccount")),
                errors=(*_KEYED, "403"),
            ),
        },
        "/subaccounts/{id}": {
            "parameters": [_param("Id")],
            "get": operation(
                "GetSubaccountById", "Get one subaccount.", "Subaccounts", one, errors=("403", "404")
            ),
            "put": operation(
                "UpdateSubaccount",
                "Replace a subaccount's name, email and default portfolio.",
                "Subaccounts",
                one,
                body=_json_body(ref("UpdateSubaccount")),
                errors=("400", "403", "404"),
            ),
            "delete": operation(
                "DeleteSubaccount",
                "Delete a subaccount (refused while it has orders).",
                "Subaccounts",
                {"204": {"description": "Deleted."}},
                errors=("400", "403", "404"),
            ),
        },
        "/subaccounts/{id}/logo": {
            "parameters": [_param("Id")],
            "post": operation(
                "UpdateSubaccountLogoFromURL",
                "Set the logo from a public image URL.",
                "Subaccounts",
                one,
                body=_json_body(ref("SubaccountLogoUrl")),
                errors=("400", "403", "404"),
            ),
            "put": operation(
                "UpdateSubaccountLogoFromUpload",
                "Upload the logo as raw image bytes.",
                "Subaccounts",
                one,
                body=_logo_upload_body(),
                errors=("400", "403", "404"),
            ),
            "delete": operation(
                "RemoveSubaccountLogo", "Remove the logo.", "Subaccounts", one, errors=("403", "404")
            ),
        },
    }


def catalogue_paths() -> dict[str, Schema]:
    """The read-only catalogue: portfolios, projects, project categories."""

    def get_one(op_id: str, summary: str, schema: str) -> Schema:
        return {
            "parameters": [_param("Id")],
            "get": operation(op_id, summary, "Catalogue", {"200": _ok(schema, summary)}, errors=("404",)),
        }

    portfolios = operation(
        "GetListOfPortfolios",
        "Portfolios the account may use.",
        "Catalogue",
        {"200": _ok("PortfolioList", "All.")},
    )
    return {
        "/portfolios": {"get": portfolios},
        "/portfolios/{id}": get_one(
            "GetPortfolioById", "A portfolio with its allocations.", "PortfolioDetails"
        ),
        "/projects/{id}": get_one("GetProjectById", "A project with its credit issuances.", "ProjectDetails"),
        "/project-categories/{id}": get_one(
            "GetProjectCategoryById", "A project category with its projects.", "ProjectCategoryDetails"
        ),
    }


def checkout_paths() -> dict[str, Schema]:
    """Hosted checkout sessions."""
    create = operation(
        "CreateCheckoutSession",
        "Create a hosted checkout session (minimum total $0.50).",
        "Checkout",
        {"201": _ok("CheckoutSession", "The open session.")},
        params=("SubaccountId",),
        body=_json_body(ref("CreateCheckoutSession")),
        errors=("400", "403"),
    )
    get = operation(
        "GetCheckoutSessionById",
        "Get a checkout session.",
        "Checkout",
        {"200": _ok("CheckoutSession", "The session.")},
        errors=("404",),
    )
    return {
        "/checkout/sessions": {"post": create},
        "/checkout/sessions/{id}": {"parameters": [_param("Id")], "get": get},
        **_legacy_checkout_paths(),
    }


def _legacy_checkout_paths() -> dict[str, Schema]:
    """The paths before 2024-05, still called by the Node SDK 2.8.0: deprecated aliases, old shape."""
    note = " Deprecated since 2024-05: use `/checkout/sessions`; answers carry `status` instead of `state`."
    create = operation(
        "CreateCheckoutSessionLegacy",
        "Create a hosted checkout session (old path; `email` required)." + note,
        "Checkout",
        {"201": _ok("LegacyCheckoutSession", "The open session.")},
        params=("SubaccountId",),
        body=_json_body(ref("CreateCheckoutSessionLegacy")),
        errors=("400", "403"),
    )
    get = operation(
        "GetCheckoutSessionByIdLegacy",
        "Get a checkout session (old path)." + note,
        "Checkout",
        {"200": _ok("LegacyCheckoutSession", "The session.")},
        errors=("404",),
    )
    create["deprecated"] = get["deprecated"] = True
    return {
        "/orders/checkout-session": {"post": create},
        "/orders/checkout-session/{id}": {"parameters": [_param("Id")], "get": get},
    }


# --- the document ---------------------------------------------------------------------------------------


def build_document(server_url: str = "/v1") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document; `server_url` is where the API is served."""
    paths = {
        **order_paths(),
        **quote_paths(),
        **impact_paths(),
        **subaccount_paths(),
        **catalogue_paths(),
        **checkout_paths(),
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Offsets API (CNaught v1) - offline sandbox",
            "version": "1",
            "description": _DESCRIPTION,
        },
        "servers": [
            {"url": server_url, "description": "This sandbox."},
            {"url": "https://api.cnaught.com/v1", "description": "CNaught production."},
        ],
        "security": [{"bearer": []}],
        "tags": [{"name": t} for t in ("Orders", "Quotes", "Impact", "Subaccounts", "Catalogue", "Checkout")],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "parameters": component_parameters(),
            "responses": component_responses(),
            "headers": component_headers(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The API key."}
            },
        },
    }


def openapi_routes() -> list[Route]:
    """``GET /v1/openapi.json`` (public, like any API description); the document is built once."""
    body = orjson.dumps(build_document())

    async def openapi_json(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return [Route("/v1/openapi.json", openapi_json, methods=["GET"])]
