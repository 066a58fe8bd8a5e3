"""A sitting handed in for grading, for the graders' page and API tests: a candidate with
distinctive identifying details wrote an essay (its item has a file) and recorded an oral answer
(three chunk files that are one video), and three graders can sign in: two graders and a lead
grader of the scheme."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, saves
from exam.models import AttemptPart
from grading import graders
from grading.models import Script, ScriptKind
from itembank import blueprints, schemes, versions
from itembank.files import FileUpload
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import ItemDocument
from proctoring.models import RecordingChunk
from proctoring.recordings import prepare_recording
from proctoring.storage import MediaStore
from tests.conftest import PASSWORD
from tests.exam.factories import (
    CHECKED_IN,
    OPENS,
    approved_item,
    set_proctoring,
    sitting_with_candidate,
)
from tests.grading.factories import wire_events
from tests.web.helpers import csrf_from
from vakt.accounts import Role, User, create_user
from vakt.demo.seed import demo_items

SECRETS = {
    "username": "zqx_kandidat_4417",
    "full_name": "Zebulon Quaxworthy",
    "email": "zebulon.quaxworthy@example.org",
    "employer": "Quaxworthy Widgets AS",
}
"""The candidate's identity: none of it may reach a grader."""
ESSAY_TEXT = "Mangfold gir bedre beslutninger fordi ulike perspektiver møtes i ledergruppen."
ATTACHMENT = ("notat.pdf", b"%PDF-1.4\n% Bakgrunnsnotat for saken\n%%EOF\n")
CHUNKS = [bytes((i * 7 + k) % 256 for i in range(n)) for k, n in ((1, 1000), (2, 2500), (3, 700))]
"""The oral answer's recording in three pieces; what is served is their concatenation."""
VIDEO = b"".join(CHUNKS)
HANDED_IN = OPENS + timedelta(minutes=30)


def essay_item() -> ItemDocument:
    """The essay: two criteria and a file the stem links to."""
    return ItemDocument.model_validate(
        {
            "external_id": "GR-ES",
            "title": "Drøft mangfoldsledelse",
            "type": "essay",
            "stem_html": '<p>Les <a href="notat.pdf">notatet</a> først.</p>',
            "attachments": [ATTACHMENT[0]],
            "questions": [
                {
                    "type": "essay",
                    "prompt_html": "<p>Drøft mangfoldsledelse.</p>",
                    "points": 10,
                    "word_limit": 400,
                    "guide": {
                        "criteria": [
                            {"name": "Faglig presisjon", "max_points": 6,
                             "description_html": "<p>Presise begreper.</p>"},
                            {"name": "Struktur", "max_points": 4},
                        ],
                        "notes_html": "<p>Sensorveiledningens notater</p>",
                    },
                }
            ],
        }
    )  # fmt: skip


@dataclass
class World:
    sitting_id: int
    scheme_id: int
    registration_id: int
    attempt_id: int
    candidate: User
    graders: list[User]
    lead: User
    essay: Script
    oral: Script


async def grading_team(
    session: AsyncSession, users: dict[str, User], *, scheme_id: int, now: datetime
) -> list[User]:
    """Three graders qualified for the scheme: ``grader``, ``grader_two`` and ``lead_grader``
    (who leads it)."""
    team = [users["grader"]]
    for username in ("grader_two", "lead_grader"):
        team.append(
            await create_user(
                session,
                username=username,
                full_name=f"Sensor {username}",
                password=PASSWORD,
                roles={Role.GRADER},
            )
        )
    for grader in team:
        await graders.qualify(
            session, grader_id=grader.id, scheme_id=scheme_id, actor=users["administrator"],
            now=now, is_lead=grader.username == "lead_grader",
        )  # fmt: skip
    return team


async def build_world(session: AsyncSession, users: dict[str, User], data_dir: Path) -> World:
    """The scheme, its two items, a two-part blueprint, the sitting, the candidate's hand-in of
    both parts (answers saved and the oral recording received as in production), and the
    graders; committed."""
    wire_events(session)
    scheme = await schemes.create_scheme(session, code="GR", name="Sensur", actor_id=None)
    await set_proctoring(session, scheme.id, None)
    await approved_item(session, users, scheme.id, essay_item(), [FileUpload(*ATTACHMENT)])
    oral = next(data for data in demo_items() if data["type"] == "oral")
    await approved_item(session, users, scheme.id, versions.parse_document(oral))
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="GR", name="Sensurprøve", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "kunnskap", "title": "Kunnskapsprøve", "kind": "knowledge",
             "duration_minutes": 60, "rules": [{"item_type": "essay", "count": 1}]},
            {"key": "muntlig", "title": "Muntlig", "kind": "oral", "duration_minutes": 15,
             "rules": [{"item_type": "oral", "count": 1}]},
        ]}),
    )  # fmt: skip
    sitting, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Sensur",
        opens=OPENS, hours=8,
    )  # fmt: skip
    candidate = users["candidate"]
    for name, value in SECRETS.items():
        setattr(candidate, name, value)
    start = OPENS + timedelta(minutes=1)
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=registration.id, candidate=candidate,
        now=start,
    )  # fmt: skip
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    first = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=candidate, now=start
    )
    [row] = [r for r in form.items if r.part_index == 0]
    version = await session.get(ItemVersion, row.item_version_id)
    assert version is not None
    await saves.save_answer(
        session, attempt_part_id=first.id, candidate=candidate, item_version_id=version.id,
        question_id=ItemDocument.model_validate(version.document).questions[0].id, sequence=1,
        value=ESSAY_TEXT, now=start,
    )  # fmt: skip
    await handin.submit_part(session, attempt_part_id=first.id, candidate=candidate, now=start)
    second = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=candidate, now=start
    )
    await _record(session, second, data_dir)
    await handin.submit_part(session, attempt_part_id=second.id, candidate=candidate, now=HANDED_IN)
    team = await grading_team(session, users, scheme_id=scheme.id, now=OPENS)
    await session.commit()
    scripts = list(
        await session.scalars(
            select(Script).where(Script.sitting_id == sitting.id).order_by(Script.id)
        )
    )
    essay = next(s for s in scripts if s.kind == ScriptKind.ESSAY)
    spoken = next(s for s in scripts if s.kind == ScriptKind.ORAL)
    return World(
        sitting.id, scheme.id, registration.id, attempt.id, candidate, team[:2], team[2], essay,
        spoken,
    )  # fmt: skip


async def _record(session: AsyncSession, part: AttemptPart, data_dir: Path) -> None:
    """The oral part's recording as the upload leaves it: chunk rows and their files."""
    store = MediaStore(data_dir / "media")
    recording = await prepare_recording(session, part=part, is_answer=True, now=part.started_at)
    for index, data in enumerate(CHUNKS):
        digest = hashlib.sha256(data).hexdigest()
        store.write_chunk(recording.storage_key, index, digest, data)
        session.add(
            RecordingChunk(
                recording_id=recording.id,
                index=index,
                size=len(data),
                sha256=digest,
                received_at=part.started_at,
                verified=True,
            )
        )
        recording.chunk_count += 1
        recording.total_bytes += len(data)
    recording.last_index = len(CHUNKS) - 1
    await session.flush()


def identity_strings(world: World) -> list[str]:
    """Everything that would tell a grader whose script it is."""
    return [
        *SECRETS.values(),
        f"/registrations/{world.registration_id}",
        f"/attempts/{world.attempt_id}",
        f"registration_id={world.registration_id}",
        f'"registration_id": {world.registration_id}',
    ]


def assert_blind(world: World, response: httpx.Response) -> None:
    """Neither the body, the headers nor a redirect's target names the candidate."""
    seen = [response.text, str(response.url), *(f"{k}: {v}" for k, v in response.headers.items())]
    for text in seen:
        for secret in identity_strings(world):
            assert secret not in text, (secret, response.url)


async def form_token(client: httpx.AsyncClient, path: str = "/grading") -> str:
    """The CSRF token of a page's forms."""
    return csrf_from((await client.get(path)).text)
