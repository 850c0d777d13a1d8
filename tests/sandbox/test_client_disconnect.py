"""A client that leaves before sending its whole body is not a sandbox failure: no traceback is logged."""

from __future__ import annotations

import logging
import socket
import time

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.servers import serve


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_body_cut_short_by_the_client_logs_no_traceback() -> None:
    app = create_app(SandboxConfig(fulfilment_delay=0))
    captured = _Records()
    uvicorn_error = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not propagate to the root
    with serve(app) as url:
        uvicorn_error.addHandler(captured)  # after start-up: uvicorn's logging config resets handlers
        try:
            _send_half_a_body(url)
            deadline = time.monotonic() + 10
            while app.state.request_log.count(route="POST /v1/orders") == 0:
                assert time.monotonic() < deadline, "the cut-short request never reached the sandbox"
                time.sleep(0.02)
            time.sleep(0.2)  # let the server finish with the connection
        finally:
            uvicorn_error.removeHandler(captured)
    assert [r.getMessage() for r in captured.records if r.exc_info] == []
    assert app.state.request_log.entries[-1].status != 500  # not counted as a sandbox failure either


def _send_half_a_body(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"amount_kg"'
        )
