"""What every mutation shares: the payload base, idempotency keys, and running the upstream call.

`attempt` runs a mutation's upstream call and sorts its failure: an expected one (validation, not found,
idempotency conflict, forbidden, ...) becomes `userErrors` in the payload; anything else becomes a coded
GraphQL error that also carries the idempotency key, so the caller can retry without buying twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pydantic
import strawberry

from gateway.backend.client import Result
from gateway.schema.errors import (
    UPSTREAM_ERROR_TYPES,
    UserError,
    UserErrorCode,
    input_path,
    to_graphql_error,
    user_errors_from,
)

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type(description="Fields every mutation payload has.")
class MutationPayload:
    replayed: bool = strawberry.field(
        description="True when the upstream answered from its idempotency store: the action had already "
        "happened (for this idempotency key) and was not repeated."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Expected failures; empty when the mutation succeeded."
    )


def new_idempotency_key() -> str:
    """A fresh key for a mutation call the caller gave none for; reused by every retry of that call."""
    return str(uuid.uuid4())


@dataclass
class Outcome(Generic[T]):
    """The result of `attempt`: a value, or the user errors saying why there is none."""

    value: T | None = None
    user_errors: list[UserError] = field(default_factory=list)

    def converted(self, convert: Callable[[T], R]) -> R | None:
        """The value as the payload shows it, or None when the mutation did not happen."""
        return None if self.value is None else convert(self.value)

    def payload_fields(self) -> dict[str, Any]:
        """The `MutationPayload` fields. Never a replay: the upstream keeps no idempotency for this call."""
        return {"replayed": False, "user_errors": self.user_errors}


async def attempt(
    action: Callable[[], Awaitable[T]],
    renames: Mapping[str, str] | None = None,
    *,
    idempotency_key: str | None = None,
) -> Outcome[T]:
    """Run `action`; expected failures become user errors, understood unexpected ones coded errors."""
    try:
        return Outcome(value=await action())
    except pydantic.ValidationError as exc:
        return Outcome(user_errors=_validation_errors(exc, renames))
    except UPSTREAM_ERROR_TYPES as exc:
        errors = user_errors_from(exc, renames)
        if errors is None:
            error = to_graphql_error(exc)
            if idempotency_key is not None:
                error.extensions = {**(error.extensions or {}), "idempotencyKey": idempotency_key}
            raise error from exc
        return Outcome(user_errors=errors)


def _validation_errors(exc: pydantic.ValidationError, renames: Mapping[str, str] | None) -> list[UserError]:
    """Params the backend models refuse (gateway-side validation) as INVALID_INPUT user errors."""
    errors = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        errors.append(
            UserError(code=UserErrorCode.INVALID_INPUT, field=input_path(key, renames), message=message)
        )
    return errors


@dataclass(kw_only=True)
class KeyedOutcome(Outcome[T]):
    """The result of `attempt_keyed`: `Outcome` plus the idempotency key used and the replay flag."""

    idempotency_key: str
    replayed: bool = False

    def payload_fields(self) -> dict[str, Any]:
        """The payload fields of an idempotent mutation: the replay flag and the key to retry with."""
        return {
            **super().payload_fields(),
            "replayed": self.replayed,
            "idempotency_key": self.idempotency_key,
        }


async def attempt_keyed(
    call: Callable[[str], Awaitable[Result[T]]],
    caller_key: str | None,
    renames: Mapping[str, str] | None = None,
) -> KeyedOutcome[T]:
    """`attempt` an idempotent upstream call with the caller's key, or a fresh one.

    `replayed` is only reported for the caller's own key: with a key the gateway made up, a replay can only
    be of this call's own earlier, lost attempt - the action happened once, now.
    """
    key = caller_key or new_idempotency_key()
    outcome = await attempt(lambda: call(key), renames, idempotency_key=key)
    result = outcome.value
    if result is None:
        return KeyedOutcome(idempotency_key=key, user_errors=outcome.user_errors)
    return KeyedOutcome(
        idempotency_key=key, value=result.data, replayed=result.replayed and caller_key is not None
    )
