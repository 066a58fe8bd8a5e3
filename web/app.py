"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import sqlalchemy.exc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from certification import notices as certification_notices
from certification.retention_holds import AppealMediaHolds
from exam import notices as exam_notices
from exam.activity import AttemptInProgress
from exam.checkin import CheckIn, IdentityCheck
from exam.events import ExamEvents, with_events
from exam.jobs import submit_overdue_forever
from exam.notices import subscribe as subscribe_exam_notices
from exam.timing import Clock, SystemClock
from grading.jobs import expire_forever
from grading.quality_queries import SnapshotStatistics
from grading.regrading import BlindRegrading
from grading.subscriptions import subscribe as subscribe_grading
from itembank.candidate_views import CandidateViews
from proctoring.channels import LiveChannels
from proctoring.gate import ProctoredParts
from proctoring.identity import PhotoIdentityCheck
from proctoring.involvement import ProctoringInvolvement
from proctoring.jobs import purge_forever, watch_forever
from proctoring.media import OralAnswerRecordings
from proctoring.recordings import ReceivedChunks
from proctoring.review import ProctoringIdentityHolds
from proctoring.review_outcomes import ProctoringReviews
from proctoring.runtime import create_live_hub
from proctoring.storage import MediaStore
from proctoring.subscriptions import subscribe as subscribe_proctoring
from vakt.db import POOL_RECYCLE_SECONDS, create_engine, create_sessionmaker
from vakt.errors import VaktError
from vakt.mail import MailPolicy, mailer_for, send_forever
from vakt.notifications import Kinds
from vakt.sessions import SessionActivity
from vakt.settings import Settings
from web import errors
from web.dbsession import DBSessionMiddleware
from web.device import DeviceCookieMiddleware
from web.headers import SecurityHeadersMiddleware
from web.oidc import create_oidc_client
from web.rendering import create_templates
from web.routes import (
    account,
    auth,
    home,
    inbox,
    oidc,
    theme,
    users,
)
from web.routes.certification import appeals as certification_appeals
from web.routes.certification import certificates as certification_certificates
from web.routes.certification import complaints as certification_complaints
from web.routes.certification import decisions as certification_decisions
from web.routes.certification import fees as certification_fees
from web.routes.certification import public as certification_public
from web.routes.certification import staff as certification_staff
from web.routes.exam import api as exam_api
from web.routes.exam import checkin as exam_checkin
from web.routes.exam import exam_page, my_page
from web.routes.exam import oral_settings as exam_oral_settings
from web.routes.exam import results as exam_results
from web.routes.exam import seb as exam_seb
from web.routes.exam import staff as exam_staff
from web.routes.grading import api as grading_api
from web.routes.grading import grader as grading_grader
from web.routes.grading import staff as grading_staff
from web.routes.grading import statistics as grading_statistics
from web.routes.itembank import api as bank_api
from web.routes.itembank import blueprints, items, review, transfer
from web.routes.proctoring import candidate as proctoring_candidate
from web.routes.proctoring import live as proctoring_live
from web.routes.proctoring import policy as proctoring_policy
from web.routes.proctoring import proctor as proctoring_proctor
from web.routes.proctoring import review as proctoring_review
from web.state import AppState


class DEFAULT:
    """Marks an argument left at its default (None has a meaning of its own)."""


STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "vakt_session"
GC_YOUNG_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def routes() -> list[BaseRoute]:
    """Every route of the application."""
    return [
        *home.routes(),
        *theme.routes(),
        *auth.routes(),
        *oidc.routes(),
        *items.routes(),
        *review.routes(),
        *transfer.routes(),
        *bank_api.routes(),
        *blueprints.routes(),
        *exam_api.routes(),
        *my_page.routes(),
        *exam_checkin.routes(),
        *exam_page.routes(),
        *exam_staff.routes(),
        *exam_seb.routes(),
        *exam_oral_settings.routes(),
        *exam_results.routes(),
        *grading_statistics.routes(),
        *grading_staff.routes(),
        *grading_grader.routes(),
        *grading_api.routes(),
        *users.routes(),
        *account.routes(),
        *inbox.routes(),
        *proctoring_candidate.routes(),
        *proctoring_proctor.routes(),
        *proctoring_review.routes(),
        *proctoring_live.routes(),
        *proctoring_policy.routes(),
        *certification_decisions.routes(),
        *certification_fees.routes(),
        *certification_public.routes(),
        *certification_certificates.routes(),
        *certification_staff.routes(),
        *certification_appeals.routes(),
        *certification_complaints.routes(),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def notification_kinds() -> Kinds:
    """Every kind of message the domains send, to write stored messages with."""
    return Kinds.of(exam_notices.KINDS, certification_notices.KINDS)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    session_clock: Clock | None = None,
    identity_check: IdentityCheck | type[DEFAULT] | None = DEFAULT,
    session_activity: SessionActivity | type[DEFAULT] | None = DEFAULT,
) -> Starlette:
    """Build the ASGI application for these settings.

    ``clock``: the time exams go by, for tests; ``session_clock``: the time sessions and
    sign-in throttling go by, the system's unless a test moves it (apart from ``clock``, so
    that a test can move exam time by days and stay signed in); ``identity_check``: what
    identifies candidates before an exam: by default the photo check of proctoring, None skips
    the step; ``session_activity``: what keeps a session alive past the idle timeout: by
    default an exam in progress, None: nothing.
    """
    check: IdentityCheck | None = (
        PhotoIdentityCheck() if isinstance(identity_check, type) else identity_check
    )
    identity_holds = ProctoringIdentityHolds()
    exam_events = ExamEvents()
    subscribe_proctoring(exam_events)
    subscribe_grading(exam_events, identity_holds)
    subscribe_exam_notices(exam_events)
    kinds = notification_kinds()
    activity: SessionActivity | None = (
        AttemptInProgress() if isinstance(session_activity, type) else session_activity
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[AppState]:
        engine = create_engine(
            settings.database_url,
            pool_recycle=POOL_RECYCLE_SECONDS,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        sessionmaker = create_sessionmaker(engine, info=with_events(exam_events))
        time_source = clock or SystemClock()
        analysis = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2, thread_name_prefix="vakt-analysis"
        )
        # Started on first use; "spawn" because forking a process that runs threads is unsafe.
        identity_pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        live = create_live_hub(analysis, identity_pool, time_source.now)
        media = MediaStore(settings.data_dir / "media")
        background: list[asyncio.Task[None]] = []
        if settings.auto_submit_interval_seconds > 0:
            background.append(
                asyncio.create_task(
                    submit_overdue_forever(
                        sessionmaker, time_source, settings.auto_submit_interval_seconds
                    )
                )
            )
        if settings.proctoring_watch_interval_seconds > 0:
            background.append(
                asyncio.create_task(
                    watch_forever(
                        sessionmaker, time_source, settings.proctoring_watch_interval_seconds
                    )
                )
            )
        if settings.grading_claim_check_seconds > 0:
            background.append(
                asyncio.create_task(
                    expire_forever(sessionmaker, time_source, settings.grading_claim_check_seconds)
                )
            )
        if settings.retention_interval_seconds > 0:
            background.append(
                asyncio.create_task(
                    purge_forever(sessionmaker, time_source, settings, AppealMediaHolds())
                )
            )
        if settings.mail_interval_seconds > 0:
            background.append(
                asyncio.create_task(
                    send_forever(
                        sessionmaker,
                        mailer_for(settings),
                        now=time_source.now,
                        policy=MailPolicy.from_settings(settings, kinds),
                        interval_seconds=settings.mail_interval_seconds,
                    )
                )
            )
        # The garbage collector's pauses hold up every request of the worker. What was made
        # while starting lives as long as the process: frozen, the collector's full passes no
        # longer walk it. And a larger youngest generation lets a request's objects die before
        # a collection sees them, instead of being promoted and walked again and again in
        # full passes (measured: 100-200 ms each, every ~10 s at 2,000 candidates).
        thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
        try:
            yield AppState(
                settings=settings,
                engine=engine,
                sessionmaker=sessionmaker,
                templates=create_templates(settings.timezone),
                live_channels=LiveChannels(live, sessionmaker, media),
                media=media,
                candidate_views=CandidateViews(),
                analysis=analysis,
                identity=identity_pool,
                clock=time_source,
                session_clock=session_clock or SystemClock(),
                session_activity=activity,
                oidc=create_oidc_client(settings),
                checkin=CheckIn(check, part_gates=[ProctoredParts()]),
                exam_events=exam_events,
                examiners=ProctoringInvolvement(),
                oral_recordings=OralAnswerRecordings(media),
                recording_receipts=ReceivedChunks(),
                identity_holds=identity_holds,
                reviews=ProctoringReviews(),
                participants=ProctoringInvolvement(),
                regrading=BlindRegrading(),
                notification_kinds=kinds,
                item_statistics=SnapshotStatistics(),
            )
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await live.close_all()
            analysis.shutdown(wait=False, cancel_futures=True)
            identity_pool.shutdown(wait=False, cancel_futures=True)
            await engine.dispose()
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    middleware = [
        Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
        Middleware(
            # The cookie carries the session's id (``web.endpoints.SESSION_ID``); the session
            # itself, and when it ends, is on the server (``vakt.sessions``).
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=settings.session_max_age_seconds,
            same_site="lax",
            https_only=settings.secure_cookies,
        ),
        Middleware(DBSessionMiddleware),
        Middleware(DeviceCookieMiddleware),
    ]
    exception_handlers = {
        VaktError: errors.vakt_error,
        sqlalchemy.exc.TimeoutError: errors.database_busy,
        sqlalchemy.exc.DBAPIError: errors.database_error,
        HTTPException: errors.http_error,
        Exception: errors.server_error,
    }
    return Starlette(
        debug=False,
        routes=routes(),
        middleware=middleware,
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """An app configured from the environment (for ``uvicorn --factory`` with several workers)."""
    return create_app(Settings())
