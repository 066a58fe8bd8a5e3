"""How proctoring's stored states read on the proctor pages: every enum through a label, and a
flag's evidence as sentences a proctor understands (no field ids, error names or states)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from babel.support import NullTranslations

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
from proctoring.watchdog import NEVER_CONNECTED
from vakt.i18n import LazyText, _l

FLAG_LABELS = {
    FlagType.NO_FACE: _l("No face in the picture"),
    FlagType.MULTIPLE_FACES: _l("More than one face"),
    FlagType.FACE_MISMATCH: _l("Face does not match the profile photo"),
    FlagType.CAMERA_OFF: _l("Camera off or covered"),
    FlagType.MICROPHONE_OFF: _l("Microphone off or muted"),
    FlagType.SPEECH: _l("Sustained speech"),
    FlagType.TAB_HIDDEN: _l("Exam tab hidden"),
    FlagType.WINDOW_UNFOCUSED: _l("Exam window not in focus"),
    FlagType.FULLSCREEN_LEFT: _l("Full screen left"),
    FlagType.PASTE: _l("Pasted into an answer"),
    FlagType.SECOND_SCREEN: _l("Second screen"),
    FlagType.NETWORK_LOSS: _l("Network lost"),
    FlagType.LIVE_CHANNEL_LOST: _l("Live camera channel lost"),
    FlagType.RECORDING_GAP: _l("Recording incomplete"),
    FlagType.IDENTITY_DOUBTFUL: _l("Identity not confirmed"),
}
SEVERITY_LABELS = {
    Severity.LOW: _l("low"),
    Severity.MEDIUM: _l("medium"),
    Severity.HIGH: _l("high"),
}
SOURCE_LABELS = {
    FlagSource.BROWSER: _l("Reported by the candidate's browser"),
    FlagSource.LIVE: _l("Noticed by the server in the live picture and sound"),
    FlagSource.RECORDING: _l("Noticed by the server in the recording"),
    FlagSource.IDENTITY: _l("Found by the identity check"),
    FlagSource.DELIVERY: _l("Noticed when answers typed before the deadline arrived after it"),
}
CONNECTION_LABELS = {
    ConnectionState.NEW: _l("not connected yet"),
    ConnectionState.CONNECTING: _l("connecting"),
    ConnectionState.CONNECTED: _l("connected"),
    ConnectionState.DISCONNECTED: _l("interrupted"),
    ConnectionState.FAILED: _l("failed"),
    ConnectionState.CLOSED: _l("not connected"),
}
ATTEMPT_STATUS_LABELS = {
    AttemptStatus.IN_PROGRESS: _l("In progress"),
    AttemptStatus.FINISHED: _l("Handed in"),
    AttemptStatus.TERMINATED: _l("Ended by the exam staff"),
}
IDENTITY_OUTCOME_LABELS = {
    IdentityStatus.PASSED: _l("confirmed"),
    IdentityStatus.REFERRED: _l("to check"),
}
IDENTITY_REASON_LABELS = {
    IdentityReason.MATCH: _l("the faces match"),
    IdentityReason.NO_MATCH: _l("the faces do not match"),
    IdentityReason.NO_PROFILE_PHOTO: _l("no profile photo to compare with"),
    IdentityReason.NO_FACE: _l("no face in the check-in photo"),
    IdentityReason.SEVERAL_FACES: _l("more than one face in the check-in photo"),
}
LOST_CHANNEL_LABELS: dict[str, LazyText] = {
    NEVER_CONNECTED: _l("The live channel never connected."),
    ConnectionState.NEW: _l("The live channel never connected."),
    ConnectionState.CONNECTING: _l("The live channel never finished connecting."),
    ConnectionState.DISCONNECTED: _l("The live channel was interrupted."),
    ConnectionState.FAILED: _l("The live channel failed."),
    ConnectionState.CLOSED: _l("The live channel was closed (the exam page was left or lost)."),
}
DEVICE_FAILURES = {
    "NotAllowedError": _l("The browser was not allowed to use the camera and microphone."),
    "SecurityError": _l("The browser was not allowed to use the camera and microphone."),
    "NotFoundError": _l("No camera or microphone was found."),
    "OverconstrainedError": _l("No camera or microphone was found."),
    "NotReadableError": _l("The camera or microphone was in use by another program."),
}
STOPPED = {
    FlagType.CAMERA_OFF: {
        "ended": _l("The browser reported that the camera stopped."),
        "muted": _l("The browser reported that the camera delivered no picture."),
        "stalled": _l("No picture reached the server."),
    },
    FlagType.MICROPHONE_OFF: {
        "ended": _l("The browser reported that the microphone stopped."),
        "muted": _l("The browser reported that the microphone delivered no sound."),
        "stalled": _l("No sound (or only silence) reached the server."),
    },
}
FLAG_TYPES = {flag_type.value: flag_type for flag_type in FlagType}
LEGACY_PASTE = re.compile(r"characters=(\d+)")
"""Paste flags from pages that sent "field=…; characters=N" as their detail."""


@dataclass(frozen=True)
class Evidence:
    """One piece of a flag's evidence as shown: a sentence, perhaps a link to the media."""

    text: str
    href: str | None = None


def label(translations: NullTranslations, labels: dict[Any, LazyText], value: str) -> str:
    """The translated label of a stored value (a value without one is shown as a dash, never
    as the stored word)."""
    text = labels.get(value)
    return translations.gettext(text.msgid) if text else "–"


def _duration(seconds: float) -> str:
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def flag_evidence(
    translations: NullTranslations, flag: Flag, part: AttemptPart | None
) -> list[Evidence]:
    """What backs a flag, in the reader's language."""
    gettext, ngettext = translations.gettext, translations.ngettext
    evidence = flag.evidence or {}
    kind = FLAG_TYPES.get(flag.type)
    shown: list[Evidence] = []
    if evidence.get("snapshot_id"):
        shown.append(
            Evidence(gettext("still frame"), f"/proctor/snapshots/{int(evidence['snapshot_id'])}")
        )
    if part is not None and kind is not FlagType.RECORDING_GAP:
        # The recorder starts with the part: the flag's place in the part's video.
        into = (flag.started_at - part.started_at).total_seconds()
        shown.append(
            Evidence(
                gettext("Part %(number)d, %(time)s into the recording")
                % {"number": part.part_index + 1, "time": _duration(into)}
            )
        )
    if "face_count" in evidence and kind in (FlagType.NO_FACE, FlagType.MULTIPLE_FACES):
        if evidence.get("dark"):
            shown.append(Evidence(gettext("The picture was dark (the camera covered?).")))
        else:
            count = int(evidence["face_count"])
            shown.append(
                Evidence(
                    ngettext("%(num)d face in the picture", "%(num)d faces in the picture", count)
                    % {"num": count}
                )
            )
    if evidence.get("distance") is not None:
        shown.append(
            Evidence(gettext("distance %(distance)s") % {"distance": f"{evidence['distance']:.3f}"})
        )
    if kind is FlagType.IDENTITY_DOUBTFUL and evidence.get("reason") in IDENTITY_REASON_LABELS:
        shown.append(Evidence(label(translations, IDENTITY_REASON_LABELS, evidence["reason"])))
    if kind is FlagType.LIVE_CHANNEL_LOST and evidence.get("state") in LOST_CHANNEL_LABELS:
        shown.append(Evidence(label(translations, LOST_CHANNEL_LABELS, evidence["state"])))
    if kind in STOPPED:
        shown.extend(_device(translations, kind, evidence.get("state") or flag.note))
    if kind is FlagType.PASTE:
        characters = evidence.get("characters")
        legacy = LEGACY_PASTE.search(flag.note or "")
        if characters is None and legacy:
            characters = int(legacy.group(1))
        if characters is not None:
            shown.append(
                Evidence(
                    ngettext(
                        "Pasted %(num)d character into an answer",
                        "Pasted %(num)d characters into an answer",
                        int(characters),
                    )
                    % {"num": int(characters)}
                )
            )
    if kind is FlagType.NETWORK_LOSS and evidence.get("late_answers"):
        late = int(evidence["late_answers"])
        shown.append(
            Evidence(
                ngettext(
                    "%(num)d answer typed before the deadline arrived after it",
                    "%(num)d answers typed before the deadline arrived after it",
                    late,
                )
                % {"num": late}
            )
        )
    if kind is FlagType.RECORDING_GAP:
        missing = [int(index) + 1 for index in evidence.get("missing_chunks") or []]
        received = int(evidence.get("chunks_received") or 0)
        if missing:
            shown.append(
                Evidence(
                    ngettext(
                        "%(num)d piece missing: number %(list)s",
                        "%(num)d pieces missing: numbers %(list)s",
                        len(missing),
                    )
                    % {"num": len(missing), "list": ", ".join(map(str, missing))}
                )
            )
        shown.append(
            Evidence(
                ngettext("%(num)d piece received", "%(num)d pieces received", received)
                % {"num": received}
            )
        )
    return shown


def _device(translations: NullTranslations, kind: FlagType, why: str | None) -> list[Evidence]:
    if not why:
        return []
    stopped = STOPPED[kind].get(why)
    if stopped is not None:
        return [Evidence(translations.gettext(stopped.msgid))]
    failure = DEVICE_FAILURES.get(why, _l("The camera or microphone could not start."))
    return [Evidence(translations.gettext(failure.msgid))]


class ProctorWords:
    """The labels and evidence in one reader's language, for the proctor pages' templates."""

    def __init__(
        self, translations: NullTranslations, parts: dict[int, AttemptPart] | None = None
    ) -> None:
        self.translations = translations
        self.parts = parts or {}

    def flag(self, value: str) -> str:
        """What a flag type says happened."""
        return label(self.translations, FLAG_LABELS, value)

    def severity(self, value: str) -> str:
        """A flag's severity."""
        return label(self.translations, SEVERITY_LABELS, value)

    def source(self, value: str) -> str:
        """Who noticed a flag."""
        return label(self.translations, SOURCE_LABELS, value)

    def connection(self, value: str) -> str:
        """The live channel's connection state."""
        return label(self.translations, CONNECTION_LABELS, value)

    def attempt_status(self, value: str) -> str:
        """Where an attempt stands."""
        return label(self.translations, ATTEMPT_STATUS_LABELS, value)

    def identity_outcome(self, value: str) -> str:
        """An identity check's outcome."""
        return label(self.translations, IDENTITY_OUTCOME_LABELS, value)

    def identity_reason(self, value: str) -> str:
        """Why an identity check came out as it did."""
        return label(self.translations, IDENTITY_REASON_LABELS, value)

    def evidence(self, flag: Flag) -> list[Evidence]:
        """What backs a flag."""
        part = self.parts.get(flag.attempt_part_id) if flag.attempt_part_id else None
        return flag_evidence(self.translations, flag, part)
