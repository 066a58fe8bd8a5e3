"""Statuses and kinds are enums in code and the same plain words in the database as ever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from exam.checkin import IdentityStatus
from proctoring import service
from proctoring.flags import raise_flag
from proctoring.models import (
    ConnectionState,
    Flag,
    FlagSource,
    FlagType,
    IdentityReason,
    IdentityVerification,
    LiveChannel,
    Severity,
)
from proctoring.schemas import Policy
from tests.exam.factories import OPENS, Exam


@pytest.mark.asyncio
async def test_enums_are_stored_as_their_words_and_read_back_as_members(
    session: AsyncSession, exam: Exam
) -> None:
    await raise_flag(
        session,
        policy=Policy(),
        flag_type=FlagType.SECOND_SCREEN,
        source=FlagSource.DELIVERY,
        registration_id=exam.registration_id,
        attempt_id=None,
        attempt_part_id=None,
        started_at=OPENS,
    )
    session.add(
        IdentityVerification(
            registration_id=exam.registration_id,
            face_count=0,
            threshold=0.6,
            outcome=IdentityStatus.REFERRED,
            reason=IdentityReason.NO_FACE,
            checked_at=OPENS,
        )
    )
    await service.set_live_state(
        session,
        registration_id=exam.registration_id,
        now=OPENS + timedelta(seconds=1),
        connection_state=ConnectionState.DISCONNECTED,
    )
    await session.commit()

    stored = (
        await session.execute(text("SELECT type, severity, source FROM proctoring_flag"))
    ).one()
    assert tuple(stored) == ("second_screen", "high", "delivery")
    assert [type(word) for word in stored] == [str, str, str]
    checks = await session.execute(text("SELECT outcome, reason FROM identity_verification"))
    assert tuple(checks.one()) == ("referred", "no_face")
    state = await session.scalar(text("SELECT connection_state FROM live_channel"))
    assert state == "disconnected"

    session.expire_all()
    flag = await session.scalar(select(Flag))
    assert flag is not None
    assert (flag.type, flag.severity, flag.source) == (
        FlagType.SECOND_SCREEN,
        Severity.HIGH,
        FlagSource.DELIVERY,
    )
    assert isinstance(flag.source, FlagSource)
    check = await session.scalar(select(IdentityVerification))
    assert check is not None and check.outcome is IdentityStatus.REFERRED
    assert check.reason is IdentityReason.NO_FACE
    live = await session.get(LiveChannel, exam.registration_id)
    assert live is not None and live.connection_state is ConnectionState.DISCONNECTED
    assert (
        await session.scalar(
            select(Flag.id).where(Flag.source == FlagSource.DELIVERY, Flag.type == "second_screen")
        )
        == flag.id
    )
