"""Certification schemes: the root of a bank, its blueprints and its exams."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import Scheme
from vakt import audit
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l


async def create_scheme(
    session: AsyncSession, *, code: str, name: str, description: str = "", actor_id: int | None
) -> Scheme:
    """Create a certification scheme."""
    code = code.strip()
    if not code or len(code) > 40 or not name.strip():
        raise VaktError(_l("A scheme needs a code (at most 40 characters) and a name."))
    if await session.scalar(select(Scheme.id).where(Scheme.code == code)):
        raise Conflict(_l("A scheme with the code {code} exists already."), code=code)
    scheme = Scheme(code=code, name=name.strip(), description=description)
    session.add(scheme)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="scheme.create",
        entity_type="scheme",
        entity_id=scheme.id,
        after={"code": code, "name": scheme.name},
    )
    return scheme


async def get_scheme(session: AsyncSession, scheme_id: int) -> Scheme:
    """A scheme by id, or a 404."""
    scheme = await session.get(Scheme, scheme_id)
    if scheme is None:
        raise NotFound(_l("No such scheme."))
    return scheme


async def find_scheme(session: AsyncSession, scheme_id: int) -> Scheme | None:
    """A scheme by id, or None (for a form that asks the user to choose one again)."""
    return await session.get(Scheme, scheme_id)


async def get_scheme_by_code(session: AsyncSession, code: str) -> Scheme:
    """A scheme by code, or a 404."""
    scheme = await session.scalar(select(Scheme).where(Scheme.code == code))
    if scheme is None:
        raise NotFound(_l("There is no scheme with the code {code}."), code=code)
    return scheme


async def list_schemes(session: AsyncSession) -> Sequence[Scheme]:
    """All schemes by code."""
    return (await session.scalars(select(Scheme).order_by(Scheme.code))).all()
