"""Settings of the sandbox, read once by `create_app` (env prefix ``SANDBOX_``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SandboxConfig(BaseSettings):
    """Everything the sandbox can be told.

    - ``api_keys``: accepted Bearer keys, each its own account; empty = any non-empty key is accepted and
      gets its own isolated account (as the former official sandbox gave every user their own).
      ``SANDBOX_API_KEYS`` takes them comma-separated (``k1,k2``) or as a JSON list.
    - ``db``: SQLite file that keeps state across restarts; ``None`` = in memory.
    - ``fulfilment_delay``: seconds an order stays ``placed`` before it is matched to credits (0 = right
      after the response).
    - ``enable_admin``: serve the fault / request-log admin API under ``/_sandbox``.
    - ``callback_deadline``: seconds to keep retrying an order callback until it is answered with 200.
    - ``callback_backoff_initial`` / ``callback_backoff_max``: the retry backoff (doubling) between attempts.
    - ``public_base_url``: where the sandbox is reachable, for links it hands out about itself.
    - ``subaccounts_enabled``: ``False`` makes every subaccount call answer 403 ``forbidden``, as for an
      account that CNaught support has not provisioned for subaccounts.
    - ``product_client_id`` / ``product_client_secret``: the one OAuth2 client the product platform
      (``/product-api``, seed 000) accepts; unset = any non-empty id/secret pair is accepted.
    - ``product_token_lifetime``: seconds a product-platform access token lives (short = forced refreshes).
    """

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore")

    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    db: Path | None = None
    fulfilment_delay: float = Field(default=3.0, ge=0)
    enable_admin: bool = False
    callback_deadline: float = Field(default=86400.0, gt=0)
    callback_backoff_initial: float = Field(default=1.0, gt=0)
    callback_backoff_max: float = Field(default=300.0, gt=0)
    public_base_url: str = "http://127.0.0.1:8001"
    subaccounts_enabled: bool = True
    product_client_id: str | None = None
    product_client_secret: SecretStr | None = None
    product_token_lifetime: float = Field(default=3600.0, gt=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # Environment values arrive as one string; a JSON list is accepted too, for pydantic-settings' habit.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [key.strip() for key in text.split(",") if key.strip()]
        return value
