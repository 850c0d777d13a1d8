"""Re-reading the clients file and the trusted-documents manifest on ``SIGHUP``, without a restart.

Each file is read and checked whole, then put in place with one assignment on the event loop, so every
request sees either the old file or the new one, never a mix. A file that fails to load leaves the one in
use untouched and logs one line naming its variable; the other file is still reloaded. Only files set at
start-up are re-read (``GATEWAY_*`` variables are not: a reload cannot switch authentication or
trusted-documents mode on or off).

The handler is a plain `signal.signal` handler that hands the work to the event loop: uvicorn installs its
own handlers for SIGINT/SIGTERM only, so without this SIGHUP's default action would stop the process.
Signals belong to the main thread; an app served from another thread (tests' in-process servers) installs
nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from gateway.preflight import ConfigError, load_clients, load_trusted_documents
from gateway.security.wiring import Security

logger = logging.getLogger(__name__)


def reload_files(security: Security) -> None:
    """Re-read the configured files into the running security layer, each one whole or not at all."""
    _reload_clients(security)
    _reload_trusted_documents(security)


def _reload_clients(security: Security) -> None:
    if security.settings.clients_file is None:
        return
    try:
        clients = load_clients(security.settings)
    except ConfigError as exc:
        _keep(exc)
        return
    if clients is not None:
        security.authenticator.use_clients(clients)
        logger.info("reload: %d client token(s) from GATEWAY_CLIENTS_FILE", len(clients))


def _reload_trusted_documents(security: Security) -> None:
    if security.settings.trusted_documents_file is None or security.queries.trusted is None:
        return
    try:
        trusted = load_trusted_documents(security.settings)
    except ConfigError as exc:
        _keep(exc)
        return
    if trusted is not None:
        security.queries.trusted = trusted
        logger.info("reload: %d trusted document(s) from GATEWAY_TRUSTED_DOCUMENTS_FILE", len(trusted))


def _keep(error: ConfigError) -> None:
    for problem in error.problems:
        logger.error("reload: %s; keeping the file in use", problem)


@contextmanager
def reload_on_sighup(security: Security) -> Iterator[None]:
    """While open (the app's lifespan), SIGHUP runs `reload_files` on the running event loop."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        yield  # only the main thread may set signal handlers; Windows has no SIGHUP
        return
    loop = asyncio.get_running_loop()

    def on_sighup(signum: int, frame: FrameType | None) -> None:
        # A signal handler may run between any two bytecodes: the loop does the work at a safe point.
        loop.call_soon_threadsafe(reload_files, security)

    previous = signal.signal(signal.SIGHUP, on_sighup)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous if previous is not None else signal.SIG_DFL)
