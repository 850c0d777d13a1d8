"""Per-request loaders: batching, dedup, per-key errors, concurrency bound, priming, catalogue cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway import loaders as loaders_module
from gateway.backend import NotFoundError, models
from gateway.loaders import CachedList, CatalogueCache, Loader
from tests.gateway.unit.schema_fakes import FakeUpstream, context_for, order, portfolio, subaccount


class Recorder:
    """A fetch function that records the keys it was asked for and how many ran at once."""

    def __init__(self, missing: frozenset[str] = frozenset(), delay: float = 0.0) -> None:
        self.keys: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.missing = missing
        self.delay = delay

    async def __call__(self, key: str) -> str:
        self.keys.append(key)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if key in self.missing:
                raise NotFoundError(status=404, title=f"no {key}")
            return key.upper()
        finally:
            self.in_flight -= 1


def make_loader(fetch: Recorder, *, limit: int = 10, cache: CatalogueCache | None = None) -> Loader[str, str]:
    return Loader(
        fetch,
        semaphore=asyncio.Semaphore(limit),
        loop=asyncio.get_running_loop(),
        cache=cache,
        cache_kind="thing",
        partition="key-a",
    )


async def test_one_batch_fetches_each_distinct_key_once() -> None:
    fetch = Recorder()
    loader = make_loader(fetch)
    results = await asyncio.gather(*(loader.load(k) for k in ["a", "b", "a", "c", "b"]))
    assert results == ["A", "B", "A", "C", "B"]
    assert sorted(fetch.keys) == ["a", "b", "c"]
    assert await loader.load("a") == "A"  # memoised for the rest of the request
    assert len(fetch.keys) == 3


async def test_a_failing_key_fails_only_its_own_callers() -> None:
    fetch = Recorder(missing=frozenset({"b"}))
    loader = make_loader(fetch)
    results = await asyncio.gather(
        loader.load("a"), loader.load("b"), loader.load("c"), return_exceptions=True
    )
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], NotFoundError)


async def test_fetches_of_one_batch_run_concurrently_within_the_bound() -> None:
    fetch = Recorder(delay=0.01)
    loader = make_loader(fetch, limit=3)
    await loader.load_many([str(i) for i in range(10)])
    assert len(fetch.keys) == 10
    assert fetch.max_in_flight == 3


async def test_primed_keys_are_never_fetched() -> None:
    fetch = Recorder()
    loader = make_loader(fetch)
    loader.prime("a", "primed")
    assert await loader.load_many(["a", "b"]) == ["primed", "B"]
    assert fetch.keys == ["b"]


async def test_a_value_in_hand_is_converted_once_until_it_changes() -> None:
    loader = make_loader(Recorder())
    conversions: list[str] = []

    def convert(value: str) -> list[str]:
        conversions.append(value)
        return [value]

    assert loader.peek_converted("a", convert) is None  # not loaded yet: nothing to convert
    await loader.load("a")
    first = loader.peek_converted("a", convert)
    assert first == ["A"] and loader.peek_converted("a", convert) is first
    loader.prime("a", "changed")
    assert loader.peek_converted("a", convert) == ["changed"]
    assert conversions == ["A", "changed"]


async def test_a_request_makes_only_the_dataloaders_it_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = loaders_module._DataLoader

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(loaders_module, "_DataLoader", counting)
    unused, used = Recorder(), Recorder()
    make_loader(unused)
    loader = make_loader(used)
    assert made == []  # none until a loader is first used
    assert loader.peek("a") is None and made == []
    assert await loader.load("a") == "A" and await loader.load("a") == "A"
    assert len(made) == 1 and used.keys == ["a"] and unused.keys == []
    assert loader.peek("a") == "A"


async def test_catalogue_cache_serves_a_later_request_until_the_ttl_ends() -> None:
    now = [0.0]
    cache = CatalogueCache(ttl=60, clock=lambda: now[0])
    first, second, third = Recorder(), Recorder(), Recorder()
    await make_loader(first, cache=cache).load("a")
    await make_loader(second, cache=cache).load("a")  # a new request within the TTL
    now[0] = 61
    await make_loader(third, cache=cache).load("a")  # expired
    assert (first.keys, second.keys, third.keys) == (["a"], [], ["a"])


async def test_catalogue_cache_is_partitioned_by_upstream_key() -> None:
    cache = CatalogueCache(ttl=60)
    await make_loader(Recorder(), cache=cache).load("a")
    other_key = Recorder()
    loader = Loader(
        other_key,
        semaphore=asyncio.Semaphore(1),
        loop=asyncio.get_running_loop(),
        cache=cache,
        cache_kind="thing",
        partition="key-b",
    )
    await loader.load("a")
    assert other_key.keys == ["a"]


def test_catalogue_cache_with_zero_ttl_keeps_nothing() -> None:
    cache = CatalogueCache(ttl=0)
    cache.set("k", 1)
    assert cache.get("k") is None


def test_catalogue_cache_drops_expired_entries_when_full() -> None:
    now = [0.0]
    cache = CatalogueCache(ttl=10, max_entries=2, clock=lambda: now[0])
    cache.set("a", 1)
    now[0] = 20
    cache.set("b", 2)
    cache.set("c", 3)  # full: the expired "a" is swept
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, 3)


async def test_cached_list_is_fetched_once_for_concurrent_callers() -> None:
    calls = []

    async def fetch() -> list[int]:
        calls.append(1)
        await asyncio.sleep(0)
        return [1, 2]

    listing: CachedList[int] = CachedList(fetch, cache=None, cache_key="x")
    assert await asyncio.gather(listing.get(), listing.get()) == [[1, 2], [1, 2]]
    assert len(calls) == 1


# --- the real loaders over a real OffsetsClient (MockTransport at the httpx seam) ---------------------


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream(
        orders=[order("o1", "s1", ["p1"]), order("o2", "s2", ["p2"])],
        subaccounts={"s1": subaccount("s1"), "s2": subaccount("s2")},
        portfolios={"pf1": portfolio("pf1")},
    )


@pytest.fixture
async def http(upstream: FakeUpstream) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=upstream.transport()) as client:
        yield client


async def test_order_keys_carry_the_subaccount(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    context = await context_for(upstream, http)
    await asyncio.gather(
        context.loaders.orders.load(("o1", None)),
        context.loaders.orders.load(("o1", "s1")),
        context.loaders.orders.load(("o1", None)),
    )
    headers = sorted(r.headers.get("x-subaccount-id", "-") for r in upstream.requests)
    assert headers == ["-", "s1"]


async def test_priming_an_order_read_without_subaccount_also_serves_its_subaccount(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    context = await context_for(upstream, http)
    listed = models.Order.model_validate(upstream.orders[0])
    context.loaders.prime_order(listed, None)
    assert (await context.loaders.orders.load(("o1", "s1"))).id == "o1"
    assert (await context.loaders.orders.load(("o1", None))).id == "o1"
    assert upstream.requests == []


async def test_portfolio_details_prime_their_categories_but_not_projects(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    context = await context_for(upstream, http)
    await context.loaders.portfolios.load("pf1")
    category = await context.loaders.project_categories.load("c2")
    assert [p.id for p in category.projects] == ["p2", "p3"]
    await context.loaders.projects.load("p2")  # a category's projects lack credit issuances: fetched
    assert upstream.paths() == ["GET /portfolios/pf1", "GET /projects/p2"]


async def test_catalogue_loaders_share_the_app_cache_across_requests(
    upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    cache = CatalogueCache(ttl=60)
    for _ in range(3):
        context = await context_for(upstream, http, cache=cache)
        await context.loaders.portfolios.load("pf1")
        await context.loaders.project_categories.load("c1")
        await context.loaders.portfolio_list.get()
        await context.loaders.subaccounts.load("s1")  # not catalogue: once per request
    assert upstream.count("GET", "/v1/portfolios") == 2  # details once, list once
    assert upstream.count("GET", "/v1/project-categories") == 0  # primed by the portfolio
    assert upstream.count("GET", "/v1/subaccounts") == 3


async def test_loader_errors_are_the_backend_errors(upstream: FakeUpstream, http: httpx.AsyncClient) -> None:
    context = await context_for(upstream, http)
    with pytest.raises(NotFoundError):
        await context.loaders.subaccounts.load("nope")
    assert (await context.loaders.subaccounts.load("s1")).name == "Sub s1"


async def test_loaders_respect_the_concurrency_setting(upstream: FakeUpstream) -> None:
    in_flight, peak = [0], [0]

    async def slow(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        sid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json=subaccount(sid))

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        context = await context_for(upstream, http, max_concurrent_upstream=2)
        loaded = await context.loaders.subaccounts.load_many([f"s{i}" for i in range(7)])
    assert [s.id for s in loaded] == [f"s{i}" for i in range(7)]
    assert peak[0] == 2


async def test_a_batch_that_fails_as_a_whole_fails_each_key_and_forgets_it() -> None:
    fetch = Recorder()
    batches: list[int] = []

    def on_batch(size: int) -> None:
        batches.append(size)
        if len(batches) == 1:
            raise RuntimeError("metrics hook broke")  # the batch itself fails, not one key's fetch

    loader = Loader(
        fetch, semaphore=asyncio.Semaphore(10), loop=asyncio.get_running_loop(), on_batch=on_batch
    )
    both = asyncio.gather(loader.load("a"), loader.load("b"), return_exceptions=True)
    outcomes = await asyncio.wait_for(both, 5)  # a future left unsettled would hang the request
    assert [str(o) for o in outcomes] == ["metrics hook broke", "metrics hook broke"]
    assert fetch.keys == []
    # Forgotten, not memoised as failures: asked again, both are fetched (in one new batch).
    assert await asyncio.gather(loader.load("a"), loader.load("b")) == ["A", "B"]
    assert batches == [2, 2]
