"""Build the product-platform client from the gateway's settings (once, in the app's lifespan).

- `product_platform_url` set: that platform, with the `product_platform_*` OAuth2 client credentials.
- unset, gateway on its embedded sandbox: the sandbox's own `/product-api`, reached in-process through the
  same HTTP client, with a built-in client id (the embedded sandbox accepts any), so a newcomer can try
  `offsetProductBatch` without configuring anything.
- unset otherwise: None, and the product mutations answer `PRODUCT_PLATFORM_NOT_CONFIGURED`.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.config import Settings
from gateway.products._tokens import TokenSource
from gateway.products.client import ProductPlatformClient

__all__ = ["EMBEDDED_PRODUCT_CLIENT_ID", "build_product_client"]

#: The OAuth2 client the gateway presents to its embedded sandbox's product platform.
EMBEDDED_PRODUCT_CLIENT_ID = "embedded-gateway"
_EMBEDDED_PRODUCT_CLIENT_SECRET = "embedded-sandbox-only"  # not a secret: the embedded sandbox accepts any


def build_product_client(
    settings: Settings, http: httpx.AsyncClient, *, embedded_sandbox_url: str | None = None
) -> ProductPlatformClient | None:
    """The product-platform client the settings call for, or None when none is configured.

    embedded_sandbox_url: the in-process sandbox's base URL (e.g. `http://embedded-sandbox`) when the
    gateway runs on it; used only when no product platform URL is configured.
    """
    platform = _configured(settings) or _embedded(embedded_sandbox_url)
    if platform is None:
        return None
    timeout = httpx.Timeout(settings.product_platform_timeout)
    tokens = TokenSource(
        http,
        token_url=platform.token_url,
        client_id=platform.client_id,
        client_secret=platform.client_secret,
        audience=platform.audience,
        timeout=timeout,
    )
    return ProductPlatformClient(http, base_url=platform.base_url, tokens=tokens, timeout=timeout)


@dataclass(frozen=True)
class _Platform:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    audience: str | None = None


def _configured(settings: Settings) -> _Platform | None:
    base_url = settings.product_platform_url
    if base_url is None:
        return None
    secret = settings.product_platform_client_secret
    return _Platform(
        base_url=base_url,
        token_url=settings.product_platform_token_url or f"{base_url}/oauth/token",
        client_id=settings.product_platform_client_id or "",
        client_secret=secret.get_secret_value() if secret is not None else "",
        audience=settings.product_platform_audience,
    )


def _embedded(sandbox_url: str | None) -> _Platform | None:
    if sandbox_url is None:
        return None
    base_url = f"{sandbox_url.rstrip('/')}/product-api"
    return _Platform(
        base_url=base_url,
        token_url=f"{base_url}/oauth/token",
        client_id=EMBEDDED_PRODUCT_CLIENT_ID,
        client_secret=_EMBEDDED_PRODUCT_CLIENT_SECRET,
    )
