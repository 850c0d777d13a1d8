"""Fields that succeed pay only graphql-core's own cost: no schema extension of the app wraps every resolver.

A strawberry extension with a `resolve` hook runs on each of a query's fields (hundreds for the issue's
nested orders query); the gateway translates backend errors in its execution context instead.
"""

from __future__ import annotations

from pydantic import SecretStr
from starlette.routing import Route

from gateway.app import create_app
from gateway.config import Settings
from gateway.schema.errors import UpstreamErrorsExecutionContext
from gateway.schema.execution import FastFieldsExecutionContext
from gateway.security.settings import SecuritySettings
from gateway.view import GatewayGraphQL


def _view(settings: Settings) -> GatewayGraphQL:
    app = create_app(settings)
    route = next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    assert isinstance(route.endpoint, GatewayGraphQL)
    return route.endpoint


def test_no_extension_of_the_app_wraps_every_field_resolver() -> None:
    settings = Settings(
        upstream_url="http://upstream.invalid/v1",
        upstream_api_key=SecretStr("sk_test_overhead"),
        metrics=True,
        introspection=False,
        security=SecuritySettings(allow_unauthenticated=True, rate_limit_cost=10),
    )
    schema = _view(settings).schema
    extensions = [factory() for factory in schema.extensions]  # type: ignore[attr-defined]
    assert len(extensions) >= 6  # metrics, caches, masking, introspection off, limit rules, guard
    assert [type(e).__name__ for e in extensions if e._implements_resolve()] == []
    context_class = schema.execution_context_class  # type: ignore[attr-defined]
    assert context_class is FastFieldsExecutionContext
    assert issubclass(context_class, UpstreamErrorsExecutionContext)
