"""Backend models: request params render the documented bodies; responses parse the documented JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest

from gateway.backend import models as m


def test_order_by_amount_body() -> None:
    params = m.CreateOrderParams(amount_kg=100.5, metadata="ref-1", notification_url="https://h.test/cb")
    assert params.to_body() == {
        "amount_kg": 100.5,
        "metadata": "ref-1",
        "notification_config": {"url": "https://h.test/cb"},
    }


def test_order_by_price_body_omits_the_unused_amount() -> None:
    assert m.CreateOrderParams(total_price_usd_cents=3190).to_body() == {"total_price_usd_cents": 3190}


@pytest.mark.parametrize("kwargs", [{}, {"amount_kg": 1, "total_price_usd_cents": 2}])
def test_order_needs_exactly_one_of_amount_and_price(kwargs: dict[str, float]) -> None:
    with pytest.raises(pydantic.ValidationError, match="exactly one"):
        m.CreateOrderParams(**kwargs)


def test_whole_kg_are_sent_as_integers() -> None:
    body = m.CreateOrderParams(amount_kg=10.0).to_body()
    assert body == {"amount_kg": 10} and type(body["amount_kg"]) is int


def test_huge_whole_amounts_stay_floats_that_encode() -> None:
    # 1e308 is a valid GraphQL Float; as an int it broke the JSON encoding (a 500 before the upstream could
    # refuse the amount).
    import orjson

    body = m.CreateOrderParams(amount_kg=1e308).to_body()
    assert body == {"amount_kg": 1e308} and orjson.loads(orjson.dumps(body)) == body


def test_update_subaccount_is_a_full_replacement() -> None:
    assert m.UpdateSubaccountParams(name="A").to_body() == {
        "name": "A",
        "email": None,
        "default_portfolio_id": None,
    }


def test_create_subaccount_omits_absent_fields() -> None:
    assert m.CreateSubaccountParams(name="A", logo_url="https://l.test/a.png").to_body() == {
        "name": "A",
        "logo_url": "https://l.test/a.png",
    }


def test_ground_transport_quote_serialises_the_enum() -> None:
    params = m.GroundTransportQuoteParams(distance_km=30, vehicle_type=m.VehicleType.PASSENGER_CAR_VAN_OR_SUV)
    assert params.to_body() == {"distance_km": 30, "vehicle_type": "passenger_car_van_or_suv"}


def test_params_reject_unknown_fields_and_are_immutable() -> None:
    with pytest.raises(pydantic.ValidationError):
        m.FlightQuoteParams(distance_km=1, distnce_km=2)  # type: ignore[call-arg]
    params = m.TrainQuoteParams(distance_km=1)
    with pytest.raises(pydantic.ValidationError):
        params.distance_km = 2  # type: ignore[misc]


def test_order_parses_timestamps_enums_and_ignores_unknown_fields() -> None:
    order = m.Order.model_validate(
        {
            "id": "Gre28Fc35bt3",
            "order_number": "1-2",
            "created_on": "2022-08-01T18:00:00.000000Z",
            "amount_kg": 8,
            "state": "cancelled",
            "price_usd_cents": 16,
            "project_allocations": None,
            "type": "ride",
            "distance_km": 30,
        }
    )
    assert order.created_on == datetime(2022, 8, 1, 18, tzinfo=UTC)
    assert order.state is m.OrderState.CANCELLED
    assert order.project_allocations == []
    assert order.certificate_public_url is None
    assert not hasattr(order, "distance_km")


def test_unknown_order_state_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError):
        m.Order.model_validate(
            {"id": "x", "order_number": "1", "created_on": "2022-08-01T18:00:00Z", "amount_kg": 1,
             "state": "canceled", "price_usd_cents": 2}
        )  # fmt: skip


def test_checkout_session_state_and_optional_fields() -> None:
    session = m.CheckoutSession.model_validate(
        {
            "id": "zpQ6QSNRQh",
            "amount_kg": 25,
            "price_usd_cents": 50,
            "success_url": "https://a.test",
            "cancel_url": "https://b.test",
            "checkout_url": "https://checkout.cnaught.com/pay/zpQ6QSNRQh",
            "state": "complete",
            "created_on": "2024-05-01T00:00:00.000000Z",
            "expires_on": "2024-05-02T00:00:00.000000Z",
            "completed_on": "2024-05-01T01:00:00.000000Z",
            "portfolio_id": "oH5hlq",
        }
    )
    assert session.state is m.CheckoutSessionState.COMPLETE
    assert session.completed_on == datetime(2024, 5, 1, 1, tzinfo=UTC)
    assert session.order_webhook_url is None


def test_project_details_with_extras() -> None:
    project = m.ProjectDetails.model_validate(
        {
            "id": "I0UbDH",
            "name": "A",
            "type": "Reforestation",
            "registry_name": "None",
            "registry_id": None,
            "notable_buyers": [{"name": "Co", "logo_url": "https://l.test/c.png"}],
            "news_articles": [
                {"title": "t", "url": "https://n.test", "author": "a", "published_on": "2024-03-01"}
            ],
            "credit_issuances": [{"vintage_year": 2022, "total_amount": 5000}],
        }
    )
    assert project.credit_issuances == [m.CreditIssuance(vintage_year=2022, total_amount=5000)]
    assert project.news_articles is not None and project.news_articles[0].published_on == datetime(2024, 3, 1)
    assert project.un_sdg_goals == []


def _page(*projects: dict[str, object]) -> dict[str, object]:
    base = {"order_number": "n", "created_on": "2024-05-01T10:00:00Z", "amount_kg": 1, "state": "fulfilled"}
    orders = [
        {**base, "id": f"o{n}", "price_usd_cents": 2, "project_allocations": [{"project": p, "amount_kg": 1}]}
        for n, p in enumerate(projects)
    ]
    return {"data": orders}


def test_each_distinct_project_of_a_page_is_validated_once_and_shared() -> None:
    first, second, again = ({"id": "p1", "name": "Forest"} for _ in range(3))  # three equal copies
    changed = {"id": "p1", "name": "Forest, renamed"}
    page = m.ListEnvelope[m.Order].model_validate(m.share_projects(_page(first, second, again, changed)))
    projects = [order.project_allocations[0].project for order in page.data]
    assert projects[0] is projects[1] is projects[2]  # equal copies: one model
    assert projects[3] is not projects[0] and projects[3].name == "Forest, renamed"  # same id, other data
    plain = m.ListEnvelope[m.Order].model_validate(_page(first, second, again, changed))
    assert page == plain


def test_a_project_that_does_not_validate_is_reported_where_it_stands() -> None:
    payload = m.share_projects(_page({"id": "p1", "name": "ok"}, {"id": "p2"}))  # p2 has no name
    with pytest.raises(pydantic.ValidationError) as caught:
        m.ListEnvelope[m.Order].model_validate(payload)
    assert [error["loc"] for error in caught.value.errors()] == [
        ("data", 1, "project_allocations", 0, "project", "name")
    ]


def test_payloads_without_allocations_pass_through() -> None:
    for payload in (
        {"data": [{"id": "s1"}]},
        {"id": "o1", "project_allocations": None},
        [1, 2],
        None,
        "text",
    ):
        assert m.share_projects(payload) is payload


def _project_of(payload: dict[str, object]) -> m.Project:
    return (
        m.ListEnvelope[m.Order]
        .model_validate(m.share_projects(payload))
        .data[0]
        .project_allocations[0]
        .project
    )


def test_a_project_met_again_in_a_later_payload_is_not_validated_again() -> None:
    first = _project_of(_page({"id": "p-later", "name": "Peatland"}))
    again = _project_of(_page({"id": "p-later", "name": "Peatland"}))  # a later response, its own copy
    assert again is first


def test_a_project_whose_data_changed_is_validated_afresh() -> None:
    before = _project_of(_page({"id": "p-changed", "name": "Old name"}))
    after = _project_of(_page({"id": "p-changed", "name": "New name", "developer": "Dev"}))
    assert after is not before
    assert (after.name, after.developer) == ("New name", "Dev")  # what this response said, not the cache
    assert _project_of(_page({"id": "p-changed", "name": "Old name"})).name == "Old name"


def test_shared_projects_cannot_be_changed() -> None:
    project = _project_of(_page({"id": "p-frozen", "name": "Mangroves"}))
    with pytest.raises(pydantic.ValidationError):
        project.name = "changed"  # type: ignore[misc]


def test_a_project_without_a_string_id_is_left_to_the_payloads_validation() -> None:
    payload = m.share_projects(_page({"id": 7, "name": "x"}))
    with pytest.raises(pydantic.ValidationError) as caught:
        m.ListEnvelope[m.Order].model_validate(payload)
    assert [error["loc"] for error in caught.value.errors()] == [
        ("data", 0, "project_allocations", 0, "project", "id")
    ]


def test_the_validated_projects_are_bounded() -> None:
    projects = m.ValidatedProjects(size=2)
    kept = [projects.validate(f"p{n}", {"id": f"p{n}", "name": "n"}) for n in range(3)]
    assert projects.validate("p2", {"id": "p2", "name": "n"}) is kept[2]
    assert projects.validate("p0", {"id": "p0", "name": "n"}) is not kept[0]  # the oldest went first
