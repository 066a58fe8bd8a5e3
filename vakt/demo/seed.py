"""Seeding the demo: a scheme, one user per role, an approved Norwegian bank, a blueprint and a
form. Safe to run again: an existing demo is left as it is."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vakt.accounts import Role, User, create_user
from vakt.db import utcnow

DEMO_PASSWORD = "vakt-demo-passord"  # noqa: S105 - printed for the local demo only
DEMO_SCHEME = "MANGFOLD"
DEMO_USERS: list[tuple[str, str, set[Role]]] = [
    ("kandidat", "Kari Kandidat", {Role.CANDIDATE}),
    ("forfatter", "Frida Forfatter", {Role.ITEM_WRITER}),
    ("kontrollor", "Kåre Kontrollør", {Role.ITEM_REVIEWER}),
    ("sensor", "Siri Sensor", {Role.GRADER}),
    ("sensor2", "Stian Sensor", {Role.GRADER}),
    ("sensorleder", "Line Sensorleder", {Role.GRADER}),
    ("vakt", "Viktor Vakt", {Role.PROCTOR}),
    ("beslutter", "Berit Beslutter", {Role.DECISION_MAKER}),
    ("admin", "Ada Administrator", {Role.ADMINISTRATOR}),
]
DEMO_MAIL_DOMAIN = "demo.invalid"
"""The demo users' e-mail addresses are at this domain (RFC 2606: never delivered); without an SMTP
host their e-mails are written to the console."""
DEMO_GRADERS: dict[str, bool] = {"sensor": False, "sensor2": False, "sensorleder": True}
"""The graders qualified for the demo scheme, and whether each is a lead grader."""


def _load(name: str) -> Any:
    with (resources.files("vakt") / "demo" / name).open("rb") as handle:
        return yaml.safe_load(handle)


def demo_items() -> list[dict[str, Any]]:
    """The demo bank: every ``vakt/demo/bank/*.yaml`` file, in name order."""
    folder = resources.files("vakt") / "demo" / "bank"
    items: list[dict[str, Any]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            with entry.open("rb") as handle:
                items.extend(yaml.safe_load(handle))
    return items


async def _seed_sitting(
    session: AsyncSession, scheme_id: int, blueprint_id: int, users: dict[str, User]
) -> None:
    """A sitting open from now for 30 days, with the demo candidate approved and registered."""
    from exam import registrations

    now = utcnow().replace(second=0, microsecond=0)
    admin = users["admin"]
    await registrations.decide_application(
        session, candidate_id=users["kandidat"].id, scheme_id=scheme_id, approve=True,
        actor=admin, now=now, note="Dokumentasjon godkjent (demo)",
    )  # fmt: skip
    sitting = await registrations.create_sitting(
        session, blueprint_id=blueprint_id, name="Demo-eksamen", opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=30), actor=admin,
    )  # fmt: skip
    await registrations.register(
        session, sitting_id=sitting.id, candidate=users["kandidat"], actor=admin
    )


async def _seed_graders(session: AsyncSession, scheme_id: int, users: dict[str, User]) -> None:
    """Qualify the demo's graders for the demo scheme (those not qualified yet), so that scripts
    can be graded, double marked and reconciled right away."""
    from grading import graders

    for username, lead in DEMO_GRADERS.items():
        grader = users[username]
        if any(
            q.scheme_id == scheme_id for q in await graders.qualifications_of(session, grader.id)
        ):
            continue
        await graders.qualify(
            session, grader_id=grader.id, scheme_id=scheme_id, actor=users["admin"],
            now=utcnow(), is_lead=lead,
        )  # fmt: skip


async def seed_demo(session: AsyncSession) -> str:
    """Create the demo data unless it exists; return a summary with the logins."""
    from exam.models import OralSettings
    from exam.oral import OralRules
    from itembank import blueprints, schemes, versions, workflow
    from itembank.models import Scheme
    from itembank.schemas import ItemStatus

    users: dict[str, User] = {}
    for username, full_name, roles in DEMO_USERS:
        existing = await session.scalar(select(User).where(User.username == username))
        users[username] = existing or await create_user(
            session, username=username, full_name=full_name, password=DEMO_PASSWORD, roles=roles,
            language="nb", email=f"{username}@{DEMO_MAIL_DOMAIN}",
        )  # fmt: skip
    if not await session.scalar(select(Scheme.id).where(Scheme.code == DEMO_SCHEME)):
        scheme = await schemes.create_scheme(
            session,
            code=DEMO_SCHEME,
            name="Sertifisert mangfoldsleder (NS 11251)",
            description="Demo-ordning: flervalg, kunnskapsprøve, case og muntlig del.",
            actor_id=users["admin"].id,
        )
        writer, reviewer = users["forfatter"], users["kontrollor"]
        for data in demo_items():
            document = versions.parse_document(data)
            version = await versions.create_item(
                session, scheme_id=scheme.id, document=document, actor_id=writer.id
            )
            await workflow.transition(
                session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
            )
            await workflow.transition(
                session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=reviewer,
                comment="Godkjent i demo",
            )  # fmt: skip
        blueprint_data = _load("blueprint.yaml")
        blueprint = await blueprints.create_blueprint(
            session,
            scheme_id=scheme.id,
            code=blueprint_data["code"],
            name=blueprint_data["name"],
            language=blueprint_data.get("language", "nb"),
            definition=blueprints.parse_blueprint(blueprint_data["definition"]),
            actor_id=users["admin"].id,
        )
        await blueprints.assemble_form(
            session, blueprint_id=blueprint.id, seed=2026, actor_id=users["admin"].id
        )
        # The demo lets a candidate record the oral answer once more.
        session.add(OralSettings(scheme_id=scheme.id, settings=OralRules(retakes=1).model_dump()))
        await _seed_sitting(session, scheme.id, blueprint.id, users)
    demo_scheme = await session.scalar(select(Scheme.id).where(Scheme.code == DEMO_SCHEME))
    assert demo_scheme is not None
    await _seed_graders(session, demo_scheme, users)
    width = max(len(name) for name, _, _ in DEMO_USERS)
    lines = ["Demo users (username — role):"]
    for username, full_name, roles in DEMO_USERS:
        role_names = ", ".join(sorted(r.value for r in roles))
        if DEMO_GRADERS.get(username):
            role_names += " (lead)"
        lines.append(f"  {username.ljust(width)}  {role_names}  ({full_name})")
    return "\n".join(lines)
