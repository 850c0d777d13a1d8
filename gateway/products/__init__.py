"""The product platform (seed 000): its OAuth2 client, record models, order mapping and safe recording.

An optional second upstream: a SiGREEN-style product-footprint platform where suppliers evidence the offsets
bought for a product's production batches (`POST /products/{productId}/offsetting`). Configured by the
`product_platform_*` settings; in embedded-sandbox mode it is the sandbox's own `/product-api`.
"""

from gateway.products._tokens import TokenSource
from gateway.products.client import ProductPlatformClient
from gateway.products.models import BatchRecord, Money, ProjectRecord, Visibility

__all__ = ["BatchRecord", "Money", "ProductPlatformClient", "ProjectRecord", "TokenSource", "Visibility"]
