"""The auth package's error tree.

AuthError
 ├── AuthenticationError   missing or bad credentials (HTTP 401, code UNAUTHENTICATED)
 ├── PermissionDeniedError the credential lacks a scope (code FORBIDDEN)
 └── ClientsFileError      the clients file cannot be read (a start-up error, never seen by callers)
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of every auth failure; `code` is the GraphQL error code."""

    code = "UNAUTHENTICATED"
    http_status = 401


class AuthenticationError(AuthError):
    """No credential, or one that the gateway does not accept."""


class PermissionDeniedError(AuthError):
    """The credential is valid but may not do what the operation asks."""

    code = "FORBIDDEN"
    http_status = 403


class ClientsFileError(AuthError):
    """The clients file is missing or malformed."""

    code = "INTERNAL_SERVER_ERROR"
    http_status = 500
