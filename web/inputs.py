"""The door: text, numbers and JSON are checked here before any service sees them.

Text that is not valid Unicode (a lone surrogate such as ``"\\ud800"`` is valid JSON but no
character), NUL and other control characters, numbers a browser cannot even represent, and JSON
nested deeper than any request of ours would be are refused with a 4xx and a message a person
understands. Past the door every string can be stored, hashed for a receipt and sent back.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from vakt.db import MAX_ROW_ID
from vakt.errors import VaktError
from vakt.i18n import LazyText, _l
from vakt.text import UNSTORABLE_TEXT, unstorable_text
from vakt.validation import error_messages

MAX_JSON_DEPTH = 32
"""No request of Vakt's nests deeper; a deeper document is an attack on the parser."""
MAX_SAFE_INTEGER = 2**53 - 1
"""The largest whole number JavaScript represents exactly; no number of ours is larger."""


Model = TypeVar("Model", bound=BaseModel)


class BadInput(VaktError):
    """Input that is not text, a number or JSON we can take."""

    status_code = 400


def check_text(value: str, field: str | None = None) -> str:
    """``value`` when it is valid text; else a 400 naming the field."""
    if unstorable_text(value):
        raise BadInput(UNSTORABLE_TEXT, field=field)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _check_json(value: Any, depth: int = 0, where: str = "") -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadInput(_l("The request body is nested too deeply."))
    if isinstance(value, str):
        check_text(value, field=where or None)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise BadInput(
                _l("The number {number} is too large."),
                field=where or None,
                number=str(value) if len(str(value)) <= 30 else str(value)[:27] + "…",
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(
                _l("The request body contains a number that is not finite."), field=where or None
            )
    elif isinstance(value, list):
        for index, element in enumerate(value):
            _check_json(element, depth + 1, f"{where}.{index}" if where else str(index))
    elif isinstance(value, dict):
        for key, element in value.items():
            check_text(key, field=where or None)
            _check_json(element, depth + 1, f"{where}.{key}" if where else key)


async def json_body(request: Request) -> Any:
    """The request's JSON body (``{}`` when empty), checked: valid text only, finite numbers no
    larger than a browser can represent, nesting no deeper than ``MAX_JSON_DEPTH``."""
    raw = await request.body()
    try:
        value = json.loads(raw or b"{}", parse_constant=_refuse_constant)
    except RecursionError:
        raise BadInput(_l("The request body is nested too deeply.")) from None
    except (ValueError, UnicodeDecodeError):
        raise BadInput(_l("The request body is not valid JSON.")) from None
    _check_json(value)
    return value


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadInput(_l("The request body must be a JSON object."))
    return body


async def json_model(request: Request, model: type[Model]) -> Model:
    """The request's JSON body as ``model``; a 422 naming the field in the reader's words."""
    body = await json_body(request)
    try:
        return model.model_validate(body)
    except ValidationError as error:
        messages = error_messages(error)
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise VaktError(
            _l("The request is not valid: {problem}"),
            field=where or None,
            status_code=422,
            details=list(messages[1:]),
            problem=messages[0],
        ) from None


def check_request_text(request: Request) -> None:
    """Refuse a path or query string holding control characters or broken Unicode (``%00``
    would reach the database as a NUL, which PostgreSQL cannot store)."""
    for key, value in request.query_params.multi_items():
        check_text(key)
        check_text(value, field=key)
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, field=name)


def form_id(form: Any, name: str, refusal: LazyText) -> int:
    """A row id chosen in a form (a select's value): a whole number no larger than any id can
    be, else a 400 with ``refusal`` at the field."""
    value = form.get(name)
    if (
        not isinstance(value, str)
        or not value.isdigit()
        or len(value) > len(str(MAX_ROW_ID))
        or int(value) > MAX_ROW_ID
    ):
        raise VaktError(refusal, field=name)
    return int(value)
