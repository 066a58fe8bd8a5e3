"""Holds: scripts grading must not hand out yet. A proctor who could not confirm a candidate's
identity holds the registration until it is confirmed; that is proctoring's knowledge, told to
grading through ``IdentityHolds`` (filled by ``proctoring.review.ProctoringIdentityHolds``, wired
in ``web.app.create_app``). While held, the registration's scripts are neither claimed nor
reconciled, and its parts get no computed result; when the identity is confirmed
(``exam.events.IdentityConfirmed``) the parts whose scripts are final are settled."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class IdentityHolds(Protocol):
    """Registrations held from grading because the candidate's identity is not confirmed."""

    async def held_registrations(self, session: AsyncSession) -> set[int]:
        """The registrations held now."""
        ...

    async def held(self, session: AsyncSession, registration_id: int) -> bool:
        """True when the registration is held now."""
        ...


class NoHolds:
    """Holds where no other domain holds anything (grading on its own, in tests)."""

    async def held_registrations(self, session: AsyncSession) -> set[int]:
        """Nothing is held."""
        return set()

    async def held(self, session: AsyncSession, registration_id: int) -> bool:
        """Nothing is held."""
        return False


NO_HOLDS = NoHolds()
"""The default of the claim functions: nothing held."""
