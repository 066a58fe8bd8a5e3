"""Who may do what in proctoring, each rule stated once: the routes admit these roles, and the
services that act for staff check them again (``exam.roles.require``).

- Candidates: their own profile photo, the check-in photo, live channel, events and recording
  chunks of their own registrations and parts (anyone else's is "not found", never "forbidden",
  so ids reveal nothing).
- Proctors: the overview, every candidate's identity checks, flags and recordings, still frames
  and photos (every fetch audited, ``proctoring.media``).
- Graders: nothing here; they see an oral answer's video through grading, by script.
- Administrators: a scheme's proctoring settings (audited); confirming or rejecting another's
  proposal of cheating (``proctoring.review``).
- The proctor review: proctors claim attempts, decide flags, clear an attempt or propose
  cheating, decide identity, pause a clock (``exam.pauses``) and write to candidates; a second
  proctor or an administrator confirms cheating, never the proposer.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, Registration
from exam.roles import CHEATING_DECIDERS
from vakt.accounts import Role, User
from vakt.errors import NotFound
from vakt.i18n import _l

REFUSED = _l("Your roles do not give access to this page.")
"""Why a service refuses someone whose roles do not allow it (the routes' own words)."""

CANDIDATES: Final = frozenset({Role.CANDIDATE})
"""Who takes proctored exams: their own photo, check-in, live channel, events and recordings."""
PROCTORS: Final = frozenset({Role.PROCTOR})
"""Who watches: the overview and every candidate's identity checks, flags and media."""
POLICY_EDITORS: Final = frozenset({Role.ADMINISTRATOR})
"""Who sets a scheme's proctoring policy."""
REVIEWERS: Final = frozenset({Role.PROCTOR})
"""Who reviews attempts: claims them, decides flags and identity, clears an attempt or proposes
cheating, and writes to candidates."""
CHEATING_CONFIRMERS: Final = CHEATING_DECIDERS
"""Who may confirm (or reject) another person's proposal of cheating: the attempt then ends
through ``exam.handin.terminate_for_cheating``, which admits the same roles."""
REVIEW_REFUSED = _l("Only proctors review candidates' proctoring.")
"""Why the review refuses anyone else."""


async def own_part(
    session: AsyncSession, part_id: int, candidate: User
) -> tuple[AttemptPart, Registration]:
    """A part of the candidate's own attempt, with its registration; anyone else's is a 404."""
    part = await session.get(AttemptPart, part_id)
    attempt = await session.get(Attempt, part.attempt_id) if part else None
    registration = await session.get(Registration, attempt.registration_id) if attempt else None
    if part is None or registration is None or registration.candidate_id != candidate.id:
        raise NotFound(_l("No such part."))
    return part, registration
