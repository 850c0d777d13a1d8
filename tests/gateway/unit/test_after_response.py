"""`gateway.after_response`: bookkeeping queued on the request being served, run once it is answered."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.after_response import MAX_QUEUED, after_response, collect, run_queued


def test_outside_a_request_the_callback_runs_at_once() -> None:
    seen: list[int] = []
    after_response(seen.append, 1)
    assert seen == [1]


async def test_inside_a_request_callbacks_wait_and_run_in_order_also_from_tasks_it_started() -> None:
    seen: list[str] = []
    queue, token = collect()
    after_response(seen.append, "first")

    async def batch() -> None:  # a loader batch or resolver task copies the request's context
        after_response(seen.append, "from a task")

    await asyncio.create_task(batch())
    asyncio.get_running_loop().call_soon(after_response, seen.append, "from a callback")
    await asyncio.sleep(0)
    assert seen == []  # nothing ran while the request was being served
    run_queued(queue, token)
    assert seen == ["first", "from a task", "from a callback"]
    after_response(seen.append, "after")  # collecting stopped: at once again
    assert seen[-1] == "after"


async def test_a_task_the_request_left_running_records_at_once_after_the_response() -> None:
    seen: list[str] = []
    queue, token = collect()
    release = asyncio.Event()

    async def straggler() -> None:  # started by the request, still running when the response is sent
        await release.wait()
        after_response(seen.append, "late")

    task = asyncio.create_task(straggler())
    await asyncio.sleep(0)
    run_queued(queue, token)
    release.set()
    await task
    assert seen == ["late"]  # not left in a queue nobody runs any more


def test_a_failing_callback_is_logged_and_the_rest_still_run(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def broken() -> None:
        raise RuntimeError("metrics backend broke")

    queue, token = collect()
    after_response(broken)
    after_response(seen.append, 2)
    with caplog.at_level(logging.ERROR, logger="gateway.after_response"):
        run_queued(queue, token)
    assert seen == [2]
    assert "after-response callback failed" in caplog.text


def test_a_long_request_runs_its_queue_as_it_fills_up_in_order() -> None:
    seen: list[int] = []
    queue, token = collect()
    for n in range(MAX_QUEUED * 2 + 10):
        after_response(seen.append, n)
        assert len(queue) < MAX_QUEUED  # never more held back than the bound
    assert seen == list(range(MAX_QUEUED * 2))  # the first two full queues ran as they filled
    run_queued(queue, token)
    assert seen == list(range(MAX_QUEUED * 2 + 10))
