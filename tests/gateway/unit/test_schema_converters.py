"""Schema building blocks: ids and cursors, converters, error mapping, pagination arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.backend import InvalidParametersError, NotFoundError, ServerError, models
from gateway.backend.errors import (
    BackendTimeoutError,
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    IdempotencyPayloadMismatchError,
    InvalidSubaccountError,
    RateLimitedError,
    UnauthorizedError,
)
from gateway.context import SubaccountNotAllowedError
from gateway.ids import InvalidIdError, decode_cursor, encode_cursor
from gateway.schema.catalogue import Portfolio, Project, ProjectCategory
from gateway.schema.checkout import CheckoutSession, CheckoutSessionState
from gateway.schema.errors import (
    GatewayInputError,
    UserErrorCode,
    input_path,
    safe_message,
    to_graphql_error,
    user_errors_from,
)
from gateway.schema.impact import HostedImpactPage, ImpactData, ImpactEquivalent
from gateway.schema.money import CurrencyCode, Money
from gateway.schema.orders import Order, OrderState
from gateway.schema.pagination import fetch_connection, page_request
from gateway.schema.subaccounts import Subaccount
from tests.gateway.unit.schema_fakes import order, portfolio, project, subaccount

# --- cursors (ids: tests/gateway/unit/test_ids.py) ------------------------------------------------------


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_cursors_round_trip(upstream_id: str) -> None:
    assert decode_cursor(encode_cursor(upstream_id)) == upstream_id


@pytest.mark.parametrize("bad", ["", "!!", "bm9jb2xvbg", encode_cursor("x")[:-3] + "$"])
def test_bad_cursors_are_refused(bad: str) -> None:
    with pytest.raises(InvalidIdError):
        decode_cursor(bad)


# --- converters ------------------------------------------------------------------------------------------


def test_order_from_backend_uses_graphql_names_and_enums() -> None:
    raw = {**order("o1", "s1", ["p1", "p2"]), "callback_url": "https://hooks.test/x"}
    converted = Order.from_backend(models.Order.model_validate(raw))
    assert converted.upstream_id == "o1"
    assert converted.state is OrderState.FULFILLED
    assert converted.price == Money(amount=Decimal("0.20"), currency_code=CurrencyCode.USD)
    assert converted.amount_kg == 10.0
    assert converted.subaccount_upstream_id == "s1"
    assert [a.project.upstream_id for a in converted.allocations()] == ["p1", "p2"]
    assert converted.created_on.year == 2024 and converted.created_on.tzinfo is not None


def test_nested_project_has_no_details_but_a_fetched_one_does() -> None:
    nested = Project.from_backend(models.Project.model_validate(project("p1")))
    fetched = Project.from_backend(models.ProjectDetails.model_validate(project("p1", credit_issuances=[])))
    assert nested._details is None
    assert fetched._details is not None


def test_project_from_backend_copies_optional_structures() -> None:
    raw = project(
        "p1",
        lifetime={"start_year": 2022, "end_year": 2052},
        notable_buyers=[{"name": "Acme", "logo_url": None}],
        news_articles=[{"title": "T", "url": "https://n.test", "published_on": "2024-01-01T00:00:00Z"}],
        due_diligence_figure={"description": "d", "image_url": "https://i.test"},
    )
    converted = Project.from_backend(models.Project.model_validate(raw))
    assert converted.lifetime is not None and converted.lifetime.end_year == 2052
    assert converted.notable_buyers[0].name == "Acme"
    assert converted.news_articles[0].published_on is not None
    assert converted.due_diligence_figure is not None and converted.due_diligence_figure.image_url
    assert converted.un_sdg_goals == [13] and converted.activity_types == []


def test_portfolio_and_category_keep_details_only_when_they_have_them() -> None:
    details = models.PortfolioDetails.model_validate(portfolio("pf1"))
    listed = models.Portfolio.model_validate({"id": "pf1", "name": "P"})
    assert Portfolio.from_backend(details)._details is details
    assert Portfolio.from_backend(listed)._details is None
    category = ProjectCategory.from_backend(details.category_allocations[1].category)
    assert [p.id for p in category._projects or []] == ["p2", "p3"]
    assert ProjectCategory.from_backend(models.ProjectCategory(id="c", name="C"))._projects is None


def test_subaccount_impact_and_checkout_converters() -> None:
    sub = Subaccount.from_backend(models.Subaccount.model_validate(subaccount("s1")))
    assert (sub.upstream_id, sub.default_portfolio_upstream_id) == ("s1", "pf1")
    impact = ImpactData.from_backend(
        models.ImpactData.model_validate(
            {
                "total_offset_kgs": 1571,
                "equivalents": {
                    "cars_off_the_road": 1,
                    "trees_planted": 2,
                    "homes_annual_energy_usage": 3,
                    "flights_lax_to_nyc": 4,
                },
                "since_date": "2024-01-01T00:00:00Z",
                "categories": [
                    {
                        "category": {"name": "Removal"},
                        "offset_kgs": 1571,
                        "projects": [{"project": project("p1"), "offset_kgs": 1571, "vintages": "2022"}],
                    }
                ],
            }
        )
    )
    assert impact.total_offset_kg == 1571 and impact.equivalents.flights_lax_to_nyc == 4
    assert impact.categories[0].projects[0].project.upstream_id == "p1"
    page = HostedImpactPage.from_backend(
        models.HostedPageConfig(
            enabled=True, url="https://impact.test/x", enabled_equivalents=["cars", "rockets", "trees"]
        )
    )
    assert page.enabled_equivalents == [ImpactEquivalent.CARS, ImpactEquivalent.TREES]  # unknown: left out
    session = CheckoutSession.from_backend(
        models.CheckoutSession.model_validate(
            {
                "id": "cs1",
                "amount_kg": 50,
                "price_usd_cents": 100,
                "success_url": "https://s.test",
                "cancel_url": "https://c.test",
                "checkout_url": "https://checkout.test/pay/cs1",
                "state": "open",
                "created_on": "2024-01-01T00:00:00Z",
                "expires_on": "2024-01-02T00:00:00Z",
                "order_webhook_url": "https://hooks.test",
            }
        )
    )
    assert session.state is CheckoutSessionState.OPEN and session.callback_url == "https://hooks.test"


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("amount_kg", ["input", "amountKg"]),
        ("AmountKg", ["input", "amountKg"]),
        ("totalPriceUsdCents", ["input", "totalPriceUsdCents"]),
        ("notification_config.url", ["input", "callbackUrl"]),
        ("$", None),
        ("", None),
    ],
)
def test_upstream_error_keys_map_to_input_paths(key: str, path: list[str] | None) -> None:
    assert input_path(key, {"notification_config.url": "callbackUrl"}) == path


def test_validation_failures_become_one_user_error_per_message() -> None:
    exc = InvalidParametersError(status=400, title="bad", errors={"amount_kg": ["must be > 0", "too small"]})
    errors = user_errors_from(exc)
    assert errors is not None
    assert [(e.code, e.field, e.message) for e in errors] == [
        (UserErrorCode.INVALID_INPUT, ["input", "amountKg"], "must be > 0"),
        (UserErrorCode.INVALID_INPUT, ["input", "amountKg"], "too small"),
    ]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (IdempotencyConflictError(status=409, title="in flight"), UserErrorCode.IDEMPOTENCY_CONFLICT),
        (ConflictError(status=409, title="state"), UserErrorCode.CONFLICT),
        (ForbiddenError(status=403, title="no subaccounts"), UserErrorCode.FORBIDDEN),
        (InvalidSubaccountError(status=400, title="not yours"), UserErrorCode.INVALID_SUBACCOUNT),
        (SubaccountNotAllowedError("bound"), UserErrorCode.NOT_FOUND),
        (InvalidIdError("bad id"), UserErrorCode.INVALID_INPUT),
    ],
)
def test_every_expected_failure_has_its_user_error_code(exc: Exception, code: UserErrorCode) -> None:
    errors = user_errors_from(exc)
    assert errors is not None and [e.code for e in errors] == [code]


@pytest.mark.parametrize(
    "exc",
    [UnauthorizedError(status=401, title="no"), RateLimitedError(status=429, title="slow down")],
)
def test_failures_the_caller_cannot_fix_in_the_input_are_not_user_errors(exc: Exception) -> None:
    assert user_errors_from(exc) is None


def test_expected_failures_have_codes_and_unexpected_ones_none() -> None:
    reused = user_errors_from(IdempotencyPayloadMismatchError(status=422, title="reused"))
    assert reused is not None and reused[0].code is UserErrorCode.IDEMPOTENCY_KEY_REUSED
    missing = user_errors_from(NotFoundError(status=404, title="Could not find order"))
    assert missing is not None and missing[0].code is UserErrorCode.NOT_FOUND
    assert user_errors_from(ServerError(status=500, title="boom")) is None


def test_graphql_errors_carry_codes_and_no_urls() -> None:
    timeout = to_graphql_error(BackendTimeoutError("timed out after https://user:pw@host/v1", path="/orders"))
    assert timeout.extensions == {"code": "UPSTREAM_UNAVAILABLE"}
    assert "http" not in timeout.message
    status = to_graphql_error(NotFoundError(status=404, title="Could not find order", request_id="r1"))
    assert status.message == "Could not find order"
    assert status.extensions == {"code": "NOT_FOUND", "upstreamStatus": 404, "upstreamRequestId": "r1"}
    assert safe_message(GatewayInputError("bad `first`")) == "bad `first`"


# --- pagination ------------------------------------------------------------------------------------------

ITEMS = [f"i{n}" for n in range(250)]  # newest first


class FakeList:
    """The upstream's list semantics over ITEMS, recording (limit, starting_after, ending_before)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str | None, str | None]] = []

    async def __call__(self, limit: int, after: str | None, before: str | None) -> Sequence[str]:
        assert limit <= 100
        self.calls.append((limit, after, before))
        if after is not None:
            return ITEMS[ITEMS.index(after) + 1 :][:limit]
        if before is not None:
            end = ITEMS.index(before)
            return ITEMS[max(0, end - limit) : end]
        return ITEMS[:limit]


async def page(
    first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None
):
    fetch = FakeList()
    connection = await fetch_connection(page_request(first, after, last, before), fetch, str, str)
    info = connection.page_info
    flags = (await info.has_previous_page(), await info.has_next_page())
    return connection.nodes(), flags, fetch.calls


async def test_first_page_looks_ahead_one_item() -> None:
    nodes, flags, calls = await page(first=3)
    assert nodes == ["i0", "i1", "i2"]
    assert flags == (False, True)
    assert calls == [(4, None, None)]


async def test_after_cursor_continues_and_detects_the_end() -> None:
    nodes, flags, calls = await page(first=5, after=encode_cursor("i246"))
    assert nodes == ["i247", "i248", "i249"]
    assert flags == (True, False)
    assert calls == [(6, "i246", None)]


async def test_backwards_page_returns_the_items_nearest_the_cursor() -> None:
    nodes, flags, calls = await page(last=3, before=encode_cursor("i10"))
    assert nodes == ["i7", "i8", "i9"]
    assert flags == (True, True)
    assert calls == [(4, None, "i10")]
    nodes, flags, _ = await page(last=5, before=encode_cursor("i2"))
    assert nodes == ["i0", "i1"]
    assert flags == (False, True)


async def test_a_full_page_at_the_upstream_cap_probes_once_for_more() -> None:
    nodes, flags, calls = await page(first=100)
    assert len(nodes) == 100
    assert flags == (False, True)
    assert calls == [(100, None, None), (1, "i99", None)]
    _, flags, calls = await page(first=100, after=encode_cursor("i149"))
    assert flags == (True, False)
    assert calls == [(100, "i149", None), (1, "i249", None)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": 101}, "between 0 and 100"),
        ({"last": -1, "before": encode_cursor("x")}, "between 0 and 100"),
        ({"last": 5}, "`last` needs `before`"),
        ({"first": 5, "before": encode_cursor("x")}, "not both"),
        ({"first": 5, "after": "garbage!"}, "not a cursor"),
    ],
)
def test_invalid_pagination_is_refused(args: dict[str, object], message: str) -> None:
    with pytest.raises(GatewayInputError, match=message):
        page_request(**{"first": None, "after": None, "last": None, "before": None, **args})  # type: ignore[arg-type]


async def test_size_zero_lists_nothing_and_probes_only_when_asked() -> None:
    fetch = FakeList()
    connection = await fetch_connection(page_request(0, None, None, None), fetch, str, str)
    assert connection.edges == [] and fetch.calls == []
    assert await connection.page_info.has_next_page() is True
    assert fetch.calls == [(1, None, None)]
    backwards = await fetch_connection(page_request(None, None, 0, encode_cursor("i0")), fetch, str, str)
    assert await backwards.page_info.has_previous_page() is False


def test_no_arguments_mean_the_first_twenty() -> None:
    request = page_request(None, None, None, None)
    assert (request.size, request.cursor, request.backwards) == (20, None, False)


def test_a_bound_caller_naming_another_subaccount_reads_as_not_found() -> None:
    # Same code and message as the security guard's answer for a subaccount that does not exist.
    refused = to_graphql_error(SubaccountNotAllowedError())
    assert (refused.message, refused.extensions) == ("subaccount not found", {"code": "NOT_FOUND"})
    errors = user_errors_from(SubaccountNotAllowedError())
    assert errors is not None and [(e.code, e.message) for e in errors] == [
        (UserErrorCode.NOT_FOUND, "subaccount not found")
    ]
