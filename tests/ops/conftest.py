"""Fixtures of the operations tests: the end-to-end sandbox and gateway factories, reused."""

from tests.gateway.e2e.conftest import gateway, sandbox, start_gateway, start_sandbox

__all__ = ["gateway", "sandbox", "start_gateway", "start_sandbox"]
