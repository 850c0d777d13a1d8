"""Log set-up of a gateway process: one stderr handler, ``text`` or ``json`` lines, secrets redacted.

`log_config` is the one `logging.config.dictConfig` both ways of running the gateway apply:
``offsets-gateway serve`` hands it to uvicorn, and `gateway.app.create_app()` applies it when it is the
process's factory (``uvicorn --factory gateway.app:create_app``), so the two print the same lines - the
gateway's start-up lines included. Applying it again replaces the handlers, so nothing is printed twice.

- The handler's formatter redacts every finished line (`gateway.redaction.redacting_formatter`: configured
  secrets, bearer tokens, JWTs, ``sk_`` keys, URL passwords); its filters add the request id
  (`gateway.request_id.RequestIdFilter`) and the current trace and span ids (`TraceContextFilter`).
- ``json``: one object per line with ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
  ``request_id`` and ``trace_id`` (``null`` outside a request or without tracing), ``span_id``, the
  structured fields of the line (``record.fields``: the per-operation and access lines have them) and
  ``exception`` (a redacted traceback) when there is one.
- ``text``: uvicorn's format, with ``[request <id>]`` in front of lines logged while serving a request.
- uvicorn's own access log is silenced: `gateway.telemetry.access` writes one access line per request,
  with the request id and duration, instead.
"""

from __future__ import annotations

import copy
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

#: Loggers printed through the gateway's handler.
LOGGERS = ("gateway", "sandbox", "strawberry", "uvicorn", "uvicorn.error")
_RESERVED = frozenset(
    {"timestamp", "level", "logger", "message", "request_id", "trace_id", "span_id", "exception"}
)


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """The dictConfig for `level` (``info``...) and `log_format` (``text`` or ``json``)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["disable_existing_loggers"] = False
    config["filters"] = {
        "request_id": {"()": "gateway.request_id.RequestIdFilter"},
        "trace_context": {"()": "gateway.telemetry.logs.TraceContextFilter"},
    }
    default = config["formatters"]["default"]
    if log_format == "json":
        default = {"()": "gateway.telemetry.logs.JsonFormatter"}
    else:
        default["fmt"] = default["fmt"].replace("%(message)s", "%(request_tag)s%(message)s")
    # Every finished line is redacted (`gateway.redaction.redacting_formatter`), whatever filled it in.
    default["inner"] = default.pop("()")
    default["()"] = "gateway.redaction.redacting_formatter"
    config["formatters"] = {"default": default}
    config["handlers"] = {
        "default": {
            "formatter": "default",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            # On the handler, so it sees every logger's records.
            "filters": ["request_id", "trace_context"],
        },
    }
    loggers = {
        name: {"handlers": ["default"], "level": level.upper(), "propagate": False} for name in LOGGERS
    }
    # Replaced by gateway.access (request id, duration, no query string); off here so no line is doubled.
    loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    config["loggers"] = loggers
    return config


def configure_logging(level: str, log_format: str) -> None:
    """Apply `log_config` to this process (idempotent: handlers are replaced, never added twice)."""
    logging.config.dictConfig(log_config(level, log_format))


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex, or None) of the span current when the line was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for its keys)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update((k, v) for k, v in fields.items() if k not in _RESERVED)
        exception = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else None)
        if exception:
            entry["exception"] = exception
        return orjson.dumps(entry, default=str).decode()
