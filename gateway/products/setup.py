"""Build the product-platform client from the gateway's settings (once, in the app's lifespan).

- `product_platform_url` set: that platform, with the `product_platform_*` OAuth2 client credentials.
- unset, gateway on its embedded sandbox: the sandbox's own `/product-api`, reached in-process through the
  same HTTP client, with a built-in client id (the embedded sandbox accepts any), so a newcomer can try
  `offsetProductBatch` without configuring anything.
- unset otherwise: None, and the product mutations answer `PRODUCT_PLATFORM_NOT_CONFIGURED`.
"""

from __future__ import annotations

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
    timeout = httpx.Timeout(settings.product_platform_timeout)
    if settings.product_platform_url is not None:
        base_url = settings.product_platform_url
        secret = settings.product_platform_client_secret
        tokens = TokenSource(
            http,
            token_url=settings.product_platform_token_url or f"{base_url}/oauth/token",
            client_id=settings.product_platform_client_id or "",
            client_secret=secret.get_secret_value() if secret is not None else "",
            audience=settings.product_platform_audience,
            timeout=timeout,
        )
        return ProductPlatformClient(http, base_url=base_url, tokens=tokens, timeout=timeout)
    if embedded_sandbox_url is None:
        return None
    base_url = f"{embedded_sandbox_url.rstrip('/')}/product-api"
    tokens = TokenSource(
        http,
        token_url=f"{base_url}/oauth/token",
        client_id=EMBEDDED_PRODUCT_CLIENT_ID,
        client_secret=_EMBEDDED_PRODUCT_CLIENT_SECRET,
        timeout=timeout,
    )
    return ProductPlatformClient(http, base_url=base_url, tokens=tokens, timeout=timeout)
