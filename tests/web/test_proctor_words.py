"""What proctors read about a flag: stored words become sentences in their language."""

from __future__ import annotations

from datetime import UTC, datetime

from proctoring.models import Flag
from vakt.i18n import translations_for
from web.proctor_words import ProctorWords

AT = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)


def _flag(**values: object) -> Flag:
    return Flag(
        registration_id=1, attempt_id=1, attempt_part_id=None, severity="low", started_at=AT,
        ended_at=AT, note="", **values,
    )  # fmt: skip


def test_a_network_loss_found_by_late_answers_is_told_as_such() -> None:
    flag = _flag(type="network_loss", source="delivery", evidence={"late_answers": 2})
    for language, source, evidence in (
        ("en", "arrived after it", "2 answers typed before the deadline arrived after it"),
        ("nb", "kom fram etter", "2 svar skrevet før fristen kom fram etter den"),
    ):
        words = ProctorWords(translations_for(language))
        assert source in words.source(flag.source)
        assert [shown.text for shown in words.evidence(flag)] == [evidence]


def test_a_stored_word_without_a_label_is_never_shown_as_is() -> None:
    words = ProctorWords(translations_for("en"))
    assert words.source("something_internal") == "–"
    assert words.connection("closed") != "closed"
