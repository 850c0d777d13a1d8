"""Fixtures for the sandbox's tests (helpers live in tests/sandbox/sandbox_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.sandbox.sandbox_helpers import asgi_client, make_app


@pytest.fixture
def app() -> Starlette:
    return make_app()


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http:
        yield http
