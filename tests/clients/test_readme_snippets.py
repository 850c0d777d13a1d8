"""The README's client set-ups are the files the client tests import, character for character."""

from __future__ import annotations

import re

import pytest

from tests.clients.conftest import JS_DIR, REPO

README = (REPO / "README.md").read_text()


@pytest.mark.parametrize(
    "name", ["apollo.mjs", "urql.mjs", "relay.mjs", "apollo-subscriptions.mjs", "urql-subscriptions.mjs"]
)
def test_readme_shows_the_tested_set_up(name: str) -> None:
    snippet = (JS_DIR / "readme" / name).read_text()
    assert f"```js\n{snippet}```\n" in README


def test_readme_shows_the_compiled_relay_fragment() -> None:
    operations = (JS_DIR / "relay" / "operations.js").read_text()
    fragment = re.search(r"graphql`\n  fragment OrdersList_query.*?\n`;\n", operations, re.S)
    assert fragment is not None
    assert f"```js\n{fragment.group(0)}```\n" in README
