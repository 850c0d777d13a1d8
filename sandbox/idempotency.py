"""``Idempotency-Key`` handling (reference section 5).

For ``POST /orders``, ``/orders/ride``, ``/orders/{id}/cancel`` and ``/subaccounts``:

- a key longer than 512 characters is 400 ``idempotency-key-too-long``;
- a request arriving while another with the same key is being processed is 409
  ``idempotency-concurrent-requests``;
- a key seen before with a different payload is 422 ``idempotency-changed-payload``;
- a key seen before with the same payload gets the original response again, with
  ``X-Idempotent-Replay: true``, and nothing is done twice.

Choices where the reference says [?] (its own recommendation): keys are scoped per API key (= account) and
request path; they live 24 hours; only 2xx responses are recorded and replayed, so a request that failed
can be retried with the same key. The payload is the JSON body in canonical form (key order and whitespace
do not matter) plus the ``X-Subaccount-Id`` header. Records are stored like any other state (so they
survive a restart with ``--db``); the in-flight set lives in the process, which is safe because the
check-and-claim happens without an ``await`` in between on the single event loop. A request with a key that
is in flight gets 409 whatever its payload (the first one's payload may not even have arrived yet).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandbox.problems import idempotency_changed_payload, idempotency_concurrent, idempotency_key_too_long
from sandbox.store import Document, Store

RECORDS = "idempotency"
MAX_KEY_LENGTH = 512
TTL_SECONDS = 24 * 3600
REPLAY_HEADER = "X-Idempotent-Replay"

Action = Callable[[bytes], Awaitable[Response]]


def fingerprint(body: bytes, subaccount_id: str) -> str:
    """A digest of what makes two requests "the same payload"."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body.strip() else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(subaccount_id.encode() + b"\0" + canonical).hexdigest()


class Idempotency:
    """Records of keyed requests and the keys in flight."""

    def __init__(self, store: Store, ttl: float = TTL_SECONDS) -> None:
        self._store = store
        self._ttl = ttl
        self._in_flight: set[str] = set()

    @property
    def in_flight(self) -> int:
        """How many keyed requests are being processed right now (tests wait on it instead of sleeping)."""
        return len(self._in_flight)

    async def run(self, request: Request, account_id: str, action: Action) -> Response:
        """Run `action` on the request's body once per idempotency key."""
        key = request.headers.get("idempotency-key")
        if key is None:
            return await action(await request.body())
        if len(key) > MAX_KEY_LENGTH:
            raise idempotency_key_too_long()
        slot = hashlib.sha256(f"{account_id}\0{request.url.path}\0{key}".encode()).hexdigest()
        record = self._live_record(slot)
        if record is not None:
            return _replay(record, await _digest(request))
        return await self._first_run(slot, request, action)

    async def _first_run(self, slot: str, request: Request, action: Action) -> Response:
        # The slot is claimed before the body is read, so a request still uploading its body already
        # counts as "being processed" for any other request with the same key.
        if slot in self._in_flight:
            raise idempotency_concurrent()
        self._in_flight.add(slot)
        try:
            body = await request.body()
            response = await action(body)
            if 200 <= response.status_code < 300:
                self._record(slot, fingerprint(body, _subaccount(request)), response)
            return response
        finally:
            self._in_flight.discard(slot)

    def _live_record(self, slot: str) -> Document | None:
        record = self._store.get(RECORDS, slot)
        if record is not None and record["created_at"] + self._ttl < time.time():
            self._store.delete(RECORDS, slot)
            return None
        return record

    def _record(self, slot: str, digest: str, response: Response) -> None:
        record = {
            "fingerprint": digest,
            "created_at": time.time(),
            "status": response.status_code,
            "media_type": response.media_type,
            "body": bytes(response.body).decode(),
        }
        self._store.put(RECORDS, slot, record)


async def _digest(request: Request) -> str:
    return fingerprint(await request.body(), _subaccount(request))


def _subaccount(request: Request) -> str:
    return request.headers.get("x-subaccount-id", "").strip()


def _replay(record: Document, digest: str) -> Response:
    """The recorded response again, or 422 when this request's payload differs."""
    if record["fingerprint"] != digest:
        raise idempotency_changed_payload()
    return Response(
        record["body"].encode(),
        status_code=record["status"],
        media_type=record["media_type"],
        headers={REPLAY_HEADER: "true"},
    )
