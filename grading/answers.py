"""The oral answers' video: proctoring keeps the recordings; grading asks for the one that is a
part's answer (``OralRecordings``, filled by ``proctoring.media.OralAnswerRecordings``, wired in
``web.app.create_app``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from grading.independence import Examiners
from grading.models import ScriptKind
from grading.queries import visible_script
from itembank.files import read_file
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l


class AnswerVideo(Protocol):
    """A recorded answer: its media type and the files of its pieces, in order."""

    @property
    def mime_type(self) -> str:
        """The recording's media type (WebM)."""
        ...

    @property
    def files(self) -> list[Path]:
        """The files of its pieces, in order."""
        ...


class OralRecordings(Protocol):
    """Where the oral answers' recordings are."""

    async def answer_of(
        self, session: AsyncSession, attempt_part_id: int, item_version_id: int, question_id: str
    ) -> AnswerVideo | None:
        """The recording of the answer to this question of the part (the WebM file its start
        mark is in, through its end mark), or None when there is none."""
        ...


async def oral_answer(
    session: AsyncSession,
    *,
    code: str,
    viewer: User,
    examiners: Examiners,
    recordings: OralRecordings,
    now: datetime,
) -> AnswerVideo:
    """The oral answer's video of a script, for its grader or lead grader (the fetch is
    audited, by script: the video's address names no candidate or recording)."""
    script = await visible_script(session, code=code, viewer=viewer, examiners=examiners)
    if script.kind != ScriptKind.ORAL:
        raise NotFound(_l("This script has no video."))
    video = await recordings.answer_of(
        session, script.attempt_part_id, script.item_version_id, script.question_id
    )
    if video is None:
        raise NotFound(_l("No recording of this answer was received."))
    await audit.record(
        session,
        actor_id=viewer.id,
        action="grading.oral_answer_viewed",
        entity_type="grading_script",
        entity_id=script.id,
        after={"at": now.isoformat()},
    )
    return video


async def case_file(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    viewer: User,
    examiners: Examiners,
    now: datetime,
) -> tuple[str, bytes]:
    """A file of the script's item (a case's documents) as (media type, content), for its grader
    or lead grader; the fetch is audited by script and file name."""
    script = await visible_script(session, code=code, viewer=viewer, examiners=examiners)
    media_type, content = await read_file(session, script.item_version_id, name)
    await audit.record(
        session,
        actor_id=viewer.id,
        action="grading.file_viewed",
        entity_type="grading_script",
        entity_id=script.id,
        after={"file": name, "at": now.isoformat()},
    )
    return media_type, content
