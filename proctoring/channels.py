"""The live channels of one serving process: the hub's peer connections and, for each
registration, the ``LiveFlagger`` of its current connection.

``LiveChannels`` is made once per process (``web.app.create_app``'s lifespan); opening a channel
is one call: the browser's offer in, the server's answer out.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam.models import Registration
from exam.roles import require
from proctoring.access import PROCTORS, REFUSED
from proctoring.identity import current_profile_photo
from proctoring.involvement import note_involvement
from proctoring.live import LiveConfig, LiveHub, LiveKey
from proctoring.monitor import LiveFlagger
from proctoring.observations import Observation
from proctoring.schemas import LiveAnswer, LiveOffer, Policy, WatchAnswer, WatchOffer
from proctoring.service import context_of
from proctoring.storage import MediaStore
from vakt import audit
from vakt.accounts import User
from vakt.db import MAX_ROW_ID
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l


def live_config(policy: Policy, reference: list[float] | None) -> LiveConfig:
    """How a connection is watched under a scheme's policy, with the candidate's profile photo's
    descriptor (if any) as the face to compare with."""
    return LiveConfig(
        sample_interval_seconds=policy.sample_interval_seconds,
        identity_interval_seconds=policy.identity_interval_seconds,
        reference_descriptor=tuple(reference) if reference else None,
        stall_seconds=policy.media_off_seconds,
    )


class LiveChannels:
    """The process's live channels: ``hub`` holds the peer connections, and observations go to
    the flagger of the registration's current connection (a replaced connection's last words
    are dropped)."""

    def __init__(
        self,
        hub: LiveHub,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: MediaStore,
    ) -> None:
        self.hub = hub
        self._sessionmaker = sessionmaker
        self._store = store
        self._flaggers: dict[int, LiveFlagger] = {}

    def flagger(self, registration_id: int) -> LiveFlagger | None:
        """The flag logic of the registration's current connection in this process."""
        return self._flaggers.get(registration_id)

    async def open(
        self,
        session: AsyncSession,
        registration: Registration,
        offer: LiveOffer,
        *,
        now: datetime,
    ) -> LiveAnswer:
        """Connect the candidate's camera and microphone: answer the browser's offer, and make
        the new connection the registration's current one before the answer goes out.

        Refused (409) when the exam is not proctored or has ended; an offer the server cannot
        use is a 422.
        """
        context = await context_of(session, registration.id)
        if not context.policy.enabled:
            raise Conflict(_l("This exam is not proctored."))
        if context.attempt_over:
            raise Conflict(_l("The exam has ended."))
        profile = await current_profile_photo(session, registration.candidate_id)
        connection_id = secrets.token_hex(16)
        flagger = LiveFlagger(
            registration_id=registration.id,
            policy=context.policy,
            sessionmaker=self._sessionmaker,
            store=self._store,
            connection_id=connection_id,
        )
        flaggers = self._flaggers

        async def on_observation(_key: LiveKey, observation: Observation) -> None:
            # A replaced connection's last words (its close) must not overwrite the new one's state.
            if flaggers.get(registration.id) is flagger:
                await flagger.observe(observation)

        try:
            sdp, kind = await self.hub.answer(
                LiveKey(registration.id, context.current_part.id if context.current_part else None),
                offer.sdp,
                offer.type,
                live_config(context.policy, profile.descriptor if profile else None),
                on_observation,
            )
        except ValueError:
            raise VaktError(
                _l("The browser's connection offer could not be used. Reload the page."),
                status_code=422,
            ) from None
        flaggers[registration.id] = flagger
        try:
            # Committed before the answer goes out: the page then asks about this connection only,
            # and its first observations find it named as the registration's current one.
            await flagger.begin(now)
        except BaseException:
            await self.hub.close(registration.id)
            raise
        return LiveAnswer.model_validate({"sdp": sdp, "type": kind, "connection": connection_id})

    async def watch(
        self,
        session: AsyncSession,
        *,
        registration_id: int,
        offer: WatchOffer,
        viewer: User,
        now: datetime,
    ) -> WatchAnswer:
        """A proctor watches a candidate's live picture and sound, relayed by this process
        (audited; the proctor then grades none of the candidate's answers).

        A 409 when the candidate's live channel is not held by this process: with several
        workers, a proctor's request must reach the worker the candidate's offer reached.
        """
        require(viewer, PROCTORS, REFUSED)
        registration = (
            await session.get(Registration, registration_id)
            if 1 <= registration_id <= MAX_ROW_ID
            else None
        )
        if registration is None:
            raise NotFound(_l("No such registration."))
        try:
            sdp, kind = await self.hub.watch(registration.id, offer.sdp, offer.type)
        except LookupError:
            raise Conflict(
                _l(
                    "This candidate's live picture is not received by this server process "
                    "(the candidate is not connected, or connected to another worker)."
                )
            ) from None
        except ValueError:
            raise VaktError(
                _l("The browser's connection offer could not be used. Reload the page."),
                status_code=422,
            ) from None
        await note_involvement(session, registration_id=registration.id, proctor=viewer, now=now)
        await audit.record(
            session,
            actor_id=viewer.id,
            action="proctoring.live_watched",
            entity_type="registration",
            entity_id=registration.id,
        )
        return WatchAnswer.model_validate({"sdp": sdp, "type": kind})
