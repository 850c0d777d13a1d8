"""The GraphiQL page, with its JS/CSS served locally from ``/graphiql/static`` so it works offline.

GraphiQL normally loads the schema with an introspection query. With trusted documents on, that query is
not in the manifest and is refused, so the page is then given the schema itself (an introspection result
embedded in the page, built from the schema at start-up): docs and autocompletion work, and only the
manifest's operations run. GraphiQL is off by default in that mode (`Settings.graphiql_enabled`).

`scripts/vendor-graphiql` installs the pinned npm packages (``package.json``/``package-lock.json``) and
copies the four browser files into ``gateway/static/graphiql/``. When that folder is missing (a plain
``pip install`` without the vendoring step) the page loads the very same files from unpkg instead, pinned
by Subresource Integrity hashes, so a browser with internet access still gets a working GraphiQL.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strawberry
from graphql import build_schema, introspection_from_schema
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
STATIC_PATH = "/graphiql/static"


@dataclass(frozen=True)
class Asset:
    """One browser file GraphiQL needs: its local name, CDN URL and SRI hash (identical bytes)."""

    name: str
    cdn_url: str
    integrity: str


ASSETS = (
    Asset(
        "react.production.min.js",
        "https://unpkg.com/react@18.3.1/umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    Asset(
        "react-dom.production.min.js",
        "https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    Asset(
        "graphiql.min.js",
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    Asset(
        "graphiql.min.css",
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
)

EXAMPLE_QUERY = """\
# Welcome to the offsets gateway. Press the run button (or Ctrl-Enter) to run this query.
# The Docs pane on the left lists every query and mutation.
{
  portfolios {
    id
    name
  }
}
"""

TRUSTED_EXAMPLE_QUERY = """\
# This gateway runs only the operations in its trusted documents manifest:
# paste one of them here. The Docs pane on the left describes the whole schema.
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" {css}>
<style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL...</div>
{scripts}
<script>
  const wsScheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({{
    url: window.location.origin + window.location.pathname,
    // Subscriptions run over graphql-transport-ws on the same path (graphql-ws is bundled in GraphiQL);
    // GraphiQL sends the headers editor's headers (an Authorization) as the connection_init payload.
    subscriptionUrl: wsScheme + "//" + window.location.host + window.location.pathname,
    headers: {{ Accept: "application/graphql-response+json, application/json" }},
  }});
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {{
      fetcher: fetcher,
      defaultQuery: {example},
      schema: {schema},
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }}),
  );
</script>
</body>
</html>
"""


def assets_vendored(directory: Path = ASSETS_DIR) -> bool:
    """True when every GraphiQL asset is present locally."""
    return all((directory / asset.name).is_file() for asset in ASSETS)


def _source(asset: Asset, local: bool) -> str:
    if local:
        return f"{STATIC_PATH}/{asset.name}"
    return asset.cdn_url


def _attributes(asset: Asset, local: bool, attribute: str) -> str:
    url = html.escape(_source(asset, local), quote=True)
    if local:
        return f'{attribute}="{url}"'
    return f'{attribute}="{url}" integrity="{asset.integrity}" crossorigin="anonymous"'


def render_page(
    *, local: bool, schema: strawberry.Schema | None = None, title: str = "offsets-gateway GraphiQL"
) -> str:
    """The GraphiQL page, pointing at local assets or at the pinned CDN copies.

    schema: embed this schema in the page (for trusted-documents mode, where GraphiQL's introspection
        query would be refused); None lets GraphiQL introspect the gateway as usual.
    """
    scripts = "\n".join(
        f"<script {_attributes(asset, local, 'src')}></script>"
        for asset in ASSETS
        if asset.name.endswith(".js")
    )
    css = _attributes(ASSETS[-1], local, "href")
    example = _script_literal(EXAMPLE_QUERY if schema is None else TRUSTED_EXAMPLE_QUERY)
    embedded = _script_literal(_introspection(schema)) if schema is not None else "undefined"
    return _PAGE.format(title=html.escape(title), css=css, scripts=scripts, example=example, schema=embedded)


def _script_literal(value: Any) -> str:
    # JSON is valid JS; escaping "</" keeps the literal from closing the <script> element early.
    return json.dumps(value).replace("</", "<\\/")


def _introspection(schema: strawberry.Schema) -> dict[str, Any]:
    """The result of an introspection query on `schema`, which GraphiQL accepts as its `schema` prop."""
    return dict(introspection_from_schema(build_schema(schema.as_str())))


def static_mount(directory: Path = ASSETS_DIR) -> Mount:
    """The route serving the vendored assets under `STATIC_PATH`."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=directory), name="graphiql-static")
