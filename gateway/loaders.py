"""Per-request batched loaders (aiodataloader) and the cross-request catalogue cache.

One `Loaders` is built per GraphQL request, inside its event loop (aiodataloader binds the loop at
construction). Because loaders live exactly as long as one request, the caller is implicit in every key:
memoised objects never reach another caller. Keys carry what else changes the upstream answer - the
`X-Subaccount-Id` for orders - so `order(id: X)` and `order(id: X, subaccountId: S)` are distinct entries.

The REST API has no multi-id endpoints, so a batch function cannot merge keys into one request; what the
loaders buy is (1) deduplication - every distinct key is fetched once per request, however many fields ask
for it, (2) concurrency - the distinct keys of one batch are fetched in parallel, bounded by a semaphore
shared by all loaders of the request, and (3) priming - list and mutation results are put into the loaders,
so an object already in hand is never fetched again. Only same-shaped objects prime: a `Project` inside an
order's allocation lacks `credit_issuances`, so it never primes the `ProjectDetails` loader.

Batch functions return one entry per key: the object, or the exception its fetch raised, which aiodataloader
hands to that key's caller alone (one missing order does not fail its siblings).

Catalogue objects (portfolios, projects, project categories) are the same for everyone using one upstream
key and change rarely, so they are also kept for `catalogue_cache_ttl` seconds in a `CatalogueCache`,
partitioned by a fingerprint of the upstream key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from contextlib import AbstractContextManager
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from aiodataloader import DataLoader, failed_dispatch
from aiodataloader import Loader as QueuedLoad

from gateway.backend.errors import NotFoundError

if TYPE_CHECKING:
    from gateway.backend.client import CallOptions, OffsetsClient
    from gateway.backend.models import (
        CheckoutSession,
        Order,
        Portfolio,
        PortfolioDetails,
        ProjectCategoryDetails,
        ProjectDetails,
        Subaccount,
    )

_NOT_FOUND = "https://api.cnaught.com/v1/errors/not-found"

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

OrderKey = tuple[str, str | None]
"""(order id, subaccount id or None): the subaccount header changes what GET /orders/{id} may return."""

OptionsFactory = Callable[..., "CallOptions"]
#: Wraps one batch of (loader name, size) in a trace span (`gateway.telemetry.tracing`), when tracing is on.
TraceBatch = Callable[[str, int], AbstractContextManager[None]]
#: `build_loaders`'s maker of one loader: (fetch one key, catalogue cache kind, hook on each fetched value).
_MakeLoader = Callable[..., "Loader[Any, Any]"]


class CatalogueCache:
    """A small in-memory TTL cache for catalogue objects, shared by the requests of one app.

    Entries are keyed by (upstream key fingerprint, kind, id); `ttl <= 0` disables caching. Expired
    entries are dropped when read and swept when the cache grows past `max_entries`.
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        """The cached value for `key`, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def set(self, key: Hashable, value: Any) -> None:
        """Keep `value` for `ttl` seconds (a no-op when caching is disabled)."""
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._sweep()
        self._entries[key] = (self._clock() + self.ttl, value)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def _sweep(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        if len(self._entries) >= self.max_entries:  # still full of live entries: start over
            self._entries.clear()


class _DataLoader(DataLoader[Any, Any]):
    """aiodataloader's `DataLoader`, starting each batch from a loop callback rather than from a task.

    aiodataloader schedules a task whose only work is to start the batch's own task: two tasks and two
    loop turns between a wave's first `load` and its upstream call, on every request. Here the batch
    still starts on a later loop turn - every `load` made until then joins it - and still runs in a task
    of its own; only the go-between task is gone. The batch is settled by `_settle`, which skips
    aiodataloader's checks of the batch function's answer (an ``isinstance`` against ``typing.Iterable``
    costs microseconds per batch): the batch function is always `_Batcher.run`, one entry per key."""

    def do_resolve_reject(self, key: Any, future: asyncio.Future[Any]) -> None:
        self._queue.append(QueuedLoad(key=key, future=future))
        if len(self._queue) == 1:
            if self.batch:
                self.loop.call_soon(self._dispatch)
            else:
                self._dispatch()

    def _dispatch(self) -> None:
        queue, self._queue = self._queue, []
        self.loop.create_task(_settle(self, queue))


async def _settle(loader: DataLoader[Any, Any], queue: list[QueuedLoad]) -> None:
    """Run one batch and settle each key's future with its value or its own exception; when the whole
    batch fails, every key gets that error and is forgotten (aiodataloader's `failed_dispatch`)."""
    try:
        values = await loader.batch_load_fn([load.key for load in queue])
        if len(values) != len(queue):
            raise TypeError(f"a batch of {len(queue)} keys was answered with {len(values)} values")
    except Exception as error:
        failed_dispatch(loader, queue, error)
        return
    for load, value in zip(queue, values, strict=True):
        if not load.future.done():
            if isinstance(value, Exception):
                load.future.set_exception(value)
            else:
                load.future.set_result(value)


class Loader(Generic[K, V]):
    """A typed facade over one aiodataloader `DataLoader` whose batch fetches each key concurrently.

    `fetch_one` fetches one key; `semaphore` bounds how many fetches of the request run at once;
    `cache`/`cache_kind`/`partition` optionally back the loader with the cross-request catalogue cache;
    `on_batch` hears the size of every batch (metrics); `trace_batch` wraps each batch in a span.
    """

    def __init__(
        self,
        fetch_one: Callable[[K], Awaitable[V]],
        *,
        semaphore: asyncio.Semaphore,
        loop: asyncio.AbstractEventLoop,
        cache: CatalogueCache | None = None,
        cache_kind: str = "",
        partition: str = "",
        on_fetched: Callable[[V], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
        trace_batch: Callable[[int], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._batcher = _Batcher(
            fetch_one,
            semaphore=semaphore,
            cache=cache,
            cache_key=(partition, cache_kind),
            on_fetched=on_fetched,
            on_batch=on_batch,
            trace_batch=trace_batch,
        )
        # The loader's memo, held here too so `peek` can look at a key's future without awaiting it.
        self._futures: dict[Any, asyncio.Future[Any]] = {}
        self._loop = loop
        self._made: DataLoader[Any, Any] | None = None
        # `peek_converted`'s conversions: by key, with the value they were made from.
        self._converted: dict[Any, tuple[Any, Any]] = {}

    @property
    def _loader(self) -> DataLoader[Any, Any]:
        """The aiodataloader, made on first use: a loader that is only primed or peeked at never needs one
        (making one inspects its batch function, a few microseconds)."""
        if self._made is None:
            self._made = _DataLoader(self._batcher.run, loop=self._loop, cache_map=self._futures)
        return self._made

    def load(self, key: K) -> asyncio.Future[V]:
        """The object for `key` (awaited; raises the exception its fetch raised): the loader's own future,
        with no coroutine around it, so a resolver awaiting it is one frame shorter."""
        # Per-key exceptions returned by `_batch` are raised by aiodataloader, so a value is a `V` here.
        return cast("asyncio.Future[V]", self._loader.load(key))

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        """The objects for `keys`, in order (one batch; raises the first per-key exception)."""
        return list(await asyncio.gather(*(self.load(key) for key in keys)))

    def prefetch(self, keys: Iterable[K]) -> asyncio.Future[list[V | BaseException]]:
        """Load `keys` as one batch; the future settles when every one has (failures are not raised here,
        `peek` raises them to the field that asks). It wraps the loader's own futures: no task per key."""
        return asyncio.gather(*(self.load(key) for key in keys), return_exceptions=True)

    def peek(self, key: K) -> V | None:
        """The object for `key` if this request already has it (raising the error its fetch raised), else
        None: a resolver with the data in hand answers synchronously instead of awaiting."""
        future = self._futures.get(key)
        if future is None or not future.done():
            return None
        return cast("V", future.result())

    def peek_converted(self, key: K, convert: Callable[[V], T]) -> T | None:
        """`peek`, converted by `convert` once per value this request holds for `key`: 50 orders naming 5
        subaccounts get 5 converted objects, which the executor then completes once each."""
        value = self.peek(key)
        if value is None:
            return None
        seen = self._converted.get(key)
        if seen is not None and seen[0] is value:
            return cast("T", seen[1])
        converted = convert(value)
        self._converted[key] = (value, converted)
        return converted

    def prime(self, key: K, value: V) -> None:
        """Remember `value` for `key` (replacing any earlier value), here and in the catalogue cache."""
        self._loader.clear(key)
        self._loader.prime(key, value)
        self._batcher.remember(key, value)

    def clear(self, key: K) -> None:
        """Forget `key` in this request (e.g. after a mutation changed the object)."""
        self._loader.clear(key)


class _Batcher(Generic[K, V]):
    """A `Loader`'s batch function, apart from the loader: the `DataLoader` holds it, and it holds nothing
    that leads back to the loader, so a request's loaders form no reference cycle (a cycle would leave all
    they memoise - a page of orders is ~3,000 container objects - for the cyclic garbage collector)."""

    def __init__(
        self,
        fetch_one: Callable[[K], Awaitable[V]],
        *,
        semaphore: asyncio.Semaphore,
        cache: CatalogueCache | None,
        cache_key: tuple[str, str],
        on_fetched: Callable[[V], None] | None,
        on_batch: Callable[[int], None] | None,
        trace_batch: Callable[[int], AbstractContextManager[None]] | None,
    ) -> None:
        self._fetch_one = fetch_one
        self._on_batch = on_batch
        self._trace_batch = trace_batch
        self._on_fetched = on_fetched
        self._semaphore = semaphore
        self._cache = cache
        self._partition, self._kind = cache_key

    async def run(self, keys: list[K]) -> list[V | Exception]:
        if self._on_batch is not None:
            self._on_batch(len(keys))
        if self._trace_batch is None:
            return await self._fetch_all(keys)
        with self._trace_batch(len(keys)):
            return await self._fetch_all(keys)

    async def _fetch_all(self, keys: list[K]) -> list[V | Exception]:
        if len(keys) == 1:  # one key (e.g. `order(id)`): no task to run it beside nothing
            return [await self._fetch_guarded(keys[0])]
        return list(await asyncio.gather(*(self._fetch_guarded(key) for key in keys)))

    async def _fetch_guarded(self, key: K) -> V | Exception:
        """Fetch one key; a failure becomes that key's result instead of failing the whole batch."""
        cached = self._cached(key)
        if cached is not None:
            return cached
        try:
            async with self._semaphore:
                value = await self._fetch_one(key)
        except Exception as exc:
            return exc
        self.remember(key, value)
        if self._on_fetched is not None:
            self._on_fetched(value)
        return value

    def _cached(self, key: K) -> V | None:
        if self._cache is None:
            return None
        value: V | None = self._cache.get((self._partition, self._kind, key))
        return value

    def remember(self, key: K, value: V) -> None:
        """Keep `value` in the catalogue cache, when this loader has one."""
        if self._cache is not None:
            self._cache.set((self._partition, self._kind, key), value)


class Loaders:
    """The loaders of one request (see the module docstring for keys and priming rules), each made on first
    use: a request reads one or two of the seven, and making one costs a few microseconds (issue 8)."""

    def __init__(
        self, make: _MakeLoader, fetch: _Fetch, make_list: Callable[[], CachedList[Portfolio]]
    ) -> None:
        self._make, self._fetch, self._make_list = make, fetch, make_list

    @cached_property
    def orders(self) -> Loader[OrderKey, Order]:
        return self._make(self._fetch.order)

    @cached_property
    def subaccounts(self) -> Loader[str, Subaccount]:
        return self._make(self._fetch.subaccount)

    @cached_property
    def portfolios(self) -> Loader[str, PortfolioDetails]:
        # It primes the categories loader directly (not through `Loaders`: no cycle).
        prime = partial(_prime_categories, self.project_categories)
        return self._make(self._fetch.portfolio, "portfolio", prime)

    @cached_property
    def projects(self) -> Loader[str, ProjectDetails]:
        return self._make(self._fetch.project, "project")

    @cached_property
    def project_categories(self) -> Loader[str, ProjectCategoryDetails]:
        return self._make(self._fetch.project_category, "project-category")

    @cached_property
    def checkout_sessions(self) -> Loader[str, CheckoutSession]:
        return self._make(self._fetch.checkout_session)

    @cached_property
    def portfolio_list(self) -> CachedList[Portfolio]:
        return self._make_list()

    def prime_order(self, order: Order, subaccount_id: str | None) -> None:
        """Prime an order read under `subaccount_id` (None = no subaccount header)."""
        self.orders.prime((order.id, subaccount_id), order)
        if subaccount_id is None and order.subaccount_id is not None:
            # The subaccount's own view of its order is the same object.
            self.orders.prime((order.id, order.subaccount_id), order)

    def prime_categories(self, portfolio: PortfolioDetails) -> None:
        """Prime the category details nested in a portfolio's details (same shape as their GET)."""
        _prime_categories(self.project_categories, portfolio)


def _prime_categories(categories: Loader[str, ProjectCategoryDetails], portfolio: PortfolioDetails) -> None:
    for allocation in portfolio.category_allocations:
        categories.prime(allocation.category.id, allocation.category)


class CachedList(Generic[V]):
    """An unkeyed list (e.g. GET /portfolios) fetched at most once per request and cached across requests."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[V]]],
        *,
        cache: CatalogueCache | None,
        cache_key: Hashable,
    ) -> None:
        self._fetch = fetch
        self._cache = cache
        self._cache_key = cache_key
        self._task: asyncio.Future[list[V]] | None = None

    async def get(self) -> list[V]:
        """The list; concurrent callers in one request share one upstream call."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._load())
        return await asyncio.shield(self._task)

    async def _load(self) -> list[V]:
        if self._cache is not None:
            cached: list[V] | None = self._cache.get(self._cache_key)
            if cached is not None:
                return cached
        value = await self._fetch()
        if self._cache is not None:
            self._cache.set(self._cache_key, value)
        return value


class _Fetch:
    """The one-object upstream calls behind the loaders, each with options from `call_options`.

    `call_options` must not lead back to the context that holds these loaders (a bound method of it would):
    that reference cycle would leave each request's objects to the cyclic garbage collector.
    """

    def __init__(self, client: OffsetsClient, call_options: OptionsFactory) -> None:
        self.client = client
        self.options = call_options

    async def order(self, key: OrderKey) -> Order:
        return await self.client.get_order(key[0], opts=self.options(subaccount_id=key[1]))

    async def subaccount(self, key: str) -> Subaccount:
        # The upstream does not scope GET /subaccounts/{id} by X-Subaccount-Id: naming the subaccount here
        # makes `call_options` refuse a bound caller any other, and the answer is checked to be that one.
        opts = self.options(subaccount_id=key)
        subaccount = await self.client.get_subaccount(key, opts=opts)
        if opts.subaccount_id is not None and subaccount.id != opts.subaccount_id:
            raise NotFoundError(status=404, title="Could not find subaccount", problem_type=_NOT_FOUND)
        return subaccount

    async def portfolio(self, key: str) -> PortfolioDetails:
        return await self.client.get_portfolio(key, opts=self.options())

    async def project(self, key: str) -> ProjectDetails:
        return await self.client.get_project(key, opts=self.options())

    async def project_category(self, key: str) -> ProjectCategoryDetails:
        return await self.client.get_project_category(key, opts=self.options())

    async def checkout_session(self, key: str) -> CheckoutSession:
        opts = self.options()
        session = await self.client.get_checkout_session(key, opts=opts)
        if opts.subaccount_id is not None and session.subaccount_id != opts.subaccount_id:
            # The upstream does not scope this GET by X-Subaccount-Id: a bound caller must not see another
            # subaccount's session, nor learn that it exists, so it is answered like a missing one.
            raise NotFoundError(status=404, title="Could not find checkout session", problem_type=_NOT_FOUND)
        return session

    async def portfolio_list(self) -> list[Portfolio]:
        return await self.client.list_portfolios(opts=self.options())


def build_loaders(
    client: OffsetsClient,
    call_options: OptionsFactory,
    *,
    loop: asyncio.AbstractEventLoop,
    max_concurrency: int,
    catalogue_cache: CatalogueCache | None = None,
    cache_partition: str = "",
    on_batch: Callable[[str, int], None] | None = None,
    trace_batch: TraceBatch | None = None,
) -> Loaders:
    """Build one request's loaders over `client`, with options from `call_options` (`context.call_options_for`
    for the request's principal: not a method of the context, see `_Fetch`).

    All loaders share one semaphore of `max_concurrency` permits; catalogue loaders (those given a cache
    kind) also read and fill `catalogue_cache` under `cache_partition`. `on_batch(loader name, size)` hears
    every batch; `trace_batch(loader name, size)` wraps each in a trace span.
    """
    fetch = _Fetch(client, call_options)
    semaphore = asyncio.Semaphore(max(1, max_concurrency))

    def loader(
        fetch_one: Callable[[Any], Awaitable[Any]],
        kind: str = "",
        on_fetched: Callable[[Any], None] | None = None,
    ) -> Loader[Any, Any]:
        cache = catalogue_cache if kind else None
        name = fetch_one.__name__
        return Loader(
            fetch_one,
            semaphore=semaphore,
            loop=loop,
            cache=cache,
            cache_kind=kind,
            partition=cache_partition,
            on_fetched=on_fetched,
            on_batch=(lambda size: on_batch(name, size)) if on_batch else None,
            trace_batch=(lambda size: trace_batch(name, size)) if trace_batch else None,
        )

    def portfolio_list() -> CachedList[Portfolio]:
        key = (cache_partition, "portfolio-list")
        return CachedList(fetch.portfolio_list, cache=catalogue_cache, cache_key=key)

    return Loaders(loader, fetch, portfolio_list)
