"""Timestamps in the API's format: ISO-8601 UTC with six fractional digits and a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """E.g. ``2022-08-01T18:00:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or an offset; a naive one is taken as UTC).

    Raises ValueError on anything else.
    """
    moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
