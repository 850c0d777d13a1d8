"""Record batches on the product platform without ever recording one twice.

`POST /products/{productId}/offsetting` is not idempotent, and a request can reach the platform even though
its response never comes back (timeout, dropped connection, a proxy's 5xx). Re-sending blindly could record
a batch twice; giving up could lose it. So when the outcome is unknown the recorder asks the platform what it
holds for the batch number (`ProductPlatformClient.find_offsets`) and re-sends only what is missing, once.

Order-derived batches (`record_batch_once`) are identified by their dedup key - product, batch number and
the sorted order ids, i.e. the record's `batchNumber` + `offsetProviderOrderID` - and checked before the
first send too, so the same `offsetProductBatch` call made again (a client retry) records nothing new and
reports `replayed`. Hand-written batches (`record_batches`) are compared as whole records and checked only
after an unknown outcome: a caller may legitimately record two identical-looking batches on purpose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.backend.errors import BackendConnectionError, BackendError, ServerError
from gateway.products.client import ProductPlatformClient
from gateway.products.models import BatchRecord

__all__ = ["PartiallyRecordedError", "RecordResult", "dedup_key", "record_batch_once", "record_batches"]

# Failures after which the platform may or may not have stored the batches.
_OUTCOME_UNKNOWN = (BackendConnectionError, ServerError)


class PartiallyRecordedError(BackendError):
    """After a lost response, the platform holds some of the sent batches but not all; nothing was re-sent."""

    code = "PRODUCT_RECORD_PARTIAL"


@dataclass(frozen=True)
class RecordResult:
    """What the platform now holds for the call, and whether it already held it before this call."""

    batches: tuple[BatchRecord, ...]
    replayed: bool


def dedup_key(product_id: str, batch_number: str, order_ids: Sequence[str]) -> str:
    """A stable key for one order-derived batch (sent as `Idempotency-Key`; same inputs -> same key)."""
    material = "\n".join([product_id, batch_number, *sorted(order_ids)])
    return "pob-" + hashlib.sha256(material.encode()).hexdigest()[:40]


def _same_batch(a: BatchRecord, b: BatchRecord) -> bool:
    return a.batch_number == b.batch_number and a.offset_provider_order_id == b.offset_provider_order_id


def _same_record(a: BatchRecord, b: BatchRecord) -> bool:
    return a.to_wire() == b.to_wire()


async def _held(
    client: ProductPlatformClient,
    product_id: str,
    batch: BatchRecord,
    same: Callable[[BatchRecord, BatchRecord], bool],
    request_id: str | None,
) -> BatchRecord | None:
    found = await client.find_offsets(product_id, batch.batch_number, request_id=request_id)
    return next((held for held in found if same(held, batch)), None)


async def record_batch_once(
    client: ProductPlatformClient, product_id: str, batch: BatchRecord, *, request_id: str | None = None
) -> RecordResult:
    """Record one order-derived batch unless the platform already holds it (then `replayed` is True).

    Concurrent calls for the same batch in this process take turns (the later ones find the first's
    record); gateways in several processes could still race between check and send, which only a
    platform honouring `Idempotency-Key` can close. `request_id` goes on every platform call it makes.
    """
    key = dedup_key(product_id, batch.batch_number, (batch.offset_provider_order_id or "").split(", "))
    async with client.batch_lock(key):
        return await _check_then_send(client, product_id, batch, key, request_id)


async def _check_then_send(
    client: ProductPlatformClient, product_id: str, batch: BatchRecord, key: str, request_id: str | None
) -> RecordResult:
    held = await _held(client, product_id, batch, _same_batch, request_id)
    if held is not None:
        return RecordResult((held,), replayed=True)
    try:
        await client.record_offsets(product_id, [batch], idempotency_key=key, request_id=request_id)
    except _OUTCOME_UNKNOWN:
        if await _held(client, product_id, batch, _same_batch, request_id) is None:
            await client.record_offsets(product_id, [batch], idempotency_key=key, request_id=request_id)
    return RecordResult((batch,), replayed=False)


async def record_batches(
    client: ProductPlatformClient,
    product_id: str,
    batches: Sequence[BatchRecord],
    *,
    request_id: str | None = None,
) -> RecordResult:
    """Record hand-written batches in one request; after an unknown outcome, re-send only if none arrived.

    `request_id` goes on every platform call it makes.
    """
    try:
        await client.record_offsets(product_id, batches, request_id=request_id)
    except _OUTCOME_UNKNOWN:
        held = [await _held(client, product_id, batch, _same_record, request_id) for batch in batches]
        if all(h is not None for h in held):
            return RecordResult(tuple(batches), replayed=False)
        if any(h is not None for h in held):
            raise PartiallyRecordedError(
                "the platform holds some of the batches; check before re-sending"
            ) from None
        await client.record_offsets(product_id, batches, request_id=request_id)
    return RecordResult(tuple(batches), replayed=False)
