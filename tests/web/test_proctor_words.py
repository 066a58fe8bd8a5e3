"""What proctors read about a flag: stored words become sentences in their language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exam.checkin import IdentityStatus
from exam.models import AttemptPart, AttemptStatus
from proctoring.models import (
    ConnectionState,
    Flag,
    FlagSource,
    FlagType,
    IdentityReason,
    Severity,
)
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


def _evidence_flag(**values: object) -> Flag:
    fields: dict[str, object] = {
        "registration_id": 1, "attempt_id": 1, "attempt_part_id": None, "severity": "low",
        "started_at": AT, "ended_at": AT, "note": "",
    }  # fmt: skip
    return Flag(**{**fields, **values})


def _shown(flag: Flag, parts: dict[int, AttemptPart] | None = None) -> list[tuple[str, str | None]]:
    words = ProctorWords(translations_for("en"), parts)
    return [(shown.text, shown.href) for shown in words.evidence(flag)]


def test_faces_and_a_dark_picture_are_told_with_their_frame_and_place() -> None:
    part = AttemptPart(id=5, part_index=1, started_at=AT - timedelta(minutes=1, seconds=5))
    dark = _evidence_flag(
        type="no_face", source="live", attempt_part_id=5,
        evidence={"face_count": 0, "dark": True, "snapshot_id": 7, "chunk_index": 13},
    )  # fmt: skip
    assert _shown(dark, {5: part}) == [
        ("still frame", "/proctor/snapshots/7"),
        ("Part 2, 1:05 into the recording", None),
        ("The picture was dark (the camera covered?).", None),
    ]
    two = _evidence_flag(
        type="multiple_faces", source="live", evidence={"face_count": 2, "dark": False}
    )
    assert _shown(two) == [("2 faces in the picture", None)]
    stranger = _evidence_flag(type="face_mismatch", source="live", evidence={"distance": 0.8123})
    assert _shown(stranger) == [("distance 0.812", None)]


def test_a_camera_or_microphone_that_stopped_is_told_by_why() -> None:
    for state, told in (
        ("stalled", "No picture reached the server."),
        ("ended", "The browser reported that the camera stopped."),
        ("NotReadableError", "The camera or microphone was in use by another program."),
        ("SomethingNew", "The camera or microphone could not start."),
    ):
        flag = _evidence_flag(type="camera_off", source="live", evidence={"state": state})
        assert _shown(flag) == [(told, None)]
    quiet = _evidence_flag(type="microphone_off", source="browser", evidence={}, note="muted")
    assert _shown(quiet) == [("The browser reported that the microphone delivered no sound.", None)]


def test_pastes_gaps_lost_channels_and_identity_are_told_in_sentences() -> None:
    pasted = _evidence_flag(type="paste", source="browser", evidence={"characters": 1})
    assert _shown(pasted) == [("Pasted 1 character into an answer", None)]
    legacy = _evidence_flag(
        type="paste", source="browser", evidence={}, note="field=q1; characters=12"
    )
    assert _shown(legacy) == [("Pasted 12 characters into an answer", None)]
    gap = _evidence_flag(
        type="recording_gap", source="recording", attempt_part_id=5,
        evidence={"missing_chunks": [1, 4], "chunks_received": 3},
    )  # fmt: skip
    part = AttemptPart(id=5, part_index=0, started_at=AT)
    assert _shown(gap, {5: part}) == [
        ("2 pieces missing: numbers 2, 5", None),
        ("3 pieces received", None),
    ]
    for state, told in (
        ("never connected", "The live channel never connected."),
        ("closed", "The live channel was closed (the exam page was left or lost)."),
    ):
        lost = _evidence_flag(type="live_channel_lost", source="live", evidence={"state": state})
        assert _shown(lost) == [(told, None)]
    doubtful = _evidence_flag(
        type="identity_doubtful", source="identity", evidence={"reason": "no_match"}
    )
    assert _shown(doubtful) == [("the faces do not match", None)]


def test_stored_words_and_their_enum_members_read_the_same() -> None:
    words = ProctorWords(translations_for("nb"))
    assert words.flag(FlagType.PASTE) == words.flag("paste") != "–"
    assert words.severity(Severity.HIGH) == words.severity("high") != "–"
    assert words.source(FlagSource.LIVE) == words.source("live") != "–"
    assert words.connection(ConnectionState.CONNECTED) == words.connection("connected") != "–"
    assert words.identity_outcome(IdentityStatus.REFERRED) == words.identity_outcome("referred")
    assert words.identity_reason(IdentityReason.NO_FACE) == words.identity_reason("no_face")
    assert words.attempt_status(AttemptStatus.FINISHED) == words.attempt_status("finished")
