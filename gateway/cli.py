"""The ``offsets-gateway`` command: serve, check-config, sandbox, export-schema and --version."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.telemetry.logs import configure_logging, log_config

__all__ = ["log_config", "main", "schema_sdl"]
from gateway.preflight import ConfigError, ConfigProblem, Preflight, checked_settings, report

DEFAULT_SCHEMA_PATH = Path("schema.graphql")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sandbox"]:
        # The sandbox owns its options; hand it the rest of the command line untouched.
        from sandbox.cli import main as sandbox_main

        return sandbox_main(args[1:])
    parsed = _parser().parse_args(args)
    status: int = parsed.handler(parsed)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offsets-gateway", description="GraphQL gateway for the offsets REST API."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    _add_check_config(commands)
    commands.add_parser(
        "sandbox",
        help="run the offline sandbox of the REST API (see `offsets-gateway sandbox --help`)",
        add_help=False,
    )
    _add_export_schema(commands)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the gateway (GATEWAY_* environment variables configure it)",
        description="Serve the gateway with uvicorn. Without GATEWAY_UPSTREAM_URL it runs on the embedded "
        "sandbox: no real credits are bought.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (default: GATEWAY_LOG_LEVEL or info)",
    )
    serve.set_defaults(handler=_serve)


def _add_check_config(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check-config",
        help="validate the configuration and print what it resolves to, without serving",
        description="Run the checks `serve` runs before it listens (GATEWAY_* variables, the clients "
        "file, the trusted documents) and print the resolved mode. Exit 2 on a bad configuration.",
    )
    check.set_defaults(handler=_check_config)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("offsets-gateway")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _add_export_schema(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export-schema",
        help="write the GraphQL schema (SDL) to a file",
        description="Write the schema in SDL. With --check, write nothing and exit 1 (showing a diff) "
        "when the file differs from the code.",
    )
    export.add_argument("--path", type=Path, default=DEFAULT_SCHEMA_PATH, help="default: schema.graphql")
    export.add_argument("--check", action="store_true", help="only compare the file with the code")
    export.set_defaults(handler=_export_schema)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    checked = _checked_or_none(_serve_problems(args))
    if checked is None:
        return 2
    settings = checked[0]
    log_level = args.log_level or settings.log_level
    configure_logging(log_level, settings.log_format)  # for this process; uvicorn repeats it per worker
    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "workers": _workers(args.workers, settings),
        "log_level": log_level,
        "log_config": log_config(log_level, settings.log_format),
        # uvicorn[standard] brings uvloop and httptools; "auto" picks them when importable (measured against
        # granian 2.8 in bench/README.md, "What each change bought": uvicorn kept).
        "loop": "auto",
        "http": "auto",
        # The gateway writes its own access log (gateway.telemetry.access) and log_config silences uvicorn's;
        # off here, uvicorn also skips formatting each request's client address and path for that logger.
        "access_log": False,
    }
    if options["workers"] > 1:
        uvicorn.run("gateway.app:create_app", **options)
        return 0
    # One process: a server that closes subscriptions with 1001 before it stops (gateway.subscriptions).
    from gateway.subscriptions.shutdown import GoingAwayServer

    server = GoingAwayServer(uvicorn.Config("gateway.app:create_app", **options))
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled, as uvicorn.run
        server.run()
    return 0 if server.started else 1


def _serve_problems(args: argparse.Namespace) -> list[ConfigProblem]:
    # Port 0 would make the OS pick a random port while the log names the one asked for.
    problems = []
    if not 1 <= args.port <= 65535:
        problems.append(ConfigProblem("--port", "must be between 1 and 65535"))
    if args.workers < 1:
        problems.append(ConfigProblem("--workers", "must be at least 1"))
    return problems


def _checked_or_none(problems: list[ConfigProblem] | None = None) -> tuple[Settings, Preflight] | None:
    """The settings, checked before any server starts: a bad setting is one line, not a traceback.

    Each line names the variable and what is wrong, never the value given (it may be a secret).
    """
    try:
        checked = checked_settings()
    except ConfigError as exc:
        report(ConfigError([*(problems or []), *exc.problems]))
        return None
    if problems:
        report(ConfigError(problems))
        return None
    return checked


def _check_config(args: argparse.Namespace) -> int:
    from gateway.describe import describe

    checked = _checked_or_none()
    if checked is None:
        return 2
    for line in describe(*checked):
        print(line)
    print("configuration OK")
    return 0


def _workers(requested: int, settings: Settings) -> int:
    if requested > 1 and settings.embedded_sandbox:
        # Each worker process would get its own in-memory sandbox, so an order placed through one worker
        # would be missing from the next request's worker.
        logging.getLogger(__name__).warning(
            "the embedded sandbox keeps its state in one process: ignoring --workers %d, using 1", requested
        )
        return 1
    return max(requested, 1)


def schema_sdl() -> str:
    """The SDL of the gateway's schema, as committed in ``schema.graphql``."""
    from strawberry.printer import print_schema

    from gateway.schema import build_schema

    return print_schema(build_schema()).rstrip("\n") + "\n"


def _export_schema(args: argparse.Namespace) -> int:
    sdl = schema_sdl()
    path: Path = args.path
    if not args.check:
        try:
            path.write_text(sdl, encoding="utf-8")
        except OSError as exc:
            print(f"offsets-gateway: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {path}")
        return 0
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if current == sdl:
        print(f"{path} is up to date")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), sdl.splitlines(keepends=True), f"{path} (committed)", "code"
    )
    sys.stdout.writelines(diff)
    print(f"\n{path} is out of date: run `offsets-gateway export-schema --path {path}`", file=sys.stderr)
    return 1
