"""Attempts with flags for the proctor review's tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, registrations
from exam.models import Registration, Sitting
from proctoring.flags import raise_flag
from proctoring.models import FlagSource, FlagType, ProctoringPolicy
from proctoring.schemas import Policy
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import Role, User, create_user


@dataclass
class Flagged:
    """A started attempt (its first part running) and its flags' ids, in the order given."""

    attempt_id: int
    registration_id: int
    part_id: int
    flags: list[int]


async def flagged_attempt(
    session: AsyncSession,
    registration_id: int,
    candidate: User,
    flags: Sequence[tuple[FlagType, datetime]],
    *,
    policy: Policy | None = None,
) -> Flagged:
    """Start the candidate's attempt and first part at ``OPENS`` and raise these flags
    (closed periods of a minute each); committed."""
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=registration_id, candidate=candidate,
        now=OPENS,
    )  # fmt: skip
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=candidate, now=OPENS
    )
    ids = []
    for flag_type, at in flags:
        flag = await raise_flag(
            session, policy=policy or Policy(), flag_type=flag_type, source=FlagSource.LIVE,
            registration_id=registration_id, attempt_id=attempt.id, attempt_part_id=part.id,
            started_at=at, ended_at=at + timedelta(minutes=1),
        )  # fmt: skip
        ids.append(flag.id)
    await session.commit()
    return Flagged(attempt.id, registration_id, part.id, ids)


async def registration_of(session: AsyncSession, candidate: User) -> int:
    """The id of the candidate's (only) registration."""
    found = await session.scalar(
        select(Registration.id).where(Registration.candidate_id == candidate.id)
    )
    assert found is not None
    return found


async def second_sitting(session: AsyncSession, exam: Exam) -> tuple[int, int, User]:
    """Another sitting of the exam's blueprint with a third candidate registered: (sitting id,
    registration id, candidate); committed."""
    first = await session.get(Sitting, exam.sitting_id)
    assert first is not None
    sitting = await registrations.create_sitting(
        session, blueprint_id=first.blueprint_id, name="Januar", opens_at=OPENS,
        closes_at=OPENS + timedelta(hours=8), actor=exam.admin,
    )  # fmt: skip
    third = await create_user(
        session, username="kandidat3", full_name="Tredje Kandidat", password="x" * 12,
        roles={Role.CANDIDATE},
    )  # fmt: skip
    await registrations.decide_application(
        session, candidate_id=third.id, scheme_id=first.scheme_id, approve=True,
        actor=exam.admin, now=OPENS - timedelta(days=30),
    )  # fmt: skip
    registration = await registrations.register(
        session, sitting_id=sitting.id, candidate=third, actor=exam.admin
    )
    await session.commit()
    return sitting.id, registration.id, third


async def scheme_of(session: AsyncSession, exam: Exam) -> int:
    """The exam's scheme id."""
    found = await session.scalar(select(Sitting.scheme_id).where(Sitting.id == exam.sitting_id))
    assert found is not None
    return found


async def change_policy(session: AsyncSession, exam: Exam, **values: object) -> None:
    """Change the exam scheme's proctoring policy (committed)."""
    row = await session.get(ProctoringPolicy, await scheme_of(session, exam))
    assert row is not None
    row.settings = {**row.settings, **values}
    await session.commit()


async def proctors(session: AsyncSession, count: int) -> list[User]:
    """``count`` more proctors; committed."""
    made = [
        await create_user(
            session,
            username=f"vakt{n:02}",
            full_name=f"Vakt {n}",
            password="x" * 12,
            roles={Role.PROCTOR},
        )
        for n in range(count)
    ]
    await session.commit()
    return made


async def more_candidates(session: AsyncSession, exam: Exam, count: int) -> list[tuple[int, User]]:
    """``count`` more candidates registered for the exam's sitting: (registration id,
    candidate) each; committed."""
    sitting = await session.get(Sitting, exam.sitting_id)
    assert sitting is not None
    made = []
    for n in range(count):
        person = await create_user(
            session, username=f"ekstra{n:02}", full_name=f"Ekstra Kandidat {n:02}",
            password="x" * 12, roles={Role.CANDIDATE},
        )  # fmt: skip
        await registrations.decide_application(
            session, candidate_id=person.id, scheme_id=sitting.scheme_id, approve=True,
            actor=exam.admin, now=OPENS - timedelta(days=30),
        )  # fmt: skip
        registration = await registrations.register(
            session, sitting_id=sitting.id, candidate=person, actor=exam.admin
        )
        made.append((registration.id, person))
    await session.commit()
    return made
