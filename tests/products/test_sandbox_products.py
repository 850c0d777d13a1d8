"""The sandbox's product platform over real HTTP: token endpoint, validation, 201, lookup and read-back."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sandbox.app import create_app as create_sandbox_app
from sandbox.config import SandboxConfig
from sandbox.products import ProductPlatform, validate_batches
from tests.servers import serve

CLIENT = ("supplier-1", "s3cret")


def project(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "offsetType": "Removal",
        "offsetProvider": "CNaught",
        "offsetProviderProjectID": "I0UbDH",
        "offsetProviderFinalizationDate": "2024-05-01T12:00:00Z",
        "offsetQuantity": 12.5,
        "offsetQuantityUnit": "kg",
        "projectID": "VCS-1234",
        "projectName": "Forest",
        "projectLocation": "Brazil",
        "projectType": "Forestry",
        "projectURL": "https://registry.example/projects/1234",
        "productType": "carbon credit",
        "offsetRetirementDate": "2024-05-01T12:00:00+00:00",
        "offsetVintageStart": "2020-01-01T00:00:00Z",
        "offsetVintageEnd": "2020-12-31T23:59:59Z",
        "offsetSerialNumber": "1234-5678-A",
        "offsetOwner": "ACME",
        "offsetReason": "Product footprint",
        "offsetProviderFinalizationID": "47726-53238",
        "offsetRetirementURL": "https://registry.example/retirements/1",
    }
    record.update(overrides)
    return record


def batch(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "batchNumber": "B-001",
        "taskId": "T-9",
        "offsetTotal": 25.0,
        "offsetUnit": "kg",
        "offsetPortfolioId": "oH5hlq",
        "offsetPrice": 0.5,
        "offsetPriceUnit": "USD",
        "offsetOwnerVisibility": "public",
        "offsetReasonVisibility": "private",
        "offsetProviderOrderID": "Gre28Fc35bt3",
        "certificateLink": "https://registry.cnaught.com/orders/Gre28Fc35bt3",
        "offsetProjects": [project(), project(offsetQuantity=12.5)],
        "offsetOwner": "ACME",
        "offsetReason": "Product footprint",
        "comment": "first batch",
    }
    record.update(overrides)
    return record


@pytest.fixture
def platform() -> ProductPlatform:
    return ProductPlatform.create(*CLIENT, token_lifetime=60)


@pytest.fixture
def base_url(platform: ProductPlatform) -> Iterator[str]:
    with serve(Starlette(routes=platform.routes())) as url:
        yield url


def token(http: httpx.Client, base_url: str, expires_in: int = 60) -> str:
    response = http.post(
        f"{base_url}/product-api/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == expires_in
    assert response.headers["cache-control"] == "no-store"
    value: str = body["access_token"]
    return value


def test_record_round_trip_and_read_back(base_url: str, platform: ProductPlatform) -> None:
    with httpx.Client() as http:
        bearer = {"Authorization": f"Bearer {token(http, base_url)}"}
        sent = [batch(), batch(batchNumber="B-002", offsetProjects=[])]
        response = http.post(f"{base_url}/product-api/products/P-1/offsetting", json=sent, headers=bearer)
        assert response.status_code == 201 and response.content == b""
        back = http.get(f"{base_url}/_sandbox/products/P-1/offsetting").json()["data"]
        assert [entry["batch"] for entry in back] == sent
        assert {entry["clientId"] for entry in back} == {"supplier-1"}
        looked_up = http.get(
            f"{base_url}/product-api/products/P-1/offsetting", params={"batchNumber": "B-002"}, headers=bearer
        )
        assert looked_up.json() == [sent[1]]
        assert http.get(f"{base_url}/_sandbox/products/other/offsetting").json() == {"data": []}
    assert len(platform.records) == 2


def test_keyed_map_body_is_accepted_in_key_order(base_url: str) -> None:
    with httpx.Client() as http:
        bearer = {"Authorization": f"Bearer {token(http, base_url)}"}
        body = {"1": batch(batchNumber="second"), "0": batch(batchNumber="first")}
        response = http.post(f"{base_url}/product-api/products/P-2/offsetting", json=body, headers=bearer)
        assert response.status_code == 201
        back = http.get(f"{base_url}/_sandbox/products/P-2/offsetting").json()["data"]
    assert [entry["batch"]["batchNumber"] for entry in back] == ["first", "second"]


def test_validation_errors_are_problem_json_keyed_by_json_path(
    base_url: str, platform: ProductPlatform
) -> None:
    bad = batch(
        offsetTotal="12",
        offsetPriceUnit="dollars",
        offsetOwnerVisibility="everyone",
        offsetProjects=[project(), project(offsetQuantity=-1, offsetVintageEnd="2019-01-01T00:00:00Z")],
        surprise=1,
    )
    del bad["batchNumber"]
    with httpx.Client() as http:
        bearer = {"Authorization": f"Bearer {token(http, base_url)}"}
        response = http.post(f"{base_url}/product-api/products/P-3/offsetting", json=[bad], headers=bearer)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert set(errors) == {
        "[0].batchNumber",
        "[0].offsetTotal",
        "[0].offsetPriceUnit",
        "[0].offsetOwnerVisibility",
        "[0].surprise",
        "[0].offsetProjects[1].offsetQuantity",
        "[0].offsetProjects[1].offsetVintageEnd",
    }
    assert errors["[0].batchNumber"] == ["SIG-VLD-002: is required"]
    assert errors["[0].offsetTotal"][0].startswith("SIG-VLD-004")
    assert len(platform.records) == 0  # all or nothing


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"a": batch()}, "$"),
        ([], "$"),
        ([batch(offsetPrice=1.234)], "[0].offsetPrice"),
        ([batch(offsetPrice=5, offsetPriceUnit=None)], "[0].offsetPriceUnit"),
        ([batch(certificateLink="registry.cnaught.com/orders/x")], "[0].certificateLink"),
        ([batch(offsetProjects=[project(offsetRetirementDate="2024-05-01T12:00:00")])], None),
        ([batch(offsetTotal=True)], "[0].offsetTotal"),
        ([batch(offsetProjects={"0": project()})], "[0].offsetProjects"),
    ],
)
def test_field_rules(body: Any, path: str | None) -> None:
    _, errors = validate_batches(body)
    expected = path or "[0].offsetProjects[0].offsetRetirementDate"
    assert expected in errors


def test_three_decimal_currency_and_space_separated_links_are_valid() -> None:
    body = [
        batch(
            offsetPrice=1.234,
            offsetPriceUnit="KWD",
            certificateLink="https://a.example/1 https://b.example/2",
        )
    ]
    assert validate_batches(copy.deepcopy(body)) == (body, {})


def test_missing_expired_and_unknown_tokens_get_401(base_url: str, platform: ProductPlatform) -> None:
    url = f"{base_url}/product-api/products/P-4/offsetting"
    with httpx.Client() as http:
        assert http.post(url, json=[batch()]).status_code == 401
        assert http.post(url, json=[batch()], headers={"Authorization": "Bearer nope"}).status_code == 401
        good = token(http, base_url)
        platform.issuer.clock = lambda: 10**12  # far in the future: every token has expired
        response = http.post(url, json=[batch()], headers={"Authorization": f"Bearer {good}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert len(platform.records) == 0


def test_deeply_nested_json_is_a_400_not_a_500(base_url: str, platform: ProductPlatform) -> None:
    # Deeper than Python's recursion limit: the stdlib parser raises RecursionError, not ValueError.
    deep_array, deep_object = b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    with httpx.Client() as http:
        bearer = {"Authorization": f"Bearer {token(http, base_url)}"}
        record = http.post(
            f"{base_url}/product-api/products/P-5/offsetting", content=deep_array, headers=bearer
        )
        grant = http.post(
            f"{base_url}/product-api/oauth/token",
            content=deep_object,
            headers={"Content-Type": "application/json"},
        )
    assert (record.status_code, record.json()["code"]) == (400, "SIG-VLD-000")
    assert (grant.status_code, grant.json()["error"]) == (400, "invalid_request")
    assert len(platform.records) == 0


def test_token_endpoint_follows_rfc6749(base_url: str) -> None:
    url = f"{base_url}/product-api/oauth/token"
    with httpx.Client() as http:
        in_body = http.post(
            url,
            data={
                "grant_type": "client_credentials",
                "client_id": "supplier-1",
                "client_secret": "s3cret",
                "audience": "https://api.example",
            },
        )
        as_json = http.post(
            url,
            json={"grant_type": "client_credentials", "client_id": "supplier-1", "client_secret": "s3cret"},
        )
        wrong = http.post(url, data={"grant_type": "client_credentials"}, auth=("supplier-1", "nope"))
        grant = http.post(url, data={"grant_type": "password"}, auth=CLIENT)
        missing = http.post(url, data={}, auth=CLIENT)
        basic = base64.b64encode(b"supplier-1:s3cret").decode()
        raw = http.post(
            url,
            content=b"grant_type=client_credentials",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert in_body.status_code == as_json.status_code == raw.status_code == 200
    assert in_body.json()["access_token"] != as_json.json()["access_token"]
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_records_survive_a_restart_with_a_database(tmp_path: Path) -> None:
    config = SandboxConfig(
        db=tmp_path / "sandbox.db", product_client_id=CLIENT[0], product_client_secret=CLIENT[1]
    )
    with serve(create_sandbox_app(config)) as url, httpx.Client() as http:
        bearer = {"Authorization": f"Bearer {token(http, url, expires_in=3600)}"}
        sent = http.post(f"{url}/product-api/products/P-db/offsetting", json=[batch()], headers=bearer)
        assert sent.status_code == 201
    with serve(create_sandbox_app(config)) as url, httpx.Client() as http:
        back = http.get(f"{url}/_sandbox/products/P-db/offsetting").json()["data"]
    assert [entry["batch"] for entry in back] == [batch()]
    assert back[0]["recordedAt"].endswith("Z")
