"""Holds: scripts grading must not hand out yet. A proctor who could not confirm a candidate's
identity holds the registration until it is confirmed; that is proctoring's knowledge, told to
grading through ``IdentityHolds`` (filled by ``proctoring.review.ProctoringIdentityHolds``, wired
in ``web.app.create_app``)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class IdentityHolds(Protocol):
    """Registrations held from grading because the candidate's identity is not confirmed."""

    async def held_registrations(self, session: AsyncSession) -> set[int]:
        """The registrations held now."""
        ...


class NoHolds:
    """Holds where no other domain holds anything (grading on its own, in tests)."""

    async def held_registrations(self, session: AsyncSession) -> set[int]:
        """Nothing is held."""
        return set()


NO_HOLDS = NoHolds()
"""The default of the claim functions: nothing held."""
