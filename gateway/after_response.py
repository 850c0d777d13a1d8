"""Bookkeeping that waits until the response is sent (issue 8).

A request's own metrics (each upstream attempt, each loader batch) are recorded where they happen, in the
middle of the request, yet nobody waits for them: `after_response(f, *args)` queues ``f(*args)`` on the
request being served, and the GraphQL view runs the queue once the response's last byte is handed to the
server (`run_queued`), in order, each callback's failure logged and contained. Outside a request that
collects them (a subscription's feed, a background job, a test calling a client directly) the call runs
at once. Only what may be late goes here: figures already measured, never anything the response reads.

The queue lives in a context variable, so the loader batches and resolver tasks a request starts (they copy
its context) add to the request's own queue. It is bounded: at `MAX_QUEUED` callbacks it is run there and
then (a request that lasts - a stream, a large batch - never holds its figures back for long, nor grows
without end).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar, Token
from functools import partial
from typing import Any

logger = logging.getLogger(__name__)

#: Callbacks a request may hold back; the queue is run as it reaches this many.
MAX_QUEUED = 256


class Queue(list[Callable[[], object]]):
    """One request's queued callbacks; once run, it takes no more (a task the request left running
    runs its callbacks at once)."""

    closed = False


_queue: ContextVar[Queue | None] = ContextVar("gateway_after_response", default=None)


def after_response(callback: Callable[..., object], *args: Any) -> None:
    """Run ``callback(*args)`` once the current request's response is sent; at once outside one."""
    queue = _queue.get()
    if queue is None or queue.closed:
        callback(*args)
        return
    queue.append(partial(callback, *args))
    if len(queue) >= MAX_QUEUED:
        _run(queue)


def collect() -> tuple[Queue, Token[Queue | None]]:
    """Start collecting for the request being served; `run_queued` with the token when it is answered."""
    queue = Queue()
    return queue, _queue.set(queue)


def run_queued(queue: Queue, token: Token[Queue | None]) -> None:
    """Stop collecting and run what was queued, in order; a failing callback is logged, the rest run."""
    _queue.reset(token)
    queue.closed = True
    _run(queue)


def _run(queue: Queue) -> None:
    callbacks = list(queue)
    queue.clear()
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a broken metrics hook must not fail the request it observed
            logger.exception("after-response callback failed")
