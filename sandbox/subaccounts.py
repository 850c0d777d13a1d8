"""Subaccounts of an account: create, replace, delete, and their rehosted logos.

A subaccount is stored as ``{"account_id", "subaccount": <the public Subaccount JSON>}``, owned by the
account. Logos are "rehosted" at ``https://customer-assets.cnaught.com/subaccount-logos/{id}/{digest}.{ext}``
(no query string, so the URL is stable between reads).

Choices where the reference says [?]:
- The sandbox is offline, so a logo URL is not downloaded: any absolute http(s) URL is accepted; its file
  extension (png, jpg/jpeg, webp, svg) picks the rehosted extension, else ``png``.
- Uploads must be non-empty and at most 5 MB; the bytes are not kept, only their digest.
- Deleting a subaccount that has orders is 400 ``invalid-parameters`` (the documented type set has no
  conflict type); a deleted subaccount is 404 and no longer valid as ``X-Subaccount-Id``.
- An unknown ``default_portfolio_id`` is 400 ``invalid-parameters`` ("Invalid default portfolio ID").
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from sandbox import clock, ids
from sandbox.accounts import SUBACCOUNTS
from sandbox.bodies import CreateSubaccountBody, SubaccountBody
from sandbox.catalogue import Catalogue
from sandbox.orders import ORDERS
from sandbox.problems import invalid_field, not_found
from sandbox.store import Document, Store

ASSETS_URL = "https://customer-assets.cnaught.com/subaccount-logos/{id}/{digest}.{ext}"
LOGO_CONTENT_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg"}
URL_EXTENSIONS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp", "svg": "svg"}
MAX_LOGO_BYTES = 5 * 1024 * 1024


class Subaccounts:
    """One account's subaccounts."""

    def __init__(self, store: Store, catalogue: Catalogue, account_id: str) -> None:
        self._store = store
        self._catalogue = catalogue
        self._account_id = account_id

    def newest_first(self) -> list[dict[str, Any]]:
        """The public subaccounts in list order."""
        return [d["subaccount"] for d in reversed(self._store.owned(SUBACCOUNTS, self._account_id))]

    def find(self, subaccount_id: str) -> Document:
        """The account's subaccount, or 404."""
        doc = self._store.get(SUBACCOUNTS, subaccount_id)
        if doc is None or doc["account_id"] != self._account_id:
            raise not_found("subaccount")
        return doc

    def create(self, body: CreateSubaccountBody) -> Document:
        """A new subaccount."""
        self._check_portfolio(body.default_portfolio_id)
        subaccount_id = ids.subaccount_id()
        public = {
            "id": subaccount_id,
            "created_on": clock.format_ts(clock.now()),
            "name": body.name,
            "email": body.email,
            "default_portfolio_id": body.default_portfolio_id,
            "logo_url": None if body.logo_url is None else logo_from_url(subaccount_id, body.logo_url),
        }
        doc = {"account_id": self._account_id, "subaccount": public}
        self._save(doc)
        return doc

    def replace(self, doc: Document, body: SubaccountBody) -> Document:
        """Full replacement of the editable fields (the logo is kept)."""
        self._check_portfolio(body.default_portfolio_id)
        doc["subaccount"].update(
            name=body.name, email=body.email, default_portfolio_id=body.default_portfolio_id
        )
        self._save(doc)
        return doc

    def set_logo(self, doc: Document, logo_url: str | None) -> Document:
        """Replace or remove the rehosted logo."""
        doc["subaccount"]["logo_url"] = logo_url
        self._save(doc)
        return doc

    def delete(self, doc: Document) -> None:
        """Delete a subaccount without orders (400 otherwise)."""
        subaccount_id = doc["subaccount"]["id"]
        if any(
            o["order"]["subaccount_id"] == subaccount_id for o in self._store.owned(ORDERS, self._account_id)
        ):
            raise invalid_field("id", "A subaccount that has orders cannot be deleted.")
        self._store.delete(SUBACCOUNTS, subaccount_id, owner=self._account_id)

    def _check_portfolio(self, portfolio_id: str | None) -> None:
        if portfolio_id is not None and not self._catalogue.has_portfolio(portfolio_id):
            raise invalid_field("default_portfolio_id", "Invalid default portfolio ID")

    def _save(self, doc: Document) -> None:
        self._store.put(SUBACCOUNTS, doc["subaccount"]["id"], doc, owner=self._account_id)


def logo_from_url(subaccount_id: str, url: str) -> str:
    """The rehosted URL for a logo given by URL (400 unless absolute http(s))."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_field("logo_url", "The logo URL must be an absolute, public http(s) URL.")
    extension = URL_EXTENSIONS.get(parts.path.rsplit(".", 1)[-1].lower(), "png")
    return _assets_url(subaccount_id, url.encode(), extension)


def logo_from_upload(subaccount_id: str, content: bytes, content_type: str) -> str:
    """The rehosted URL for uploaded image bytes (400 on a wrong type, empty or oversized body)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in LOGO_CONTENT_TYPES:
        allowed = ", ".join(LOGO_CONTENT_TYPES)
        raise invalid_field("Content-Type", f"The Content-Type header must be one of: {allowed}.")
    if not content:
        raise invalid_field("body", "The image must not be empty.")
    if len(content) > MAX_LOGO_BYTES:
        raise invalid_field("body", "The image must be at most 5 MB.")
    return _assets_url(subaccount_id, content, LOGO_CONTENT_TYPES[media_type])


def _assets_url(subaccount_id: str, source: bytes, extension: str) -> str:
    digest = hashlib.sha256(source).hexdigest()[:16]
    return ASSETS_URL.format(id=subaccount_id, digest=digest, ext=extension)
