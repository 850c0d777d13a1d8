"""Error masking: unexpected exceptions reach clients as a generic error with a stable code, never details.

Errors meant for clients are `GraphQLError`s (raised by resolvers, permissions or the schema's own
validation), so they pass through unchanged with their ``extensions.code``. Anything else - a bug, a
library error whose message may hold an upstream URL or a key - is replaced by "Internal server error"
with code ``INTERNAL_SERVER_ERROR`` and the request's correlation id as ``requestId`` (for support). The
schema (`gateway.schema.GatewaySchema`) logs the original of exactly those errors (with its traceback) on
the ``strawberry.execution`` logger before this masks them.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"
INTERNAL_ERROR_MESSAGE = "Internal server error"


def should_mask(error: GraphQLError) -> bool:
    """Mask every error that was not raised deliberately as a `GraphQLError`.

    Except a literal argument value that its scalar refused (e.g. a `Decimal` written ``1e20``):
    graphql-core's validation wraps the scalar's ValueError, but it is the caller's mistake, reported
    before anything ran, and must read as one (``GRAPHQL_VALIDATION_FAILED``, not a logged 500).
    """
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    return not (error.path is None and error.message.startswith("Expected value of type "))


class MaskInternalErrors(MaskErrors):
    """strawberry's `MaskErrors`, keeping the error's location and adding the stable code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message=INTERNAL_ERROR_MESSAGE)

    def _process_result(self, result: Any) -> None:
        # strawberry's asks `isinstance(result, <a runtime-checkable Protocol>)`, about 9 us per request
        # on the development machine; what that Protocol checks is that the result has `errors`.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=INTERNAL_ERROR_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions=self._extensions(),
        )

    def _extensions(self) -> dict[str, str]:
        # The caller can quote the id to support, who find the logged original by it.
        request_id = getattr(self.execution_context.context, "request_id", None)
        extensions = {"code": INTERNAL_ERROR_CODE}
        if isinstance(request_id, str):
            extensions["requestId"] = request_id
        return extensions
