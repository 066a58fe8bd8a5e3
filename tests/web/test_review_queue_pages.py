"""The review queue's pages over HTTP: "Showing X–Y of N", Previous and Next links that keep the
filters, and page numbers that are no page (words, 0, negative, lone surrogates) refused with a
400 naming the page, while a number past the end shows the last page."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from proctoring import review_queue
from proctoring.models import FlagType
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import (
    flagged_attempt,
    more_candidates,
    registration_of,
    scheme_of,
)
from tests.web.helpers import sign_in

ENGLISH = {"Accept-Language": "en"}
NOW = OPENS + timedelta(minutes=10)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _order(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="queue-row" data-attempt="(\d+)"', text)]


def _link(text: str, link_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="\w+" id="{link_id}"', text)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.asyncio
async def test_queue_pages_with_links_that_keep_the_filters(
    client: httpx.AsyncClient,
    session: AsyncSession,
    exam: Exam,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(review_queue, "QUEUE_PAGE_SIZE", 2)
    people = [
        (exam.registration_id, exam.candidate),
        (await registration_of(session, exam.other), exam.other),
        *await more_candidates(session, exam, 3),
    ]
    attempts = []
    for minute, (registration_id, person) in enumerate(people, start=1):
        flagged = await flagged_attempt(
            session, registration_id, person,
            [(FlagType.MULTIPLE_FACES, OPENS + timedelta(minutes=minute))],
        )  # fmt: skip
        attempts.append(flagged.attempt_id)
    await sign_in(client, "proctor")

    first = await client.get("/proctor/review", headers=ENGLISH)
    assert first.status_code == 200
    assert _order(first.text) == attempts[:2]
    assert "Showing 1–2 of 5" in first.text and "Page 1 of 3" in first.text
    assert _link(first.text, "queue-previous") is None
    assert _link(first.text, "queue-next") == "/proctor/review?page=2"

    # Filters ride along in both links; the pages together are the filtered queue in order.
    filters = {
        "sitting": str(exam.sitting_id),
        "scheme": str(await scheme_of(session, exam)),
        "flag_type": "multiple_faces",
        "state": "unreviewed",
    }
    seen: list[int] = []
    address: str | None = "/proctor/review?" + "&".join(f"{k}={v}" for k, v in filters.items())
    texts = []
    while address is not None:
        shown = await client.get(address, headers=ENGLISH)
        assert shown.status_code == 200
        texts.append(shown.text)
        seen += _order(shown.text)
        address = _link(shown.text, "queue-next")
        if address is not None:
            query = parse_qs(urlsplit(address).query)
            assert {k: v[0] for k, v in query.items() if k != "page"} == filters
    assert seen == attempts and len(texts) == 3
    assert "Showing 5–5 of 5" in texts[2] and _link(texts[2], "queue-next") is None
    previous = _link(texts[2], "queue-previous")
    assert previous is not None
    assert parse_qs(urlsplit(previous).query) == {
        **{k: [v] for k, v in filters.items()}, "page": ["2"],
    }  # fmt: skip
    # The form keeps the filters chosen.
    assert f'<option value="{exam.sitting_id}" selected>' in texts[1]

    # A page past the end is the last page; so is a number too long to be any page.
    for number in ("3", "4", "99999999999999999999", "9" * 5000):
        last = await client.get("/proctor/review", params={"page": number}, headers=ENGLISH)
        assert last.status_code == 200, number[:30]
        assert _order(last.text) == attempts[4:] and "Showing 5–5 of 5" in last.text

    # Not a page number: a 400 naming it, with the first page of the filtered queue.
    for number in ("0", "000", "-1", "1.5", "abc", "½", "٣", "1e3", " 2"):
        bad = await client.get(
            "/proctor/review", params={**filters, "page": number}, headers=ENGLISH
        )
        assert bad.status_code == 400, number
        assert "The page number must be a whole number, 1 or more." in bad.text
        assert _order(bad.text) == attempts[:2]
        assert _link(bad.text, "queue-next") == "/proctor/review?" + "&".join(
            f"{k}={v}" for k, v in {**filters, "page": "2"}.items()
        )
    surrogate = await client.get("/proctor/review?page=%ED%A0%80", headers=ENGLISH)
    assert surrogate.status_code == 400
    # A bad filter wins over the page: the whole queue's first page.
    both = await client.get(
        "/proctor/review", params={"flag_type": "nonsense", "page": "2"}, headers=ENGLISH
    )
    assert both.status_code == 400 and _order(both.text) == attempts[:2]
