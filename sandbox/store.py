"""The sandbox's state: JSON documents in named collections, in memory, optionally mirrored to SQLite.

Both backends share one interface (`Backend`): the in-memory backend keeps nothing beyond the process, the
SQLite backend (``--db FILE``) writes every change through to one table ``documents(collection, key, owner,
doc)`` and hands everything back at start-up. Reads always come from memory, so the hot path
(``GET /v1/orders/{id}``) is a dict lookup whatever the backend.

Documents may carry an owner (the account id); `Store.owned` lists a collection's documents of one owner in
creation order, which is the order lists are paginated in (reversed: newest first).

SQLite writes are synchronous on the event loop: each is one small autocommitted statement in WAL mode,
well under a millisecond, which is cheaper than a thread hop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson

Document = dict[str, Any]


class Backend(Protocol):
    """Where documents live beyond the process."""

    def load(self) -> Iterator[tuple[str, str, str | None, Document]]:
        """Every stored ``(collection, key, owner, document)``, in creation order."""
        ...

    def put(self, collection: str, key: str, owner: str | None, doc: Document) -> None:
        """Insert or replace one document (a replaced one keeps its place in creation order)."""
        ...

    def delete(self, collection: str, key: str) -> None:
        """Remove one document, if present."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


class MemoryBackend:
    """Keeps nothing: state lives and dies with the process."""

    def load(self) -> Iterator[tuple[str, str, str | None, Document]]:
        return iter(())

    def put(self, collection: str, key: str, owner: str | None, doc: Document) -> None:
        pass

    def delete(self, collection: str, key: str) -> None:
        pass

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    owner TEXT,
    doc BLOB NOT NULL,
    PRIMARY KEY (collection, key)
)
"""


class SqliteBackend:
    """Writes every change through to a SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        # Opened on demand, so an app whose lifespan closed the file can start again.
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        return self._conn

    def load(self) -> Iterator[tuple[str, str, str | None, Document]]:
        rows = self._db.execute("SELECT collection, key, owner, doc FROM documents ORDER BY rowid")
        for collection, key, owner, doc in rows:
            yield collection, key, owner, orjson.loads(doc)

    def put(self, collection: str, key: str, owner: str | None, doc: Document) -> None:
        # ON CONFLICT ... UPDATE keeps the rowid, hence the document's place in creation order.
        self._db.execute(
            "INSERT INTO documents (collection, key, owner, doc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (collection, key) DO UPDATE SET owner = excluded.owner, doc = excluded.doc",
            (collection, key, owner, orjson.dumps(doc)),
        )

    def delete(self, collection: str, key: str) -> None:
        self._db.execute("DELETE FROM documents WHERE collection = ? AND key = ?", (collection, key))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Store:
    """Collections of documents, read from memory and written through to a `Backend`."""

    def __init__(self, backend: Backend | None = None) -> None:
        self._backend: Backend = backend or MemoryBackend()
        self._docs: dict[str, dict[str, Document]] = {}
        self._owned: dict[tuple[str, str], dict[str, None]] = {}
        for collection, key, owner, doc in self._backend.load():
            self._remember(collection, key, owner, doc)

    @classmethod
    def open(cls, db: Path | None) -> Store:
        """A store in memory (`db` None) or backed by the SQLite file `db`."""
        return cls(SqliteBackend(db) if db is not None else MemoryBackend())

    def _remember(self, collection: str, key: str, owner: str | None, doc: Document) -> None:
        self._docs.setdefault(collection, {})[key] = doc
        if owner is not None:
            self._owned.setdefault((collection, owner), {})[key] = None

    def get(self, collection: str, key: str) -> Document | None:
        """The document, or None."""
        return self._docs.get(collection, {}).get(key)

    def put(self, collection: str, key: str, doc: Document, *, owner: str | None = None) -> None:
        """Insert or replace a document (call again after changing a document in place)."""
        self._remember(collection, key, owner, doc)
        self._backend.put(collection, key, owner, doc)

    def delete(self, collection: str, key: str, *, owner: str | None = None) -> None:
        """Remove a document."""
        self._docs.get(collection, {}).pop(key, None)
        if owner is not None:
            self._owned.get((collection, owner), {}).pop(key, None)
        self._backend.delete(collection, key)

    def owned(self, collection: str, owner: str) -> list[Document]:
        """`owner`'s documents of `collection`, oldest first."""
        docs = self._docs.get(collection, {})
        return [docs[key] for key in self._owned.get((collection, owner), {})]

    def values(self, collection: str) -> list[Document]:
        """Every document of `collection`, oldest first."""
        return list(self._docs.get(collection, {}).values())

    def close(self) -> None:
        """Close the backend."""
        self._backend.close()
