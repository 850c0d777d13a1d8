"""The operation guard: one schema extension that runs every per-operation check before execution.

In order, before any resolver (so before any upstream call):
1. tokens (before parsing) - TOKEN_LIMIT_EXCEEDED;
2. scopes of the root fields - FORBIDDEN (the one place scopes are checked, see `gateway.auth.scopes`);
3. tenant: a subaccount-bound credential naming another subaccount in a root argument gets NOT_FOUND,
   exactly what a subaccount that does not exist gives, so existence never leaks; each id is read by the
   function of `gateway.ids` its resolver reads it with, so the guard judges the id that would be fetched
   (the resolvers and `GatewayContext.call_options` check the binding again, see `gateway.context`);
4. page sizes and static cost - PAGE_SIZE_REQUIRED, PAGE_SIZE_EXCEEDED, MAX_COST_EXCEEDED;
5. the caller's cost budget - RATE_LIMITED with HTTP 429 and ``Retry-After`` (one point is also charged
   on arrival, before parsing, so invalid documents are not free).

Depth, aliases and root-field counts are validation rules (`gateway.operation_limits.rules`), cached per
document. Every response carries ``extensions.cost = {requested, actual, maximum}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension

from gateway.auth.errors import AuthError
from gateway.auth.principal import Principal
from gateway.auth.scopes import SUBACCOUNT_TARGETS, authorize
from gateway.ids import InvalidIdError, node_id, upstream_id_of
from gateway.operation_limits.cost import CostModel, actual_cost, requested_cost
from gateway.operation_limits.errors import LimitExceededError
from gateway.operation_limits.rules import count_tokens, fields_of
from gateway.ratelimit import CostRateLimiter, rate_key

SUBACCOUNT_ARGUMENT_NAMES = frozenset({"subaccountId", "subaccount_id"})
#: Root fields whose ids are read as node ids (global only), not as Subaccount ids.
NODE_FIELDS = frozenset({"node", "nodes"})
#: Points charged to every operation as it arrives, before parsing (on top of its requested cost).
ARRIVAL_COST = 1


@dataclass(frozen=True)
class GuardConfig:
    """The limits the guard enforces."""

    max_tokens: int = 2000
    max_cost: int = 2000
    cost_model: CostModel = dataclasses.field(default_factory=CostModel)


class OperationGuard(SchemaExtension):
    """Checks scopes, tenant, page sizes, cost and budget; reports the cost. Use a factory per request."""

    def __init__(self, *, config: GuardConfig, limiter: CostRateLimiter | None = None) -> None:
        self.config, self.limiter = config, limiter
        self.requested = 0
        self.actual = 0

    async def on_parse(self) -> AsyncIterator[None]:
        # One point on arrival, so that documents failing to parse or validate are not free to send.
        await self._charge(self._principal(), ARRIVAL_COST)
        query = self.execution_context.query or ""
        tokens = count_tokens(query, self.config.max_tokens)
        if tokens > self.config.max_tokens:
            message = f"the document has more than {self.config.max_tokens} tokens"
            raise LimitExceededError("TOKEN_LIMIT_EXCEEDED", message)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        operation, fragments = self._operation()
        if operation is None:  # fail closed: nothing runs that was not checked
            raise GraphQLError("no operation to run: check operationName", extensions={"code": "BAD_REQUEST"})
        await self._check(operation, fragments)
        yield
        result = self.execution_context.result
        if result is not None and isinstance(result.data, dict):
            schema = self.execution_context.schema._schema
            self.actual = actual_cost(schema, operation, fragments, result.data)

    def get_results(self) -> dict[str, Any]:
        return {"cost": {"requested": self.requested, "actual": self.actual, "maximum": self.config.max_cost}}

    def _operation(self) -> tuple[OperationDefinitionNode | None, dict[str, FragmentDefinitionNode]]:
        document = self.execution_context.graphql_document
        if document is None:
            return None, {}
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        return get_operation_ast(document, self.execution_context.operation_name), fragments

    async def _check(
        self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
    ) -> None:
        principal = self._principal()
        roots = list(fields_of(operation.selection_set, fragments, frozenset()))
        try:
            authorize(principal, operation.operation.value, (f.name.value for f in roots))
        except AuthError as exc:
            raise GraphQLError(str(exc), extensions={"code": exc.code}) from None
        schema = self.execution_context.schema._schema
        variables = self._variables(schema, operation)
        if principal.subaccount_id is not None and variables is not None:
            _check_tenant(schema, operation, roots, variables, principal.subaccount_id)
        if variables is not None:  # else execution reports the variable errors before any resolver runs
            self.requested = requested_cost(schema, operation, fragments, variables, self.config.cost_model)
        if self.requested > self.config.max_cost:
            message = (
                f"the operation may cost {self.requested}, more than the maximum of {self.config.max_cost}"
            )
            raise LimitExceededError("MAX_COST_EXCEEDED", message)
        self._add_to_request_total()
        await self._charge(principal, self.requested)

    def _add_to_request_total(self) -> None:
        """Count this operation into its batch's total (only a JSON-array batch keeps one: see the view).

        A batch's operations share one context and, together, one cost maximum; checked and added with no
        await in between, so operations running concurrently cannot race past it.
        """
        context = self.execution_context.context
        before = getattr(context, "requested_cost", None)
        if not isinstance(before, int):
            return
        if before + self.requested > self.config.max_cost:
            message = (
                f"the operations of this batch may cost {before + self.requested} together, more than the "
                f"maximum of {self.config.max_cost}"
            )
            raise LimitExceededError("MAX_COST_EXCEEDED", message)
        context.requested_cost = before + self.requested

    def _principal(self) -> Principal:
        principal = getattr(self.execution_context.context, "principal", None)
        if not isinstance(principal, Principal):  # fail closed: no principal, no operation
            raise GraphQLError("missing credentials", extensions={"code": "UNAUTHENTICATED"})
        return principal

    def _variables(self, schema: GraphQLSchema, operation: OperationDefinitionNode) -> VariableValues | None:
        raw = self.execution_context.variables or {}
        coerced = get_variable_values(schema, operation.variable_definitions or (), raw, max_errors=1)
        return coerced if isinstance(coerced, VariableValues) else None

    async def _charge(self, principal: Principal, cost: int) -> None:
        if self.limiter is None:
            return
        decision = await self.limiter.charge(rate_key(principal), cost)
        if decision.allowed:
            return
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
            response.status_code = 429
            response.headers["retry-after"] = str(decision.retry_after)
        message = (
            f"rate limit exceeded: this credential's cost budget is spent; retry in {decision.retry_after}s"
        )
        raise GraphQLError(message, extensions={"code": "RATE_LIMITED", "retryAfter": decision.retry_after})


def _check_tenant(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    roots: list[FieldNode],
    variables: VariableValues,
    bound: str,
) -> None:
    root_type = schema.get_root_type(operation.operation)
    kind = operation.operation.value
    for node in roots:
        definition = root_type.fields.get(node.name.value) if root_type else None
        if definition is None:
            continue
        try:
            arguments = get_argument_values(definition, node, variables)
        except GraphQLError:
            continue  # invalid arguments fail in execution before the resolver runs
        named = [_subaccount_named(value) for value in _subaccount_values(arguments)]
        targets = _target_values(arguments, SUBACCOUNT_TARGETS.get((kind, node.name.value), ()))
        named += [_subaccount_named(value, node_ids=node.name.value in NODE_FIELDS) for value in targets]
        if any(subaccount not in (None, bound) for subaccount in named):
            raise GraphQLError("subaccount not found", extensions={"code": "NOT_FOUND"})


def _subaccount_named(value: str, *, node_ids: bool = False) -> str | None:
    """The upstream subaccount id `value` names, read by the very function its resolver reads it with.

    None when it names no subaccount (a node id of another type) or cannot be read: the resolver then
    raises the same InvalidIdError from the same function before any upstream call, so nothing is fetched.
    """
    try:
        if not node_ids:
            return upstream_id_of(value, "Subaccount")
        type_name, upstream_id = node_id(value)
    except InvalidIdError:
        return None
    return upstream_id if type_name == "Subaccount" else None


def _target_values(arguments: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    value: Any = arguments
    for step in path:
        value = value.get(step) if isinstance(value, dict) else getattr(value, step, None)
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _subaccount_values(value: Any) -> Iterator[str]:
    """Every value of an argument or input field named like a subaccount id, at any depth."""
    items: list[tuple[str, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    elif isinstance(value, list):
        items = [("", item) for item in value]
    else:
        return
    for name, item in items:
        if name in SUBACCOUNT_ARGUMENT_NAMES and isinstance(item, str):
            yield item
        else:
            yield from _subaccount_values(item)
