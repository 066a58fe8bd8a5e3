"""The review queue a page at a time: every attempt on exactly one page, in the same order as
one long list (ties broken by the attempt's id), the count of all that match the filters, and a
page past the end shown as the last one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from proctoring.models import FlagType
from proctoring.review_queue import review_queue
from proctoring.schemas import ReviewFilters
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import flagged_attempt, more_candidates, registration_of
from vakt.accounts import User

LATER = OPENS + timedelta(hours=1)
SAME_TIME = OPENS + timedelta(minutes=4)


@pytest.mark.asyncio
async def test_pages_cover_the_queue_once_in_a_stable_order(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    # Seven attempts: two high flags and five low ones, all raised at the same moment, so that
    # only the attempt's id tells them apart.
    people = [
        (exam.registration_id, exam.candidate),
        (await registration_of(session, exam.other), exam.other),
        *await more_candidates(session, exam, 5),
    ]
    attempts = []
    for n, (registration_id, person) in enumerate(people):
        flag_type = FlagType.MULTIPLE_FACES if n in (3, 5) else FlagType.WINDOW_UNFOCUSED
        flagged = await flagged_attempt(session, registration_id, person, [(flag_type, SAME_TIME)])
        attempts.append(flagged.attempt_id)
    high = sorted(attempts[n] for n in (3, 5))
    low = sorted(a for a in attempts if a not in high)
    proctor = users["proctor"]

    whole = await review_queue(session, viewer=proctor, now=LATER, page_size=100)
    assert [e.attempt_id for e in whole.entries] == high + low
    assert (whole.total, whole.pages, whole.has_next, whole.has_previous) == (7, 1, False, False)

    shown = []
    for number in (1, 2, 3):
        page = await review_queue(session, viewer=proctor, now=LATER, page=number, page_size=3)
        assert (page.page, page.total, page.pages) == (number, 7, 3)
        assert (page.has_previous, page.has_next) == (number > 1, number < 3)
        assert (page.first, page.last) == ((1, 3), (4, 6), (7, 7))[number - 1]
        shown += [e.attempt_id for e in page.entries]
    assert shown == high + low

    # Past the end: the last page (after decisions took attempts off the queue).
    past = await review_queue(session, viewer=proctor, now=LATER, page=10**9, page_size=3)
    assert past.page == 3 and [e.attempt_id for e in past.entries] == [low[-1]]
    below = await review_queue(session, viewer=proctor, now=LATER, page=0, page_size=3)
    assert below.page == 1 and [e.attempt_id for e in below.entries] == high + low[:1]

    # The count is of what the filters let through.
    filtered = await review_queue(
        session, viewer=proctor, now=LATER, page_size=1,
        filters=ReviewFilters(flag_type=FlagType.MULTIPLE_FACES),
    )  # fmt: skip
    assert (filtered.total, filtered.pages, [e.attempt_id for e in filtered.entries]) == (
        2, 2, high[:1],
    )  # fmt: skip
    nothing = await review_queue(
        session, viewer=proctor, now=LATER, page=5, filters=ReviewFilters(scheme_id=99999)
    )
    assert (nothing.entries, nothing.total, nothing.page, nothing.pages) == ([], 0, 1, 1)
    assert (nothing.first, nothing.last, nothing.has_next) == (0, 0, False)
