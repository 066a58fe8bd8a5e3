"""What the certification pages share (no routes here): an id chosen in the query string."""

from __future__ import annotations

from starlette.requests import Request

from vakt.db import MAX_ROW_ID
from vakt.errors import VaktError
from vakt.i18n import _l


def query_id(request: Request, name: str) -> int | None:
    """A row id from the query string (None when empty), or a 400 for anything else."""
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12 or int(value) > MAX_ROW_ID:
        raise VaktError(_l("Choose from the list."), field=name)
    return int(value)
