"""What the grading pages show, read in the domain. Everything a grader sees is keyed by the
script's code: no name, username, candidate number, e-mail, employer, photo, proctoring data,
sitting time or address of the candidate is read for them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import oral
from exam.models import Answer
from grading.claims import open_claims, queue_size
from grading.graders import conflicts_of
from grading.holds import NO_HOLDS, IdentityHolds
from grading.independence import Examiners
from grading.marking import Scale, own_marking
from grading.models import Marking, Reconciliation, Script, ScriptKind, ScriptStatus
from grading.reconcile import to_reconcile, waiting_for
from grading.scripts import open_question_of, script_by_code
from itembank.files import read_file
from itembank.schemas import EssayQuestion, GradingGuide
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l


@dataclass(frozen=True)
class ClaimRow:
    """A script the grader has claimed and not submitted."""

    code: str
    kind: ScriptKind
    title: str
    claimed_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class HistoryRow:
    """A script the grader has marked."""

    code: str
    kind: ScriptKind
    title: str
    submitted_at: datetime
    total: float
    max_points: float


@dataclass(frozen=True)
class GraderHome:
    """A grader's own queue, claims and history (nobody else's)."""

    waiting: int
    claims: list[ClaimRow]
    history: list[HistoryRow]
    to_reconcile: list[str]
    """Codes of scripts this grader may reconcile as a lead grader."""


async def _title(session: AsyncSession, script: Script) -> str:
    return (await open_question_of(session, script)).document.title


async def grader_home(
    session: AsyncSession, grader: User, examiners: Examiners, holds: IdentityHolds = NO_HOLDS
) -> GraderHome:
    """What the grader's own grading page shows (held scripts are neither counted as waiting nor
    offered for reconciliation)."""
    claims = [
        ClaimRow(
            script.code, script.kind, await _title(session, script), m.claimed_at, m.expires_at
        )
        for m, script in await open_claims(session, grader)
    ]
    rows = await session.execute(
        select(Marking, Script)
        .join(Script, Script.id == Marking.script_id)
        .where(Marking.grader_id == grader.id, Marking.submitted_at.is_not(None))
        .order_by(Marking.submitted_at.desc())
        .limit(200)
    )
    history = []
    for marking, script in rows:
        assert marking.submitted_at is not None and marking.total is not None
        history.append(
            HistoryRow(
                script.code,
                script.kind,
                await _title(session, script),
                marking.submitted_at,
                marking.total,
                script.max_points,
            )
        )
    return GraderHome(
        waiting=await queue_size(session, grader, examiners, holds),
        claims=claims,
        history=history,
        to_reconcile=[s.code for s in await waiting_for(session, grader, examiners, holds)],
    )


@dataclass(frozen=True)
class ScriptScreen:
    """A script as its grader (or a reconciling lead grader) sees it: the item as the candidate
    saw it, the grading guide, the answer; nothing about whose answer it is."""

    code: str
    kind: ScriptKind
    title: str
    stem_html: str
    """The case's scenario (or the item's stem)."""
    attachments: list[str]
    prompt_html: str
    points: float
    guide: GradingGuide
    maxima: list[float]
    answer: str
    word_count: int
    other_answers: list[tuple[str, str]] = field(default_factory=list)
    """For a case: the other open questions' prompts and the candidate's answers to them."""
    answer_start: float | None = None
    """An oral answer: where it starts in its video, in seconds (None: from the beginning)."""
    answer_end: float | None = None
    """An oral answer: where it ends in its video, in seconds (None: at the video's end)."""


def words_in(text: str) -> int:
    """How many words a written answer has (as the exam page counts them)."""
    return len(text.split())


async def _screen(session: AsyncSession, script: Script) -> ScriptScreen:
    question = await open_question_of(session, script)
    answers = {
        a.question_id: a.value
        for a in await session.scalars(
            select(Answer).where(
                Answer.attempt_part_id == script.attempt_part_id,
                Answer.item_version_id == script.item_version_id,
            )
        )
    }
    answer = answers.get(script.question_id)
    text = answer if isinstance(answer, str) else ""
    others = [
        (q.prompt_html, value if isinstance(value := answers.get(q.id), str) else "")
        for q in question.document.questions
        if isinstance(q, EssayQuestion) and q.id != script.question_id
    ]
    stretch = (
        oral.played_stretch(
            await oral.answer_take(
                session, script.attempt_part_id, script.item_version_id, script.question_id
            )
        )
        if script.kind == ScriptKind.ORAL
        else None
    )
    return ScriptScreen(
        code=script.code,
        kind=script.kind,
        title=question.document.title,
        stem_html=question.document.stem_html,
        attachments=list(question.document.attachments),
        prompt_html=question.question.prompt_html,
        points=script.max_points,
        guide=question.guide,
        maxima=Scale.of(question.guide, script.max_points).maxima,
        answer=text,
        word_count=words_in(text),
        other_answers=others,
        answer_start=stretch[0] if stretch else None,
        answer_end=stretch[1] if stretch else None,
    )


@dataclass(frozen=True)
class MarkingScreen:
    """The grading screen: the script and the grader's own marking."""

    script: ScriptScreen
    marking: Marking


async def marking_screen(session: AsyncSession, *, code: str, grader: User) -> MarkingScreen:
    """The grader's own claimed or submitted script; a 404 for any other."""
    marking, script = await own_marking(session, code, grader)
    return MarkingScreen(await _screen(session, script), marking)


@dataclass(frozen=True)
class ReconciliationScreen:
    """A script in reconciliation with both markings."""

    script: ScriptScreen
    markings: list[Marking]


async def reconciliation_screen(
    session: AsyncSession,
    *,
    code: str,
    lead: User,
    examiners: Examiners,
    holds: IdentityHolds = NO_HOLDS,
) -> ReconciliationScreen:
    """The script and both markings, for an independent lead grader (not while held)."""
    case = await to_reconcile(session, code=code, lead=lead, examiners=examiners, holds=holds)
    return ReconciliationScreen(await _screen(session, case.script), case.markings)


async def visible_script(
    session: AsyncSession, *, code: str, viewer: User, examiners: Examiners
) -> Script:
    """The script, when the viewer grades it or reconciles it; a 404 for anyone else (what a
    file or the oral video is fetched through)."""
    script = await script_by_code(session, code)
    mine = await session.scalar(
        select(Marking.id).where(Marking.script_id == script.id, Marking.grader_id == viewer.id)
    )
    if mine is not None:
        return script
    if script.status == ScriptStatus.RECONCILIATION:
        await to_reconcile(session, code=code, lead=viewer, examiners=examiners)
        return script
    raise NotFound(_l("No such script."))


async def script_file(
    session: AsyncSession, *, code: str, name: str, viewer: User, examiners: Examiners
) -> tuple[str, bytes]:
    """A file of the script's item (a case's documents), for its grader or lead grader."""
    script = await visible_script(session, code=code, viewer=viewer, examiners=examiners)
    return await read_file(session, script.item_version_id, name)


@dataclass(frozen=True)
class ConflictRow:
    """One of the grader's own declarations of a conflict of interest."""

    declared_at: datetime
    candidate: str
    """The username of the candidate they named ('' for an employer)."""
    employer: str
    note: str


async def conflict_rows(session: AsyncSession, grader: User) -> list[ConflictRow]:
    """The grader's own declarations, oldest first, with the candidate they named (whom they
    know already: they named them)."""
    rows = []
    for row in await conflicts_of(session, grader):
        named = await session.get(User, row.candidate_id) if row.candidate_id else None
        rows.append(
            ConflictRow(row.declared_at, named.username if named else "", row.employer, row.note)
        )
    return rows


# ---- the staff's overview ------------------------------------------------------------------------


SETTLED_STATES = (ScriptStatus.FINAL, ScriptStatus.RECONCILIATION, ScriptStatus.WITHDRAWN)
"""States counted as they are (the others by their markings)."""


@dataclass(frozen=True)
class StateCounts:
    """Where a sitting's scripts stand."""

    waiting: int = 0
    """No marking claimed or submitted yet."""
    claimed: int = 0
    """Someone is marking it now."""
    graded_once: int = 0
    graded_twice: int = 0
    """Two markings in, waiting for the comparison (the moment it is made, it is final)."""
    reconciliation: int = 0
    final: int = 0
    withdrawn: int = 0


@dataclass(frozen=True)
class GraderLoad:
    """A grader's work in a sitting."""

    grader: User
    claimed: int
    submitted: int
    median_minutes: float | None
    """From claim to submission."""


@dataclass(frozen=True)
class SittingGrading:
    """The staff's view of a sitting's grading."""

    counts: StateCounts
    graders: list[GraderLoad]


async def sitting_grading(session: AsyncSession, sitting_id: int) -> SittingGrading:
    """Scripts by state and graders by load and speed, for one sitting."""
    scripts = list(await session.scalars(select(Script).where(Script.sitting_id == sitting_id)))
    markings = list(
        await session.scalars(
            select(Marking)
            .join(Script, Script.id == Marking.script_id)
            .where(Script.sitting_id == sitting_id)
        )
    )
    by_script: dict[int, list[Marking]] = {}
    for marking in markings:
        by_script.setdefault(marking.script_id, []).append(marking)
    tally = dict.fromkeys(
        ("waiting", "claimed", "graded_once", "graded_twice", "reconciliation", "final",
         "withdrawn"), 0,
    )  # fmt: skip
    for script in scripts:
        mine = by_script.get(script.id, [])
        submitted = sum(1 for m in mine if m.submitted_at is not None)
        if script.status in (
            ScriptStatus.FINAL,
            ScriptStatus.RECONCILIATION,
            ScriptStatus.WITHDRAWN,
        ):
            tally[script.status.value] += 1
        elif any(m.submitted_at is None for m in mine):
            tally["claimed"] += 1
        elif submitted == 1:
            tally["graded_once"] += 1
        elif submitted >= 2:
            tally["graded_twice"] += 1
        else:
            tally["waiting"] += 1
    per_grader: dict[int, list[Marking]] = {}
    for marking in markings:
        per_grader.setdefault(marking.grader_id, []).append(marking)
    graders = []
    for grader_id, theirs in sorted(per_grader.items()):
        grader = await session.get(User, grader_id)
        assert grader is not None
        minutes = [
            (m.submitted_at - m.claimed_at).total_seconds() / 60
            for m in theirs
            if m.submitted_at is not None
        ]
        graders.append(
            GraderLoad(
                grader=grader,
                claimed=sum(1 for m in theirs if m.submitted_at is None),
                submitted=len(minutes),
                median_minutes=round(statistics.median(minutes), 1) if minutes else None,
            )
        )
    return SittingGrading(StateCounts(**tally), graders)


async def reconciliations_of(session: AsyncSession, sitting_id: int) -> int:
    """How many of a sitting's scripts a lead grader reconciled."""
    count = await session.scalar(
        select(func.count())
        .select_from(Reconciliation)
        .join(Script, Script.id == Reconciliation.script_id)
        .where(Script.sitting_id == sitting_id)
    )
    return int(count or 0)
