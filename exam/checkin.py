"""The identity check before an exam: the extension point proctoring fills.

The exam flow asks the configured ``IdentityCheck`` whether the candidate has been identified
for a registration, and sends the candidate to its page when not. Without one (no proctoring
configured) the step is skipped. A failed or doubtful match does not block by itself: the check
reports ``REFERRED`` and the candidate goes on while a proctor decides.
"""

from __future__ import annotations

import enum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Registration


class IdentityStatus(enum.StrEnum):
    """Where the identity check of one registration stands."""

    NOT_REQUIRED = "not_required"
    TO_DO = "to_do"
    PASSED = "passed"
    REFERRED = "referred"
    """Doubtful: the candidate may go on; a proctor decides afterwards."""

    @property
    def lets_candidate_start(self) -> bool:
        """True when the exam may start after this outcome."""
        return self is not IdentityStatus.TO_DO


class IdentityCheck(Protocol):
    """What proctoring provides to identify a candidate before the exam starts."""

    async def status(self, session: AsyncSession, registration: Registration) -> IdentityStatus:
        """The outcome so far for this registration."""
        ...

    def page_url(self, registration: Registration) -> str:
        """Where the candidate does the check (it sends them back to the exam when done)."""
        ...
