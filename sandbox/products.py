"""The sandbox's product platform (seed 000): record offsets against a product's production batches.

A stand-in for the SiGREEN-style Product API, served under `/product-api`:

- `POST /product-api/oauth/token` - OAuth2 client credentials (see `sandbox.product_auth`).
- `POST /product-api/products/{productId}/offsetting` - body: a JSON array of batch records (the
  keyed-map form `{"0": {...}, "1": {...}}` that Postman mirrors print is accepted too); every field
  is typed and validated; 201 Created with an empty body. Invalid bodies get a 400 problem+json whose
  `errors` map is keyed by JSON path (`[0].offsetProjects[1].offsetQuantity`) with SiGREEN-style
  `SIG-VLD-*` codes leading each message. A missing, unknown or expired bearer token gets 401.
- `GET /product-api/products/{productId}/offsetting?batchNumber=B` - sandbox extension: the records
  already stored for batch B. The gateway uses it to find out whether a send whose response was lost
  was recorded; the real platform would need an equivalent lookup for that check.
- `GET /_sandbox/products/{productId}/offsetting` - sandbox-only read-back of every recorded batch,
  for tests and demos (no auth: the data is fake and the route exists only in the sandbox).

Field rules (the seed gives only types): strings <= 512 chars (comment <= 2000); `<float>` fields are
finite non-negative JSON numbers; `offsetPrice` (`<currency>`) is a non-negative amount in major units
with at most the currency's minor digits and needs `offsetPriceUnit`, an ISO 4217 code; `<dateTime>`
fields are ISO 8601 with a UTC offset; visibilities are "public" or "private"; link fields are absolute
http(s) URLs (several may be given, separated by single spaces); unknown fields are refused. Required:
`batchNumber`, `offsetTotal`, `offsetUnit` on a batch; `offsetProvider`, `offsetQuantity`,
`offsetQuantityUnit` on a project. Records live in the sandbox's store (SQLite with `--db`).
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from sandbox.config import SandboxConfig
from sandbox.product_auth import ClientCredentials, TokenIssuer, bearer_token, token_endpoint
from sandbox.store import Store

PROBLEM_BASE = "https://product-api.sandbox.invalid/errors/"
_CURRENCY_DIGITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_MAX_PRODUCT_ID = 128
RECORDS = "product_offsets"  # the store collection; documents are owned by their product id

Errors = dict[str, list[str]]
Check = Callable[[Any], str | None]


# --- field checks: each returns an error message (code first) or None ---------------------------------------


def _string(limit: int = 512) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "SIG-VLD-003: must be a string"
        return None if len(value) <= limit else f"SIG-VLD-003: must be at most {limit} characters"

    return check


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "SIG-VLD-004: must be a finite number"
    return None if value >= 0 else "SIG-VLD-004: must not be negative"


def _amount(value: Any) -> str | None:
    return _number(value)  # digits are checked against the currency in `_check_price`


def _currency_code(value: Any) -> str | None:
    if isinstance(value, str) and _CURRENCY_RE.match(value):
        return None
    return "SIG-VLD-007: must be an ISO 4217 currency code such as USD"


def _datetime(value: Any) -> str | None:
    message = "SIG-VLD-005: must be an ISO 8601 date-time with a UTC offset"
    if not isinstance(value, str):
        return message
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return message
    return None if parsed.tzinfo is not None else message


def _visibility(value: Any) -> str | None:
    return None if value in ("public", "private") else "SIG-VLD-008: must be 'public' or 'private'"


def _is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _urls(value: Any) -> str | None:
    message = "SIG-VLD-009: must be absolute http(s) URLs separated by single spaces"
    if not isinstance(value, str) or len(value) > 4096:
        return message
    return None if all(_is_url(part) for part in value.split(" ")) else message


PROJECT_FIELDS: dict[str, Check] = {
    "offsetType": _string(),
    "offsetProvider": _string(),
    "offsetProviderProjectID": _string(),
    "offsetProviderFinalizationDate": _datetime,
    "offsetQuantity": _number,
    "offsetQuantityUnit": _string(),
    "projectID": _string(),
    "projectName": _string(),
    "projectLocation": _string(),
    "projectType": _string(),
    "projectURL": _urls,
    "productType": _string(),
    "offsetRetirementDate": _datetime,
    "offsetVintageStart": _datetime,
    "offsetVintageEnd": _datetime,
    "offsetSerialNumber": _string(4096),
    "offsetOwner": _string(),
    "offsetReason": _string(),
    "offsetProviderFinalizationID": _string(),
    "offsetRetirementURL": _urls,
}
PROJECT_REQUIRED = ("offsetProvider", "offsetQuantity", "offsetQuantityUnit")

BATCH_FIELDS: dict[str, Check] = {
    "batchNumber": _string(),
    "taskId": _string(),
    "offsetTotal": _number,
    "offsetUnit": _string(),
    "offsetPortfolioId": _string(),
    "offsetPrice": _amount,
    "offsetPriceUnit": _currency_code,
    "offsetOwnerVisibility": _visibility,
    "offsetReasonVisibility": _visibility,
    "offsetProviderOrderID": _string(4096),
    "certificateLink": _urls,
    "offsetOwner": _string(),
    "offsetReason": _string(),
    "comment": _string(2000),
}
BATCH_REQUIRED = ("batchNumber", "offsetTotal", "offsetUnit")


# --- record validation -----------------------------------------------------------------------------


def _check_fields(
    record: dict[str, Any], fields: dict[str, Check], required: tuple[str, ...], path: str, errors: Errors
) -> None:
    for name in required:
        if record.get(name) is None:
            errors.setdefault(f"{path}.{name}", []).append("SIG-VLD-002: is required")
    for name, value in record.items():
        if name == "offsetProjects" and fields is BATCH_FIELDS:
            continue
        check = fields.get(name)
        message = "SIG-VLD-010: is not a known field" if check is None else None
        if check is not None and value is not None:
            message = check(value)
        if message:
            errors.setdefault(f"{path}.{name}", []).append(message)


def _check_vintage(project: dict[str, Any], path: str, errors: Errors) -> None:
    start, end = project.get("offsetVintageStart"), project.get("offsetVintageEnd")
    if not isinstance(start, str) or not isinstance(end, str) or _datetime(start) or _datetime(end):
        return  # missing or already reported as malformed
    if datetime.fromisoformat(end) < datetime.fromisoformat(start):
        errors.setdefault(f"{path}.offsetVintageEnd", []).append(
            "SIG-VLD-011: must not be before offsetVintageStart"
        )


def _check_price(batch: dict[str, Any], path: str, errors: Errors) -> None:
    price, unit = batch.get("offsetPrice"), batch.get("offsetPriceUnit")
    if price is None or _number(price):
        return
    if unit is None:
        errors.setdefault(f"{path}.offsetPriceUnit", []).append("SIG-VLD-002: is required with offsetPrice")
        return
    digits = _CURRENCY_DIGITS.get(unit, 2) if isinstance(unit, str) else 2
    exponent = Decimal(repr(price)).normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        errors.setdefault(f"{path}.offsetPrice", []).append(
            f"SIG-VLD-006: {unit} amounts have at most {digits} decimal places"
        )


def _check_projects(value: Any, path: str, errors: Errors) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        errors.setdefault(path, []).append("SIG-VLD-012: must be an array of project records")
        return
    for index, project in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(project, dict):
            errors.setdefault(where, []).append("SIG-VLD-012: must be an object")
            continue
        _check_fields(project, PROJECT_FIELDS, PROJECT_REQUIRED, where, errors)
        _check_vintage(project, where, errors)


def _check_batch(batch: Any, path: str, errors: Errors) -> None:
    if not isinstance(batch, dict):
        errors.setdefault(path, []).append("SIG-VLD-012: must be an object")
        return
    _check_fields(batch, BATCH_FIELDS, BATCH_REQUIRED, path, errors)
    _check_price(batch, path, errors)
    _check_projects(batch.get("offsetProjects"), f"{path}.offsetProjects", errors)


def batches_from_body(body: Any) -> list[Any] | None:
    """The batch list from an array body or a keyed map {"0": ..., "1": ...}; None when it is neither."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and body and set(body) == {str(i) for i in range(len(body))}:
        return [body[str(i)] for i in range(len(body))]
    return None


def validate_batches(body: Any) -> tuple[list[dict[str, Any]], Errors]:
    """The batch records of a request body and the validation errors keyed by JSON path (empty when valid)."""
    batches = batches_from_body(body)
    if batches is None:
        return [], {"$": ["SIG-VLD-001: body must be an array of batch records"]}
    if not batches:
        return [], {"$": ["SIG-VLD-001: at least one batch record is required"]}
    errors: Errors = {}
    for index, batch in enumerate(batches):
        _check_batch(batch, f"[{index}]", errors)
    return batches, errors


# --- storage and HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredBatch:
    """One recorded batch with what the sandbox knows about how it arrived."""

    product_id: str
    record: dict[str, Any]
    client_id: str
    recorded_at: float
    idempotency_key: str | None

    def to_json(self) -> dict[str, Any]:
        """The read-back shape: the record as sent plus sandbox metadata."""
        return {
            "productId": self.product_id,
            "batch": self.record,
            "clientId": self.client_id,
            "recordedAt": datetime.fromtimestamp(self.recorded_at, UTC).isoformat().replace("+00:00", "Z"),
            "idempotencyKey": self.idempotency_key,
        }


@dataclass
class ProductRecords:
    """Every batch recorded, per product id, in arrival order, in the sandbox store (`--db` keeps them)."""

    store: Store = field(default_factory=Store)

    def add(self, batch: StoredBatch) -> None:
        """Store one batch."""
        self.store.put(RECORDS, uuid.uuid4().hex, asdict(batch), owner=batch.product_id)

    def for_product(self, product_id: str) -> list[StoredBatch]:
        """Every batch recorded for `product_id`, oldest first."""
        return [StoredBatch(**doc) for doc in self.store.owned(RECORDS, product_id)]

    def __iter__(self) -> Iterator[StoredBatch]:
        return (StoredBatch(**doc) for doc in self.store.values(RECORDS))

    def __len__(self) -> int:
        return len(self.store.values(RECORDS))


def problem(status: int, slug: str, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    """An RFC 7807 problem response in the product platform's vocabulary."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": 'Bearer realm="product-api"'} if status == 401 else None
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


@dataclass
class ProductPlatform:
    """The product platform's state (token issuer, records) and its routes."""

    issuer: TokenIssuer
    records: ProductRecords = field(default_factory=ProductRecords)
    clock: Callable[[], float] = time.time

    @classmethod
    def create(
        cls,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_lifetime: float = 3600.0,
        store: Store | None = None,
    ) -> ProductPlatform:
        """A platform for that client (None = any non-empty id/secret); tokens live `token_lifetime` s.

        store: where records are kept (the sandbox's own store; default: a fresh in-memory one).
        """
        issuer = TokenIssuer(ClientCredentials(client_id, client_secret), token_lifetime)
        return cls(issuer, ProductRecords(store or Store()))

    @classmethod
    def from_config(cls, config: SandboxConfig, store: Store | None = None) -> ProductPlatform:
        """The platform the sandbox's settings describe (`product_client_id`, ... of `SandboxConfig`)."""
        secret = config.product_client_secret
        return cls.create(
            config.product_client_id,
            secret.get_secret_value() if secret is not None else None,
            config.product_token_lifetime,
            store,
        )

    def routes(self) -> list[BaseRoute]:
        """The `/product-api` mount and the sandbox-only read-back route, for the sandbox app's route list."""
        # `:path`: a product id may hold a slash, which clients send as %2F and the server hands over decoded.
        api = [
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/products/{productId:path}/offsetting", self._record, methods=["POST"]),
            Route("/products/{productId:path}/offsetting", self._lookup, methods=["GET"]),
        ]
        readback = Route("/_sandbox/products/{productId:path}/offsetting", self._readback, methods=["GET"])
        return [Mount("/product-api", routes=api), readback]

    async def _token(self, request: Request) -> Response:
        return await token_endpoint(self.issuer, request)

    def _product_id(self, request: Request) -> str | None:
        product_id: str = request.path_params["productId"]
        return product_id if 0 < len(product_id) <= _MAX_PRODUCT_ID else None

    async def _record(self, request: Request) -> Response:
        token = bearer_token(self.issuer, request)
        if token is None:
            return problem(401, "unauthorized", "Unauthorized", "missing, unknown or expired bearer token")
        product_id = self._product_id(request)
        if product_id is None:
            return problem(404, "not-found", "Product not found")
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            return problem(400, "invalid-body", "Body is not JSON", code="SIG-VLD-000")
        batches, errors = validate_batches(body)
        if errors:
            return problem(400, "validation", "Validation failed", code="SIG-VLD-001", errors=errors)
        key = request.headers.get("idempotency-key")
        for batch in batches:
            self.records.add(StoredBatch(product_id, batch, token.client_id, self.clock(), key))
        return Response(status_code=201)

    async def _lookup(self, request: Request) -> Response:
        if bearer_token(self.issuer, request) is None:
            return problem(401, "unauthorized", "Unauthorized", "missing, unknown or expired bearer token")
        product_id = self._product_id(request) or ""
        batch_number = request.query_params.get("batchNumber")
        found = [
            stored.record
            for stored in self.records.for_product(product_id)
            if batch_number is None or stored.record.get("batchNumber") == batch_number
        ]
        return JSONResponse(found)

    async def _readback(self, request: Request) -> Response:
        product_id = request.path_params["productId"]
        return JSONResponse({"data": [stored.to_json() for stored in self.records.for_product(product_id)]})
