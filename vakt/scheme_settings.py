"""Storing a scheme's settings row (proctoring policy, grading rules, quality bounds): one row a
scheme with its settings as JSON, who changed them and when; every change audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from vakt import audit


class SchemeSettingsRow(Protocol):
    """A table of per-scheme settings, keyed by the scheme's id."""

    scheme_id: Any
    settings: Any
    updated_at: Any
    updated_by_id: Any

    def __init__(self, **values: Any) -> None: ...


async def store_scheme_settings(
    session: AsyncSession,
    model: type[SchemeSettingsRow],
    *,
    scheme_id: int,
    settings: dict[str, Any],
    actor_id: int,
    now: datetime,
    action: str,
) -> None:
    """Write ``settings`` as the scheme's row of ``model`` (made on first use) and audit the
    change as ``action`` with the settings before and after."""
    row = await session.get(model, scheme_id)
    before = row.settings if row else None
    if row is None:
        session.add(
            model(scheme_id=scheme_id, settings=settings, updated_at=now, updated_by_id=actor_id)
        )
    else:
        row.settings, row.updated_at, row.updated_by_id = settings, now, actor_id
    await audit.record(
        session,
        actor_id=actor_id,
        action=action,
        entity_type="scheme",
        entity_id=scheme_id,
        before=before,
        after=settings,
    )
