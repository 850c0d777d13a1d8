"""GraphQL multipart requests (file uploads): the form read and checked before its files are put in place.

The spec (https://github.com/jaydenseric/graphql-multipart-request-spec): an ``operations`` field holding
the request's JSON (an object, or a list for a batch) with ``null`` where files go, a ``map`` field holding
a JSON object from file part names to lists of dotted paths into ``operations``, then the file parts.
Everything a caller can get wrong here - no or a broken boundary, a part without a name, ``operations`` or
``map`` missing, sent as files, not JSON or of the wrong JSON type, a map naming a part that was not sent
or a path that leads nowhere - is a `RequestShapeError` with a message saying which, which the view
answers ``400 BAD_REQUEST``; it never reaches the generic 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from strawberry.file_uploads.utils import replace_placeholders_with_files


class RequestShapeError(ValueError):
    """A request body the gateway cannot read as a GraphQL request; the message goes to the caller."""


async def operations_from_form(
    get_form_data: Callable[[], Awaitable[Any]], parse_json: Callable[[str | bytes], Any]
) -> Any:
    """The ``operations`` JSON of a multipart request with each mapped file put at its paths."""
    form = await _read_form(get_form_data)
    fields, files = form.form, form.files
    operations = _json_field(fields, "operations", parse_json)
    if not isinstance(operations, dict | list):
        raise RequestShapeError("the multipart field `operations` must be a JSON object (or a list)")
    files_map = _json_field(fields, "map", parse_json, default="{}")
    _check_map(files_map, files)
    try:
        return replace_placeholders_with_files(operations, files_map, files)  # type: ignore[arg-type]
    except (KeyError, IndexError, ValueError, TypeError):
        message = "a path in the multipart field `map` does not lead to a value in `operations`"
        raise RequestShapeError(message) from None


async def _read_form(get_form_data: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await get_form_data()
    except StarletteHTTPException as exc:  # starlette's wrapping of its MultiPartException
        raise RequestShapeError(f"malformed multipart body: {exc.detail}") from None
    except (MultiPartException, ValueError, KeyError) as exc:
        raise RequestShapeError(f"malformed multipart body: {exc}") from None


def _json_field(
    fields: Mapping[str, Any], name: str, parse_json: Callable[[str | bytes], Any], default: str | None = None
) -> Any:
    value = fields.get(name, default)
    if value is None:
        raise RequestShapeError(f"the multipart body has no `{name}` field")
    if not isinstance(value, str | bytes):
        raise RequestShapeError(f"the multipart field `{name}` must be a plain field, not a file")
    try:
        return parse_json(value)
    except Exception:  # strawberry's parse_json raises its own 400; say which field it was
        raise RequestShapeError(f"the multipart field `{name}` is not valid JSON") from None


def _check_map(files_map: Any, files: Mapping[str, Any]) -> None:
    if not isinstance(files_map, dict):
        raise RequestShapeError("the multipart field `map` must be a JSON object of lists of paths")
    for part, paths in files_map.items():
        if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
            raise RequestShapeError(f"`map[{part[:64]!r}]` must be a list of paths (strings)")
        if part not in files:
            raise RequestShapeError(f"`map` names the file part {part[:64]!r}, which the body does not have")
