"""What the exam page reports (a hidden tab, a paste, a camera the browser lost), as flags.

Only what happens while a part runs counts: before the exam and in the breaks between parts the
candidate may leave the page. The browser's times are hints, kept inside the part and never in
the future, and the browser may end only the flags it raised.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import AttemptPart
from proctoring import flags
from proctoring.models import FlagSource, FlagType
from proctoring.recordings import chunk_at
from proctoring.schemas import BrowserEvent
from proctoring.service import Context, context_of
from vakt.errors import NotFound
from vakt.i18n import _l

BROWSER_FLAGS: dict[str, FlagType] = {
    "tab_hidden": FlagType.TAB_HIDDEN,
    "window_unfocused": FlagType.WINDOW_UNFOCUSED,
    "fullscreen_left": FlagType.FULLSCREEN_LEFT,
    "paste": FlagType.PASTE,
    "second_screen": FlagType.SECOND_SCREEN,
    "network_loss": FlagType.NETWORK_LOSS,
    "camera_off": FlagType.CAMERA_OFF,
    "microphone_off": FlagType.MICROPHONE_OFF,
}
"""The flag each kind of browser event raises (or ends)."""


def clamp_reported(
    moment: datetime | None, *, earliest: datetime, now: datetime, default: datetime
) -> datetime:
    """A time the browser reported, kept between ``earliest`` (the part's start) and ``now``;
    ``default`` when it reported none."""
    return min(max(moment, earliest), now) if moment else default


async def report_browser_event(
    session: AsyncSession, *, registration_id: int, event: BrowserEvent, now: datetime
) -> None:
    """Take what the exam page noticed; nothing happens when the exam is not proctored."""
    context = await context_of(session, registration_id)
    if not context.policy.enabled:
        return
    await record_browser_event(session, context=context, event=event, now=now)


async def record_browser_event(
    session: AsyncSession, *, context: Context, event: BrowserEvent, now: datetime
) -> None:
    """Turn what the exam page noticed into a flag (or the end of one)."""
    if context.attempt is None:
        return
    flag_type = BROWSER_FLAGS[event.type]
    part = context.current_part
    if event.part_id is not None and (part is None or part.id != event.part_id):
        # A late report about a part already handed in still belongs to that part.
        reported = await session.get(AttemptPart, event.part_id)
        if reported is None or reported.attempt_id != context.attempt.id:
            raise NotFound(_l("No such part."))
        part = reported
    if part is None:
        return
    earliest = part.started_at

    def clamp(moment: datetime | None, default: datetime) -> datetime:
        return clamp_reported(moment, earliest=earliest, now=now, default=default)

    attempt_id, part_id = context.attempt.id, part.id
    if event.type == "paste" or (event.started_at and event.ended_at):
        started = clamp(event.started_at, now)
        await flags.raise_flag(
            session,
            policy=context.policy,
            flag_type=flag_type,
            source=FlagSource.BROWSER,
            registration_id=context.registration.id,
            attempt_id=attempt_id,
            attempt_part_id=part_id,
            started_at=started,
            ended_at=max(clamp(event.ended_at, now), started),
            evidence={
                "chunk_index": chunk_at(part.started_at, started, context.policy),
                **({"characters": event.characters} if event.characters is not None else {}),
            },
            note=event.detail,
        )
    elif event.active:
        await flags.raise_flag(
            session,
            policy=context.policy,
            flag_type=flag_type,
            source=FlagSource.BROWSER,
            registration_id=context.registration.id,
            attempt_id=attempt_id,
            attempt_part_id=part_id,
            started_at=clamp(event.started_at, now),
            evidence={
                "chunk_index": chunk_at(
                    part.started_at, clamp(event.started_at, now), context.policy
                )
            },
            note=event.detail,
        )
    else:
        # Only what the browser raised may the browser end: a camera the server sees off stays
        # flagged whatever the page says. The end is kept between the flag's start and now.
        await flags.end_flag(
            session,
            registration_id=context.registration.id,
            flag_type=flag_type,
            ended_at=clamp(event.ended_at, now),
            source=FlagSource.BROWSER,
        )
