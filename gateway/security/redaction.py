"""Log redaction: secrets (API keys, bearer tokens, JWTs, credential query parameters) out of log lines.

The gateway never logs secrets on purpose; this is the second line of defence against a library, an access
log line or a future log line that formats a header, a URL or an exception carrying one. Two pieces:

- `RedactingFilter` (on handlers) rewrites a record's message *and each of its arguments* in place, keeping
  their shape: formatters that read ``record.args`` (uvicorn's access formatter unpacks five of them) keep
  working. It also redacts tracebacks and the request-id tag.
- `RedactingFormatter` wraps a formatter and redacts the finished line, so whatever a formatter adds
  after the filters ran (the ``[request <id>]`` tag, fields of its own) is covered too. The CLI's log
  config uses it for every handler (`gateway.cli.log_config`).

Percent-encoded secrets (``/graphql/sk%5Flive...``) are found by decoding the text first; a line that held
one is logged decoded, with control characters escaped. In uvicorn's access log lines the query string is
dropped altogether (``GET /graphql?[query omitted]``), and so is the path of a 404 (``[path not found]``):
a caller's opaque token there would otherwise be logged (uvicorn logs paths decoded), and GET operations
and their variables are not the access log's business.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "[REDACTED]"

_PATTERNS = (
    re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"),  # JWTs: base64url JSON header, payload, signature
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),  # Authorization header values
    re.compile(r"\bsk_[A-Za-z0-9_]{6,}"),  # offsets API keys
    re.compile(r"(?i)(://[^:/@\s]+:)[^@/\s]+(@)"),  # passwords in URLs (redis://user:pass@host)
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{6,}"),  # HTTP Basic credentials
    # Credential-named query or form parameters: ?api_key=..., &token=..., access_token=...
    re.compile(r"(?i)\b((?:api[_-]?key|apikey|key|token|access[_-]?token|secret|password|auth)=)[^&\s\"']+"),
)
#: Lower-case fragments one of which every pattern's match contains: clean text costs a few substring scans.
_TRIGGERS = ("eyj", "bearer", "sk_", "://", "basic", "key=", "token=", "secret=", "password=", "auth=")
#: Argument types whose text cannot hold a secret (bool is an int).
_PLAIN_VALUES = (int, float, type(None))
#: The logger of uvicorn's access log lines.
ACCESS_LOGGER = "uvicorn.access"
#: Times percent-decoding is repeated (a double-encoded secret is decoded twice).
_DECODE_ROUNDS = 3


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, arguments, traceback and request tag with secrets replaced."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by ``[REDACTED]`` (percent-encoded ones included)."""
        redacted = self._redact_plain(text)
        if "%" not in text and "+" not in text:
            return redacted
        decoded = _decoded(redacted)
        clean = self._redact_plain(decoded)
        # Decoded only when decoding revealed a secret: other lines keep their exact form.
        return _escaped(clean) if clean != decoded else redacted

    def looks_secret(self, text: str) -> bool:
        """True when `text` holds something `redact` would replace."""
        return self.redact(text) != text

    def _redact_plain(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        lowered = text.lower()
        if not any(trigger in lowered for trigger in _TRIGGERS):
            return text
        for pattern in _PATTERNS:
            text = pattern.sub(_replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if record.name == ACCESS_LOGGER:
            record.args = _access_args(record.args)
        record.args = self._redacted_args(record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        tag = getattr(record, "request_tag", None)
        if isinstance(tag, str):
            record.request_tag = self.redact(tag)
        return True

    def _redacted_args(self, args: Any) -> Any:
        # The same shape back (tuple or mapping): formatters may unpack the arguments themselves.
        if isinstance(args, tuple):
            return tuple(self._redacted_arg(arg) for arg in args)
        if isinstance(args, dict):
            return {key: self._redacted_arg(value) for key, value in args.items()}
        return args

    def _redacted_arg(self, arg: Any) -> Any:
        if isinstance(arg, str):
            return self.redact(arg)
        if not isinstance(arg, _PLAIN_VALUES):
            try:
                text = str(arg)
            except Exception:
                return arg  # formatting the record will say so; a filter must not raise
            redacted = self.redact(text)
            return redacted if redacted != text else arg  # e.g. an exception whose message holds a key
        return arg


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts the whole line (also what the formatter itself added)."""

    def __init__(self, inner: logging.Formatter, redactor: RedactingFilter) -> None:
        super().__init__()
        self.inner, self.redactor = inner, redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))


def _access_args(args: Any) -> Any:
    """uvicorn's access record arguments (client, method, path with query, version, status), trimmed."""
    if not (isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str)):
        return args
    path = args[2]
    if args[4] == 404:
        path = "[path not found]"  # not a route of ours: any text the caller chose (uvicorn logs it decoded)
    elif "?" in path:
        path = path.partition("?")[0] + "?[query omitted]"
    return (*args[:2], path, *args[3:])


def _decoded(text: str) -> str:
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote_plus(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    return text


def _escaped(text: str) -> str:
    """Control characters (a decoded %0A could forge a log line) as escapes."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode() for ch in text
    )


def _replacement(match: re.Match[str]) -> str:
    if match.re.groups == 2:
        return f"{match.group(1)}{REDACTED}{match.group(2)}"
    if match.re.groups == 1:
        return f"{match.group(1)}{REDACTED}"
    return REDACTED


#: Loggers whose handlers get the app's redactor: root, uvicorn's error log and its access log.
LOGGERS = ("", "uvicorn", "uvicorn.error", ACCESS_LOGGER)


def install_redaction(redactor: RedactingFilter, loggers: Iterable[str] = LOGGERS) -> None:
    """Attach `redactor` to every handler of the given loggers (root by default)."""
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if redactor not in handler.filters:
                handler.addFilter(redactor)


def remove_redaction(redactor: RedactingFilter, loggers: Iterable[str] = LOGGERS) -> None:
    """Detach a filter installed by `install_redaction` (at shutdown)."""
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            handler.removeFilter(redactor)
