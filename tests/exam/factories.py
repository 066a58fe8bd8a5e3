"""A ready-to-take exam for delivery tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from exam import declarations, registrations
from exam.checkin import CheckIn, CheckInStep, accept_declaration
from exam.models import Registration, Sitting
from itembank import blueprints, schemes, versions, workflow
from itembank.files import FileUpload
from itembank.models import ItemVersion
from itembank.schemas import ItemDocument, ItemStatus
from proctoring.models import ProctoringPolicy
from proctoring.schemas import Policy
from tests.itembank.factories import essay, single_choice
from vakt.accounts import Role, User, create_user

OPENS = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def _multiple_response(external_id: str) -> ItemDocument:
    return ItemDocument.model_validate(
        {
            "external_id": external_id,
            "title": external_id,
            "type": "multiple_response",
            "questions": [
                {
                    "type": "multiple_response",
                    "points": 2,
                    "choices": [{"id": c, "html": c} for c in "ABCD"],
                    "correct": ["A", "C"],
                    "scoring": "per_option",
                }
            ],
        }
    )


class CheckedIn(CheckIn):
    """A check-in every candidate has done: for tests of what comes after it. The rule itself
    (declarations, then the identity check, through every way in) is tested in
    tests/exam/test_checkin.py and tests/web/test_exam_api.py."""

    def __init__(self) -> None:
        super().__init__(None)

    async def missing_step(
        self, session: AsyncSession, registration: Registration
    ) -> CheckInStep | None:
        return None


CHECKED_IN = CheckedIn()


@dataclass
class Exam:
    sitting_id: int
    registration_id: int
    candidate: User
    other: User
    admin: User


async def set_proctoring(session: AsyncSession, scheme_id: int, policy: Policy | None) -> None:
    """Give the scheme this proctoring policy; None: not proctored (exam delivery tests that are
    not about camera and microphone)."""
    chosen = policy or Policy(enabled=False)
    session.add(ProctoringPolicy(scheme_id=scheme_id, settings=chosen.model_dump(mode="json")))
    await session.flush()


async def build_exam(
    session: AsyncSession, users: dict[str, User], *, proctoring: Policy | None = None
) -> Exam:
    """A scheme with an approved bank, a two-part blueprint, a sitting and two registered
    candidates (the first is ``users["candidate"]``); committed. Not proctored unless a
    ``proctoring`` policy is given."""
    writer, reviewer, admin = users["item_writer"], users["item_reviewer"], users["administrator"]
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    await set_proctoring(session, scheme.id, proctoring)
    documents = [single_choice(f"SC-{n}") for n in range(6)] + [
        _multiple_response(f"MR-{n}") for n in range(4)
    ]
    documents += [essay(f"ES-{n}") for n in range(4)]
    for document in documents:
        version = await versions.create_item(
            session, scheme_id=scheme.id, document=document, actor_id=writer.id
        )
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
        )
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=reviewer
        )
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="B", name="Prøve", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 30,
             "break_after_minutes": 10,
             "rules": [{"item_type": "single_choice", "count": 2}, {"item_type": "multiple_response", "count": 1}]},
            {"key": "kunnskap", "title": "Kunnskap", "kind": "knowledge", "duration_minutes": 60,
             "rules": [{"count": 1}]},
        ]}),
    )  # fmt: skip
    sitting = await registrations.create_sitting(
        session, blueprint_id=blueprint.id, name="Desember", opens_at=OPENS,
        closes_at=OPENS + timedelta(hours=8), actor=admin,
    )  # fmt: skip
    candidate = users["candidate"]
    other = await create_user(
        session,
        username="kandidat2",
        full_name="Kari Annen",
        password="x" * 12,
        roles={Role.CANDIDATE},
    )
    for person in (candidate, other):
        await registrations.decide_application(
            session,
            candidate_id=person.id,
            scheme_id=scheme.id,
            approve=True,
            actor=admin,
            now=OPENS - timedelta(days=30),
        )
    registration = await registrations.register(
        session, sitting_id=sitting.id, candidate=candidate, actor=admin
    )
    await registrations.register(session, sitting_id=sitting.id, candidate=other, actor=admin)
    await session.commit()
    return Exam(sitting.id, registration.id, candidate, other, admin)


async def approved_item(
    session: AsyncSession,
    users: dict[str, User],
    scheme_id: int,
    document: ItemDocument,
    files: Sequence[FileUpload] = (),
) -> ItemVersion:
    """An item written by the writer and approved by the reviewer."""
    writer, reviewer = users["item_writer"], users["item_reviewer"]
    version = await versions.create_item(
        session, scheme_id=scheme_id, document=document, files=files, actor_id=writer.id
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=reviewer
    )
    return version


async def sitting_with_candidate(
    session: AsyncSession,
    users: dict[str, User],
    *,
    blueprint_id: int,
    scheme_id: int,
    name: str,
    opens: datetime,
    hours: int,
) -> tuple[Sitting, Registration]:
    """A sitting of the blueprint open from ``opens`` for ``hours``, and ``users["candidate"]``
    approved for the scheme and registered."""
    admin, candidate = users["administrator"], users["candidate"]
    sitting = await registrations.create_sitting(
        session, blueprint_id=blueprint_id, name=name, opens_at=opens,
        closes_at=opens + timedelta(hours=hours), actor=admin,
    )  # fmt: skip
    await registrations.decide_application(
        session, candidate_id=candidate.id, scheme_id=scheme_id, approve=True, actor=admin,
        now=opens - timedelta(days=30),
    )  # fmt: skip
    registration = await registrations.register(
        session, sitting_id=sitting.id, candidate=candidate, actor=admin
    )
    return sitting, registration


async def build_full_exam(
    session: AsyncSession,
    users: dict[str, User],
    *,
    opens: datetime,
    proctoring: Policy | None = None,
) -> Exam:
    """Every part kind with one item of each type from the demo bank and no breaks, a sitting
    open from ``opens`` for eight hours, and ``users["candidate"]`` registered; committed. Not
    proctored unless a ``proctoring`` policy is given."""
    from vakt.demo.seed import demo_items

    scheme = await schemes.create_scheme(session, code="FULL", name="Mangfold", actor_id=None)
    await set_proctoring(session, scheme.id, proctoring)
    wanted = {"single_choice": 1, "multiple_response": 1, "essay": 1, "case": 1, "oral": 1}
    for data in demo_items():
        if wanted.get(data["type"], 0) == 0:
            continue
        wanted[data["type"]] -= 1
        await approved_item(session, users, scheme.id, versions.parse_document(data))
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="FULL", name="Full prøve", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"allowed_aids": "NS 11251", "parts": [
            {"key": "flervalg", "title": "Flervalgsprøve", "kind": "multiple_choice",
             "duration_minutes": 30, "rules": [{"item_type": "single_choice", "count": 1},
                                               {"item_type": "multiple_response", "count": 1}]},
            {"key": "kunnskap", "title": "Kunnskapsprøve", "kind": "knowledge",
             "duration_minutes": 60, "rules": [{"count": 1}]},
            {"key": "case", "title": "Analyseprøve", "kind": "case", "duration_minutes": 30,
             "rules": [{"count": 1}]},
            {"key": "muntlig", "title": "Muntlig eksamen", "kind": "oral", "duration_minutes": 15,
             "rules": [{"count": 1}]},
        ]}),
    )  # fmt: skip
    sitting, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Full eksamen",
        opens=opens, hours=8,
    )  # fmt: skip
    await session.commit()
    candidate = users["candidate"]
    return Exam(sitting.id, registration.id, candidate, candidate, users["administrator"])


async def build_essay_exam(
    session: AsyncSession,
    users: dict[str, User],
    *,
    opens: datetime,
    minutes: int = 2,
    proctoring: Policy | None = None,
) -> Exam:
    """One short part with one essay, a sitting open from ``opens`` for two hours and
    ``users["candidate"]`` registered with the declarations accepted; committed."""
    scheme = await schemes.create_scheme(session, code="KORT", name="Kort prøve", actor_id=None)
    await set_proctoring(session, scheme.id, proctoring)
    await approved_item(session, users, scheme.id, essay("KORT-1"))
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="KORT", name="Kort prøve", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "kunnskap", "title": "Kunnskapsprøve", "kind": "knowledge",
             "duration_minutes": minutes, "rules": [{"count": 1}]},
        ]}),
    )  # fmt: skip
    sitting, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Kort eksamen",
        opens=opens, hours=2,
    )  # fmt: skip
    candidate, admin = users["candidate"], users["administrator"]
    await accept_declaration(
        session, registration_id=registration.id, candidate=candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="en", now=opens,
    )  # fmt: skip
    await session.commit()
    return Exam(sitting.id, registration.id, candidate, candidate, admin)


def oral_task(external_id: str, *, preparation: int, longest: int) -> ItemDocument:
    """An oral task with this much preparation and answer time (seconds)."""
    return ItemDocument.model_validate(
        {
            "external_id": external_id,
            "title": "Muntlig oppgave",
            "type": "oral",
            "language": "nb",
            "questions": [
                {
                    "type": "oral",
                    "points": 10,
                    "preparation_seconds": preparation,
                    "max_duration_seconds": longest,
                    "prompt_html": "<p>Fortell kort om mangfold i din virksomhet.</p>",
                }
            ],
        }
    )


async def build_oral_exam(
    session: AsyncSession,
    users: dict[str, User],
    *,
    opens: datetime,
    preparation: int = 2,
    longest: int = 3,
    retakes: int = 0,
    proctoring: Policy | None = None,
) -> Exam:
    """One oral part with one short oral task, a sitting open from ``opens`` for two hours,
    ``users["candidate"]`` and a second candidate registered, and the scheme allowing
    ``retakes`` retakes; committed."""
    from exam.models import OralSettings

    scheme = await schemes.create_scheme(session, code="ORAL", name="Muntlig", actor_id=None)
    await set_proctoring(session, scheme.id, proctoring)
    session.add(OralSettings(scheme_id=scheme.id, settings={"retakes": retakes}))
    await approved_item(
        session, users, scheme.id, oral_task("MU-1", preparation=preparation, longest=longest)
    )
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="ORAL", name="Muntlig", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "muntlig", "title": "Muntlig eksamen", "kind": "oral",
             "duration_minutes": 15, "rules": [{"count": 1}]},
        ]}),
    )  # fmt: skip
    sitting, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Muntlig",
        opens=opens, hours=2,
    )  # fmt: skip
    admin = users["administrator"]
    other = await create_user(
        session, username="kandidat2", full_name="Kari Annen", password="x" * 12,
        roles={Role.CANDIDATE},
    )  # fmt: skip
    await registrations.decide_application(
        session, candidate_id=other.id, scheme_id=scheme.id, approve=True, actor=admin,
        now=opens - timedelta(days=30),
    )  # fmt: skip
    await registrations.register(session, sitting_id=sitting.id, candidate=other, actor=admin)
    await session.commit()
    return Exam(sitting.id, registration.id, users["candidate"], other, admin)
