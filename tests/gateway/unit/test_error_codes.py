"""The one catalogue of error codes (`gateway/error_codes.py`) against the code and the README."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gateway import error_codes
from gateway.auth import errors as auth_errors
from gateway.backend import errors as backend_errors
from gateway.error_codes import ERROR_CODES, ErrorCode, markdown_tables, upstream_error
from gateway.schema.errors import UserErrorCode, user_errors_from

ROOT = Path(__file__).resolve().parents[3]
CODE = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+")  # UPPER_SNAKE
WORD = re.compile(r"[A-Z][A-Z0-9_]{3,}")  # FORBIDDEN too
START, END = "<!-- error-codes:start -->", "<!-- error-codes:end -->"


def _readme_tables() -> str:
    text = (ROOT / "README.md").read_text()
    assert START in text and END in text, "README lost its error-code tables"
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def _code_literals(tree: ast.Module) -> set[str]:
    """Every UPPER_SNAKE string constant (codes look like that; other constants of that shape are only
    names in `__all__`), plus the one-word codes in code positions: `code = "X"`, `{"code": "X"}`,
    `SomeError("X", ...)`, members of a `...Code` enum."""
    exported = {
        id(element)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
        for element in ast.walk(node.value)
    }
    found: set[str] = set()

    def add(node: ast.AST | None, pattern: re.Pattern[str] = WORD) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.fullmatch(node.value):
            found.add(node.value)

    for node in ast.walk(tree):
        if id(node) not in exported:
            add(node, CODE)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code":
                    add(value)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "code" for t in node.targets):
            add(node.value)
        elif isinstance(node, ast.ClassDef) and node.name.endswith("Code"):
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    add(statement.value)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.endswith("Error") or name in {"send_error", "FieldProblem", "_report"}:
                for argument in node.args:
                    add(argument)
    return found


def test_every_code_literal_in_the_gateway_is_catalogued() -> None:
    sources = sorted((ROOT / "gateway").rglob("*.py"))
    used = {code: path for path in sources for code in _code_literals(ast.parse(path.read_text()))}
    assert len(used) >= 25  # the scan really finds the codes
    unknown = {
        code: str(path.relative_to(ROOT)) for code, path in used.items() if code not in ErrorCode.__members__
    }
    assert unknown == {}, "add these codes to gateway/error_codes.py (and the README, see markdown_tables)"


def test_the_scan_sees_codes_in_each_position() -> None:
    source = """
__all__ = ["NOT_A_CODE"]
class XError(Exception):
    code = "SINGLE"
class ThingCode:
    TWO = "TWO_X"
raise GraphQLError("m", extensions={"code": "THREE"})
raise LimitExceededError("FOUR", "m")
NAMED = "FIVE_CODE"
"""
    assert _code_literals(ast.parse(source)) == {"SINGLE", "TWO_X", "THREE", "FOUR", "FIVE_CODE"}


def test_error_classes_carry_catalogued_codes() -> None:
    codes = [
        getattr(obj, "code", None)
        for module in (backend_errors, auth_errors)
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Exception)
    ]
    assert len(codes) > 15
    assert set(codes) <= set(ErrorCode)


def test_user_error_codes_are_the_catalogues_user_error_codes() -> None:
    in_user_errors = {code.value for code, info in ERROR_CODES.items() if "userErrors" in info.where}
    assert {code.value for code in UserErrorCode} == in_user_errors


def test_every_code_has_an_entry() -> None:
    assert set(ERROR_CODES) == set(ErrorCode)


def test_the_readme_tables_are_the_catalogue() -> None:
    assert _readme_tables() == markdown_tables()


def _readme_upstream_rows() -> list[list[str]]:
    table = _readme_tables().split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in table]


@pytest.mark.parametrize("row", _readme_upstream_rows(), ids=lambda row: f"{row[0]}-{row[1]}")
def test_each_readme_upstream_row_is_what_the_code_does(row: list[str]) -> None:
    status, problem_type, code, user_code, _http = row
    slug = "-" if problem_type == "any other" else problem_type
    error = upstream_error(slug, int(status))
    assert error.code == code.split("`")[0]  # the 401 row names the pass-through code first
    user_errors = user_errors_from(error)
    assert (user_errors[0].code.value if user_errors else "- (in `errors`)") == user_code.strip("`")


def test_the_upstream_table_covers_every_status_error_class() -> None:
    mapped = {type(upstream_error(slug, status)) for slug, status in error_codes.UPSTREAM_MAPPING}
    status_classes = {
        obj
        for obj in vars(backend_errors).values()
        if isinstance(obj, type) and issubclass(obj, backend_errors.BackendStatusError)
    }
    assert status_classes - {backend_errors.BackendStatusError} <= mapped
