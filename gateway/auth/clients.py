"""Opaque client tokens listed in a clients file (JSON or TOML), stored as SHA-256 hashes.

File shape (JSON shown; TOML uses ``[[clients]]`` tables with the same keys)::

    {"clients": [{"name": "shop-frontend", "token_sha256": "<64 hex>", "scopes": ["read"],
                  "subaccount_id": "sub_123"}]}

Only the hash is stored, so the file itself is not a secret worth stealing; a presented token is hashed and
compared against every entry in constant time, so timing does not reveal how close a guess came.

Bindings fail closed: ``subaccount_id`` is either left out (an unbound client, which sees every subaccount)
or a subaccount's upstream id; a blank, ``null``, non-string or otherwise malformed value refuses the whole
file, as do two entries with one name (names key rate-limit budgets and idempotency namespaces) or one token.
Errors are one line naming the entry (index and name), never a token hash or another value of the file;
`gateway.preflight` puts ``GATEWAY_CLIENTS_FILE`` in front.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.auth.errors import ClientsFileError
from gateway.auth.principal import ALL_SCOPES, Principal
from gateway.config_files import load_failure
from gateway.ids import UPSTREAM_ID_HELP, is_upstream_id


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token, as stored in the clients file."""
    return hashlib.sha256(token.encode()).hexdigest()


class ClientEntry(BaseModel):
    """One client of the gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    token_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    scopes: frozenset[str]
    subaccount_id: str | None = None

    @field_validator("subaccount_id", mode="before")
    @classmethod
    def _binding(cls, value: object) -> object:
        # Runs only when the key is present: absent means unbound, anything present must be a real binding.
        if not isinstance(value, str) or not is_upstream_id(value):
            blank = value is None or (isinstance(value, str) and not value.strip())
            problem = "is blank" if blank else "is not a subaccount id"
            raise ValueError(
                f"{problem}: give the subaccount's upstream id ({UPSTREAM_ID_HELP}), "
                "or leave the key out for an unbound client"
            )
        return value

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: frozenset[str]) -> frozenset[str]:
        unknown = scopes - ALL_SCOPES
        if unknown:
            raise ValueError(f"unknown scopes: {sorted(unknown)}")
        return scopes

    def principal(self) -> Principal:
        """The principal this entry authenticates as."""
        return Principal(name=f"client:{self.name}", scopes=self.scopes, subaccount_id=self.subaccount_id)


class ClientsFile(BaseModel):
    """The whole clients file."""

    model_config = ConfigDict(extra="forbid")

    clients: list[ClientEntry]

    @model_validator(mode="after")
    def _distinct(self) -> ClientsFile:
        for what, values in (
            ("name", [c.name for c in self.clients]),
            ("token", [c.token_sha256.lower() for c in self.clients]),
        ):
            for index, value in enumerate(values):
                if value in values[:index]:
                    raise ValueError(f"clients[{index}] has the {what} of an earlier entry")
        return self


class ClientRegistry:
    """Looks up a presented token among the configured clients."""

    def __init__(self, entries: list[ClientEntry]) -> None:
        self._entries = [(bytes.fromhex(e.token_sha256), e) for e in entries]

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of `token`, or None when no client has it."""
        digest = hashlib.sha256(token.encode()).digest()
        found: ClientEntry | None = None
        # No early exit: every entry is compared so the time taken does not depend on which one matched.
        for stored, entry in self._entries:
            if hmac.compare_digest(stored, digest):
                found = entry
        return found.principal() if found else None

    @classmethod
    def load(cls, path: Path) -> ClientRegistry:
        """Read a clients file; `.toml` files are TOML, anything else JSON."""
        data: object = None
        try:
            raw = path.read_bytes()
            data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
            return cls(ClientsFile.model_validate(data).clients)
        except ValidationError as exc:
            raise ClientsFileError(f"cannot load clients file: {_problems(exc, data)}") from None
        except (OSError, ValueError) as exc:
            # The reason names fields, never the path, token hashes or other values.
            raise ClientsFileError(f"cannot load clients file: {load_failure(exc)}") from None


def _problems(exc: ValidationError, data: object) -> str:
    """The validation errors on one line, each at its entry (index and name); no value of the file."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{_location(error['loc'], data)}: {message}" if error["loc"] else message)
    return "; ".join(problems)


def _location(loc: tuple[int | str, ...], data: object) -> str:
    """E.g. ``clients[1] ('acme-web').subaccount_id``: an entry's name is a label, not a secret."""
    if len(loc) < 2 or loc[0] != "clients" or not isinstance(loc[1], int):
        return ".".join(str(part) for part in loc)
    entries = data.get("clients") if isinstance(data, dict) else None
    entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    label = f"clients[{loc[1]}]" + (f" ({name!r})" if isinstance(name, str) and name else "")
    return ".".join([label, *(str(part) for part in loc[2:])])
