"""One-line reasons for the gateway's own files (clients, trusted documents) failing to load.

A reason names what is wrong, never the file's path or content: the line goes to stderr and the logs, and
the content may be sensitive (token hashes, subaccount ids, documents).
"""

from __future__ import annotations

from pydantic import ValidationError


def load_failure(exc: Exception) -> str:
    """Why a file could not be loaded, in one line without its path or any value it holds."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__  # str(exc) would add the path
    if isinstance(exc, ValidationError):
        return _validation_failure(exc)
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _validation_failure(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "top level"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {str(first['msg']).removeprefix('Value error, ')}{more}"
