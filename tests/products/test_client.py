"""The gateway's product-platform client against the sandbox's product API over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from gateway.backend.errors import BackendConnectionError, BadRequestError, UnauthorizedError
from gateway.products import BatchRecord, ProductPlatformClient, ProjectRecord, TokenSource, Visibility
from gateway.products.recording import dedup_key, record_batch_once, record_batches
from sandbox.products import ProductPlatform
from tests.servers import serve


@pytest.fixture
def platform() -> ProductPlatform:
    return ProductPlatform.create("gw", "secret", token_lifetime=3600)


@pytest.fixture
def base_url(platform: ProductPlatform) -> Iterator[str]:
    with serve(Starlette(routes=platform.routes())) as url:
        yield url


def make_client(http: httpx.AsyncClient, base_url: str, secret: str = "secret") -> ProductPlatformClient:
    api = f"{base_url}/product-api"
    tokens = TokenSource(http, token_url=f"{api}/oauth/token", client_id="gw", client_secret=secret)
    return ProductPlatformClient(http, base_url=api, tokens=tokens)


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ProductPlatformClient]:
    async with httpx.AsyncClient() as http:
        yield make_client(http, base_url)


def record(number: str = "B-1", orders: str = "o1, o2") -> BatchRecord:
    return BatchRecord(
        batch_number=number,
        offset_total=3.0,
        offset_unit="kg",
        offset_price=0.06,
        offset_price_unit="USD",
        offset_owner_visibility=Visibility.PUBLIC,
        offset_provider_order_id=orders,
        offset_projects=(
            ProjectRecord(
                offset_provider="CNaught",
                offset_quantity=3.0,
                offset_quantity_unit="kg",
                offset_vintage_start=datetime(2020, 1, 1, tzinfo=UTC),
            ),
        ),
    )


async def test_twenty_concurrent_calls_fetch_one_token(
    client: ProductPlatformClient, platform: ProductPlatform
) -> None:
    await asyncio.gather(*(client.find_offsets("P", "B-1") for _ in range(20)))
    assert platform.issuer.issued_count == 1
    await client.find_offsets("P", "B-1")
    assert platform.issuer.issued_count == 1  # still cached


async def test_revoked_token_is_refreshed_once_and_the_call_retried(
    client: ProductPlatformClient, platform: ProductPlatform
) -> None:
    await client.record_offsets("P", [record()])
    platform.issuer.revoke_all()
    await asyncio.gather(*(client.find_offsets("P", "B-1") for _ in range(10)))
    assert platform.issuer.issued_count == 2
    assert len(platform.records) == 1


async def test_short_lived_tokens_are_refreshed_before_expiry(base_url: str) -> None:
    short = ProductPlatform.create("gw", "secret", token_lifetime=1)
    with serve(Starlette(routes=short.routes())) as url:
        async with httpx.AsyncClient() as http:
            client = make_client(http, url)
            await client.find_offsets("P", "B")
            await asyncio.sleep(0.95)  # past the refresh point (lifetime minus a tenth), before expiry
            await client.find_offsets("P", "B")
    assert short.issuer.issued_count == 2


async def test_wrong_secret_is_unauthorized_without_leaking_it(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        client = make_client(http, base_url, secret="not-the-secret")
        with pytest.raises(UnauthorizedError) as caught:
            await client.find_offsets("P", "B")
    assert "not-the-secret" not in repr(caught.value) and "127.0.0.1" not in str(caught.value)


async def test_platform_validation_maps_to_bad_request_with_paths(client: ProductPlatformClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.record_offsets("P", [record().model_copy(update={"offset_total": -1.0})])
    assert list(caught.value.errors) == ["[0].offsetTotal"]


async def test_unreachable_platform_is_a_connection_error() -> None:
    async with httpx.AsyncClient() as http:
        client = make_client(http, "http://127.0.0.1:9")
        with pytest.raises(BackendConnectionError) as caught:
            await client.find_offsets("P", "B")
    assert "127.0.0.1" not in str(caught.value)


async def test_record_batch_once_replays_instead_of_recording_twice(
    client: ProductPlatformClient, platform: ProductPlatform
) -> None:
    first = await record_batch_once(client, "P", record())
    again = await record_batch_once(client, "P", record().model_copy(update={"comment": "retry"}))
    other = await record_batch_once(client, "P", record(orders="o1, o3"))
    assert (first.replayed, again.replayed, other.replayed) == (False, True, False)
    assert again.batches == (record(),)
    assert len(platform.records) == 2
    keys = {stored.idempotency_key for stored in platform.records}
    assert keys == {dedup_key("P", "B-1", ["o2", "o1"]), dedup_key("P", "B-1", ["o3", "o1"])}


async def test_record_batches_sends_one_array(
    client: ProductPlatformClient, platform: ProductPlatform
) -> None:
    result = await record_batches(client, "P", [record("B-1"), record("B-2")])
    assert not result.replayed
    assert [stored.record["batchNumber"] for stored in platform.records] == ["B-1", "B-2"]
    assert platform.records.for_product("P")[0].record == record("B-1").to_wire()


def test_dedup_key_ignores_order_id_order() -> None:
    assert (
        dedup_key("P", "B", ["b", "a"]) == dedup_key("P", "B", ["a", "b"]) != dedup_key("P", "C", ["a", "b"])
    )
