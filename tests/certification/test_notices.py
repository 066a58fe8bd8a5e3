"""The holder is told of their certificate: when it is issued (its number and last valid day,
written the holder's language's way) and when staff suspend, withdraw or reinstate it (the grounds
stay on My page, behind the sign-in)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import standing
from tests.certification.factories import certify
from tests.exam.factories import OPENS, Exam
from vakt.accounts import User
from vakt.notifications import Notification, render
from web.app import notification_kinds

GROUNDS = "Innehaveren har ikke meldt fra om endret arbeidsgiver."

KINDS = notification_kinds()


async def _messages(session: AsyncSession, holder: User) -> list[Notification]:
    return list(
        await session.scalars(
            select(Notification)
            .where(Notification.recipient_id == holder.id)
            .order_by(Notification.id)
            .execution_options(populate_existing=True)
        )
    )


@pytest.mark.asyncio
async def test_the_holder_is_told_of_issue_and_every_change_of_status(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    decided = OPENS + timedelta(days=5)
    certificate = await certify(session, exam.registration_id, users["decision_maker"], decided)
    (issued,) = await _messages(session, exam.candidate)
    assert issued.kind == "certification.certificate_issued"
    norwegian = render(issued, KINDS, "nb", "Europe/Oslo")
    assert certificate.number in norwegian.body
    day = certificate.valid_until
    assert f"{day.day}. " in norwegian.body and str(day.year) in norwegian.body
    assert day.isoformat() not in norwegian.body
    english = render(issued, KINDS, "en", "Europe/Oslo")
    assert english.subject == "You are certified"

    admin = users["administrator"]
    for change in (standing.suspend, standing.reinstate, standing.withdraw):
        await change(
            session, certificate_id=certificate.id, grounds=GROUNDS, actor=admin,
            now=decided + timedelta(days=30),
        )  # fmt: skip
        await session.commit()
    kinds = [message.kind for message in await _messages(session, exam.candidate)]
    assert kinds == [
        "certification.certificate_issued",
        "certification.certificate_suspended",
        "certification.certificate_reinstated",
        "certification.certificate_withdrawn",
    ]
    for message in (await _messages(session, exam.candidate))[1:]:
        body = render(message, KINDS, "nb", "Europe/Oslo").body
        assert certificate.number in body and GROUNDS not in body
