"""Proctoring's part gate (``exam.checkin.PartGate``): a part of a proctored exam starts only while
the server receives the candidate's picture and sound, and its recording opens with it (the oral
part's recording is its answer)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from exam.checkin import PartStart
from exam.models import AttemptPart
from itembank.blueprints import PartKind
from proctoring import recordings
from proctoring.service import context_of, policy_for_registration, require_live_media


class ProctoredParts:
    """The part gate proctoring gives the exam (wired in ``web.app.create_app``)."""

    async def before_part(self, session: AsyncSession, start: PartStart) -> None:
        """Refuse while the camera and microphone do not reach the server (proctored schemes)."""
        await require_live_media(session, await context_of(session, start.registration.id))

    async def part_started(
        self, session: AsyncSession, start: PartStart, attempt_part: AttemptPart
    ) -> None:
        """Open the part's recording; the oral part's recording is its answer."""
        if not (await policy_for_registration(session, start.registration)).enabled:
            return
        await recordings.prepare_recording(
            session,
            part=attempt_part,
            is_answer=start.part.kind == PartKind.ORAL,
            now=attempt_part.started_at,
        )
