"""Command line: ``offsets-gateway sandbox`` / ``python -m sandbox`` serves the sandbox with uvicorn."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from sandbox.app import create_app
from sandbox.config import SandboxConfig

logger = logging.getLogger("sandbox")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the gateway's ``sandbox`` subcommand help)."""
    parser = argparse.ArgumentParser(
        prog="offsets-gateway sandbox",
        description="Serve an offline copy of the offsets REST API (CNaught v1) at http://HOST:PORT/v1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept this Bearer key (repeatable); none = any non-empty key gets its own account",
    )
    parser.add_argument(
        "--db", type=Path, help="SQLite file keeping state across restarts (default: in memory)"
    )
    parser.add_argument(
        "--fulfilment-delay",
        type=float,
        metavar="S",
        help="seconds before placed orders are fulfilled (default 3)",
    )
    parser.add_argument("--enable-admin", action="store_true", help="serve the fault/request-log admin API")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """`SandboxConfig` from ``SANDBOX_*`` variables, overridden by the flags that were given."""
    overrides: dict[str, object] = {}
    if args.api_keys:
        overrides["api_keys"] = args.api_keys
    if args.db is not None:
        overrides["db"] = args.db
    if args.fulfilment_delay is not None:
        overrides["fulfilment_delay"] = args.fulfilment_delay
    if args.enable_admin:
        overrides["enable_admin"] = True
    overrides.setdefault("public_base_url", f"http://{args.host}:{args.port}")
    return SandboxConfig(**overrides)  # type: ignore[arg-type]


def _config_problem(error: ValidationError | SettingsError) -> str:
    """A bad flag or ``SANDBOX_*`` value as one line per field, without pydantic's traceback."""
    if isinstance(error, SettingsError):
        return str(error)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_url=False))


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, then serve until interrupted; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValidationError, SettingsError) as error:
        parser.error(_config_problem(error))  # exits 2 with usage, like any other bad flag
    logging.basicConfig(level=logging.INFO)
    logger.info(
        "offsets sandbox at http://%s:%d/v1 (state: %s; no real credits are bought)",
        args.host,
        args.port,
        config.db or "in memory",
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")
    return 0
