"""The execution context's base: no reference cycle through the executor, so a request's objects are
freed by reference counting when it ends (issue 8).

graphql-core's executor keeps ``async_helpers``, a tuple of two of its own bound methods, on itself: a
reference cycle. Everything the executor reaches - the request's context, its loaders and every upstream
object they memoise (a dashboard: ~3,000 container objects) - then outlives the request until a cyclic
garbage collection finds it, and each collection of the older generations walks all such leftovers of
earlier requests (about 1 ms of a dashboard's 7-8 ms of CPU went to the collector).
"""

from __future__ import annotations

from typing import Any

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class AcyclicExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution with the resolve-info helpers made when asked for instead of kept.

    Each executor (a copy for a subscription event or a deferred part included) hands out helpers bound
    to itself; the copies share the state those helpers use (`background_futures`), as before.
    """

    @property
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        return GraphQLResolveInfoHelpers(gather=self.gather_async_work, track=self.track_async_work)

    @async_helpers.setter
    def async_helpers(self, _made_by_init: Any) -> None:
        """graphql-core's `__init__` assigns the helpers; they are made on use instead (not kept)."""
