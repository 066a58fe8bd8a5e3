"""Recertification: the window's edges (both ends included, calendar months, per scheme), the
holder's application inside it, and the staff's renewal continuing the series."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import recertification
from certification.models import CertificationDecision, RecertificationApplication
from certification.schemas import CertificationRules, RecertificationStatus
from tests.certification.factories import certify
from tests.exam.factories import OPENS, Exam
from vakt.accounts import User
from vakt.errors import Forbidden, VaktError

EVIDENCE = "Two years of practice as a diversity manager, and a course in 2029."


def test_the_window_s_edges() -> None:
    rules = CertificationRules()
    until = date(2029, 12, 14)
    assert recertification.window(until, rules) == (date(2029, 6, 14), date(2030, 6, 14))
    assert not recertification.is_open(until, rules, date(2029, 6, 13))
    assert recertification.is_open(until, rules, date(2029, 6, 14))
    assert recertification.is_open(until, rules, date(2030, 6, 14))
    assert not recertification.is_open(until, rules, date(2030, 6, 15))
    short = CertificationRules(recertification_months_before=1, recertification_months_after=0)
    assert recertification.window(date(2029, 3, 31), short) == (
        date(2029, 2, 28),
        date(2029, 3, 31),
    )


@pytest.mark.asyncio
async def test_apply_inside_the_window_and_renew(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    decided = OPENS + timedelta(days=5)
    old = await certify(session, exam.registration_id, users["decision_maker"], decided)
    opens, closes = recertification.window(old.valid_until, CertificationRules())
    moment = decided + timedelta(days=900)
    with pytest.raises(VaktError) as early:
        await recertification.apply(
            session, holder=exam.candidate, certificate_id=old.id, evidence=EVIDENCE,
            today=opens - timedelta(days=1), now=moment,
        )  # fmt: skip
    assert early.value.status_code == 409
    with pytest.raises(VaktError) as late:
        await recertification.apply(
            session, holder=exam.candidate, certificate_id=old.id, evidence=EVIDENCE,
            today=closes + timedelta(days=1), now=moment,
        )  # fmt: skip
    assert late.value.status_code == 409
    with pytest.raises(VaktError) as short:
        await recertification.apply(
            session, holder=exam.candidate, certificate_id=old.id, evidence="kort",
            today=opens, now=moment,
        )  # fmt: skip
    assert short.value.field == "evidence"
    application = await recertification.apply(
        session, holder=exam.candidate, certificate_id=old.id, evidence=EVIDENCE, today=closes,
        now=moment,
    )  # fmt: skip
    with pytest.raises(VaktError):
        await recertification.apply(
            session, holder=exam.candidate, certificate_id=old.id, evidence=EVIDENCE,
            today=closes, now=moment,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        await recertification.renew(
            session, application_id=application.id, note="Evidence is sufficient.",
            actor=users["grader"], now=moment, timezone="Europe/Oslo",
        )  # fmt: skip
    renewal = await recertification.renew(
        session, application_id=application.id, note="Evidence is sufficient.",
        actor=users["administrator"], now=moment, timezone="Europe/Oslo",
    )  # fmt: skip
    assert renewal.renews_id == old.id and renewal.holder_id == old.holder_id
    assert renewal.number != old.number and renewal.valid_until > old.valid_until
    decision = await session.get(CertificationDecision, renewal.decision_id)
    assert decision is not None and decision.decided_by_id == users["administrator"].id
    stored = await session.scalar(select(RecertificationApplication))
    assert stored is not None and stored.status == RecertificationStatus.RENEWED
    with pytest.raises(VaktError) as again:
        await recertification.require_exam(
            session, application_id=application.id, note="Take the exam after all.",
            actor=users["administrator"], now=moment,
        )  # fmt: skip
    assert again.value.status_code == 409
