"""Persisted operations: Apollo's automatic persisted queries (APQ) and a trusted-documents allow-list.

APQ (https://www.apollographql.com/docs/apollo-server/performance/apq): a client first sends only
``extensions.persistedQuery = {version: 1, sha256Hash}``; on a miss the gateway answers the error
``PersistedQueryNotFound`` and the client resends hash and query, which the gateway stores (after checking
the hash, so nobody can plant a different document under a known hash). Later requests - GET included, so
CDNs can cache them - carry the hash alone.

Trusted documents: the gateway loads a manifest of the operations its first-party clients may run and
refuses every other document, whether sent by hash or in full.

With Redis unreachable (`gateway.redis_breaker`), a hash-only request is answered
``PERSISTED_QUERY_NOT_FOUND`` (clients then resend hash and document, which is served) and storing a
document is skipped: the request itself still runs. Redis errors never reach the caller.

Both work by rewriting the HTTP request (adding ``query``) before strawberry's view reads it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import orjson
import redis.asyncio as redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config_files import load_failure
from gateway.redis_breaker import RedisBreaker, RedisUnavailableError
from gateway.security.responses import send_error

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
NOT_TRUSTED = "PERSISTED_QUERY_NOT_IN_LIST"
BAD_REQUEST = "BAD_REQUEST"


class TrustedDocumentsError(ValueError):
    """The trusted-documents manifest is missing or malformed (a start-up or reload error)."""


class PersistedQueryError(Exception):
    """A persisted-query request the gateway refuses; `status` and `code` go to the client."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def sha256_hex(document: str) -> str:
    """The APQ hash of a document: hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(document.encode()).hexdigest()


class QueryStore(Protocol):
    """Where APQ documents are kept."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, document: str) -> None: ...

    async def close(self) -> None: ...


class MemoryQueryStore:
    """A bounded LRU store for one process."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries

    async def get(self, digest: str) -> str | None:
        document = self._entries.get(digest)
        if document is not None:
            self._entries.move_to_end(digest)
        return document

    async def put(self, digest: str, document: str) -> None:
        self._entries[digest] = document
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()


class RedisQueryStore:
    """A store shared by every replica through Redis; entries expire after `ttl` seconds unused.

    While Redis is down (`breaker`), `get` finds nothing and `put` stores nothing.
    """

    def __init__(self, client: redis.Redis, ttl: int, *, breaker: RedisBreaker | None = None) -> None:
        self._redis, self._ttl = client, ttl
        self._breaker = breaker or RedisBreaker()

    async def get(self, digest: str) -> str | None:
        try:
            value = await self._breaker.call(lambda: self._redis.getex(f"apq:{digest}", ex=self._ttl))
        except RedisUnavailableError:
            return None
        return value.decode() if isinstance(value, bytes) else None

    async def put(self, digest: str, document: str) -> None:
        # Unstored, the request still runs; the client sends the document again next time.
        with contextlib.suppress(RedisUnavailableError):
            await self._breaker.call(
                lambda: self._redis.set(f"apq:{digest}", document.encode(), ex=self._ttl)
            )

    async def close(self) -> None:
        pass  # the client is shared and closed by its owner


class TrustedDocuments:
    """The allow-list: hash -> document."""

    def __init__(self, documents: dict[str, str]) -> None:
        for digest, document in documents.items():
            if sha256_hex(document) != digest.lower():
                raise ValueError(f"trusted document {digest[:12]}... does not match its hash")
        self._documents = {digest.lower(): document for digest, document in documents.items()}

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, digest: str) -> str | None:
        """The document with this hash, if it is trusted."""
        return self._documents.get(digest.lower())

    @classmethod
    def load(cls, path: Path) -> TrustedDocuments:
        """Read a manifest: ``{hash: document}`` or Apollo's persisted query manifest format.

        TrustedDocumentsError, in one line without the path, when the file cannot be used.
        """
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("operations"), list):
                return cls({op["id"]: op["body"] for op in data["operations"]})
            if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
                return cls(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TrustedDocumentsError(f"cannot load trusted documents: {load_failure(exc)}") from None
        raise TrustedDocumentsError(
            "not a trusted documents manifest: expected {hash: document} or {operations: [{id, body}]}"
        )


class PersistedQueries:
    """Resolves a GraphQL request payload's document from the APQ store or the trusted list."""

    def __init__(self, *, store: QueryStore | None, trusted: TrustedDocuments | None) -> None:
        self.store, self.trusted = store, trusted

    async def resolve(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with its ``query`` filled in; PersistedQueryError when it cannot be."""
        digest = _requested_hash(payload)
        query = payload.get("query")
        if self.trusted is not None:
            return {**payload, "query": self._trusted(digest, query)}
        if digest is None:
            return payload
        if self.store is None:
            raise PersistedQueryError(NOT_SUPPORTED, "PersistedQueryNotSupported", status=200)
        return {**payload, "query": await self._automatic(digest, query)}

    def _trusted(self, digest: str | None, query: Any) -> str:
        if digest is None and isinstance(query, str):
            digest = sha256_hex(query)
        document = self.trusted.get(digest) if self.trusted and digest else None
        if document is None or (isinstance(query, str) and query != document):
            raise PersistedQueryError(NOT_TRUSTED, "this operation is not in the trusted documents list")
        return document

    async def _automatic(self, digest: str, query: Any) -> str:
        assert self.store is not None
        if isinstance(query, str):
            if sha256_hex(query) != digest:
                raise PersistedQueryError(BAD_REQUEST, "provided sha256Hash does not match the query")
            await self.store.put(digest, query)
            return query
        document = await self.store.get(digest)
        if document is None:
            # Apollo clients look for this exact message, answered with 200, to resend the full query.
            raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound", status=200)
        return document


def _requested_hash(payload: dict[str, Any]) -> str | None:
    extensions = payload.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(BAD_REQUEST, "persistedQuery must be {version: 1, sha256Hash: <hex>}")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64:
        raise PersistedQueryError(BAD_REQUEST, "persistedQuery.sha256Hash must be 64 hex characters")
    return digest.lower()


class PersistedQueryMiddleware:
    """ASGI middleware applying `PersistedQueries` to GET query strings and JSON POST bodies."""

    def __init__(self, app: ASGIApp, queries: PersistedQueries, *, paths: frozenset[str]) -> None:
        self.app, self.queries, self.paths = app, queries, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        try:
            if scope["method"] == "GET":
                scope = await self._rewrite_get(scope)
            elif scope["method"] == "POST" and _is_json(scope):
                scope, receive = await self._rewrite_post(scope, receive)
        except PersistedQueryError as exc:
            await send_error(send, exc.status, exc.code, str(exc))
            return
        await self.app(scope, receive, send)

    async def _rewrite_get(self, scope: Scope) -> Scope:
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "extensions" not in params and (self.queries.trusted is None or "query" not in params):
            return scope
        extensions = _json_or_none(params.get("extensions"))
        if "extensions" in params and not isinstance(extensions, dict):
            raise PersistedQueryError(BAD_REQUEST, "the `extensions` parameter must be a JSON object")
        payload: dict[str, Any] = {"query": params.get("query"), "extensions": extensions}
        resolved = await self.queries.resolve({k: v for k, v in payload.items() if v is not None})
        if not isinstance(resolved.get("query"), str):
            return scope  # no persisted query asked for: the view reads the request as it is
        params["query"] = resolved["query"]
        params.pop("extensions", None)
        return {**scope, "query_string": urlencode(params).encode()}

    async def _rewrite_post(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        body = await _read_body(receive)
        payload = _json_or_none(body)
        if (payload is not None and not isinstance(payload, dict | list)) or body.strip() == b"null":
            # strawberry expects an object or a batch (an array) here: anything else would fail inside it.
            raise PersistedQueryError(BAD_REQUEST, "the request body must be a JSON object or array")
        if isinstance(payload, dict | list):
            resolved = await self._resolve(payload)
            if resolved is not payload:
                body = orjson.dumps(resolved)
            elif _declares_length(scope, len(body)):  # nearly every request: the body goes on as it came
                return scope, _replay(body, receive)
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": headers}, _replay(body, receive)

    async def _resolve(self, payload: dict[str, Any] | list[Any]) -> dict[str, Any] | list[Any]:
        if isinstance(payload, dict):
            return await self.queries.resolve(payload)
        # A batch: each operation object resolved alone; one that cannot be refuses the whole batch.
        items = [await self.queries.resolve(item) if isinstance(item, dict) else item for item in payload]
        return payload if all(a is b for a, b in zip(items, payload, strict=True)) else items


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False


def _declares_length(scope: Scope, length: int) -> bool:
    """Whether the request's one ``Content-Length`` header says `length` (so it need not be rewritten)."""
    declared = [value for name, value in scope["headers"] if name == b"content-length"]
    return declared == [b"%d" % length]


def _json_or_none(raw: str | bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:  # after the body, wait for the real disconnect like an untouched request would
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
