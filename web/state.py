"""The typed state the application's lifespan yields (available as ``request.state``)."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.templating import Jinja2Templates

from certification.independence import Participants
from certification.regrading import Regrading
from exam.checkin import CheckIn
from exam.events import ExamEvents
from exam.oral import RecordingReceipts
from exam.reviews import Reviews
from exam.timing import Clock
from grading.answers import OralRecordings
from grading.holds import IdentityHolds
from grading.independence import Examiners
from itembank.candidate_views import CandidateViews
from itembank.quality import VersionStatistics
from proctoring.channels import LiveChannels
from proctoring.storage import MediaStore
from vakt.notifications import Kinds
from vakt.sessions import SessionActivity
from vakt.settings import Settings


class AppState(TypedDict):
    """What lives as long as the application: settings, database, templates, live connections."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    templates: Jinja2Templates
    live_channels: LiveChannels
    """Every live camera and microphone connection this process holds (WebRTC), with the flag
    logic of each registration's current one."""
    media: MediaStore
    candidate_views: CandidateViews
    """What candidates see of item versions, built once per process (versions never change)."""
    analysis: Executor
    """Where face presence is analysed, off the event loop (threads)."""
    identity: Executor
    """Where faces are described for identity (a process: dlib's network holds the GIL)."""
    clock: Clock
    session_clock: Clock
    """The time sessions and sign-in throttling go by (``web.app.create_app``)."""
    session_activity: SessionActivity | None
    """What keeps a session alive past the idle timeout (an exam in progress); None: nothing."""
    oidc: Any
    """The e-ID client (Authlib), or None when e-ID sign-in is off (``web.oidc``)."""
    checkin: CheckIn
    """What must be done before an exam starts (declarations, the identity check)."""
    exam_events: ExamEvents
    """Who hears of what happens in exams (other domains subscribe in ``create_app``)."""
    examiners: Examiners
    """Who took part in examining a candidate (proctoring tells grading)."""
    oral_recordings: OralRecordings
    recording_receipts: RecordingReceipts
    """Whether the server holds a stretch of a part's recording (proctoring tells the exam)."""
    """Where grading finds the oral answers' videos (proctoring keeps them)."""
    identity_holds: IdentityHolds
    """The registrations grading must hold: identity not confirmed (proctoring tells grading)."""
    reviews: Reviews
    """The proctor review's outcome on the exam's pages (proctoring tells the exam)."""
    participants: Participants
    """Who took part in a registration's proctoring (proctoring tells certification)."""
    regrading: Regrading
    """How an appeal has parts graded again, blindly (grading does it for certification)."""
    notification_kinds: Kinds
    """Every kind of message the domains send, to write stored messages with."""
    item_statistics: VersionStatistics
    """Where the bank's item pages find a version's statistics per sitting (grading keeps them)."""
