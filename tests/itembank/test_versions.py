"""Versions are immutable; forms pin exact versions; old versions stay readable."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import blueprints, service
from itembank.schemas import ItemStatus
from tests.itembank.factories import single_choice
from vakt.accounts import User
from vakt.errors import Conflict, VaktError


async def _approved(
    session: AsyncSession, users: dict[str, User], scheme_id: int, external_id: str
) -> int:
    version = await service.create_item(
        session,
        scheme_id=scheme_id,
        document=single_choice(external_id),
        actor_id=users["item_writer"].id,
    )
    await service.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=users["item_writer"]
    )
    await service.transition(
        session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=users["item_reviewer"]
    )
    return version.id


@pytest.mark.asyncio
async def test_editing_creates_a_new_version_and_keeps_the_old(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await service.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    v1 = await service.create_item(
        session, scheme_id=scheme.id, document=single_choice(), actor_id=users["item_writer"].id
    )
    original = dict(v1.document)
    v2 = await service.create_version(
        session, item_id=v1.item_id, document=single_choice(title="Ny tittel"),
        actor_id=users["item_writer2"].id, change_note="tittel",
    )  # fmt: skip
    await session.commit()
    assert (v1.number, v2.number) == (1, 2)
    assert v2.author_id == users["item_writer2"].id
    reread = await service.get_version(session, v1.id)
    assert reread.document == original
    assert service.document_of(reread).title != service.document_of(v2).title
    changes = service.compare_documents(service.document_of(v1), service.document_of(v2))
    assert [c.path for c in changes] == ["title"]


@pytest.mark.asyncio
async def test_unchanged_edit_and_changed_id_are_refused(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await service.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    v1 = await service.create_item(
        session, scheme_id=scheme.id, document=single_choice(), actor_id=users["item_writer"].id
    )
    with pytest.raises(VaktError):
        await service.create_version(
            session, item_id=v1.item_id, document=single_choice(), actor_id=None
        )
    with pytest.raises(VaktError):
        await service.create_version(
            session, item_id=v1.item_id, document=single_choice("OTHER"), actor_id=None
        )
    with pytest.raises(Conflict):
        await service.create_item(
            session, scheme_id=scheme.id, document=single_choice(), actor_id=None
        )


@pytest.mark.asyncio
async def test_form_pins_versions_even_after_new_versions_are_approved(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await service.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    pinned = [await _approved(session, users, scheme.id, f"SC-{n}") for n in range(3)]
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="B1", name="Prøve", language="nb",
        definition=blueprints.parse_blueprint({"parts": [{
            "key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 30,
            "rules": [{"count": 3}]}]}),
        actor_id=None,
    )  # fmt: skip
    form = await blueprints.assemble_form(session, blueprint_id=blueprint.id, seed=1, actor_id=None)
    await session.commit()
    assert sorted(row.item_version_id for row in form.items) == sorted(pinned)
    first = await service.get_version(session, pinned[0])
    newer = await service.create_version(
        session,
        item_id=first.item_id,
        document=single_choice("SC-0", title="Revidert"),
        actor_id=users["item_writer"].id,
    )
    await service.transition(
        session, version_id=newer.id, to_status=ItemStatus.IN_REVIEW, actor=users["item_writer"]
    )
    await service.transition(
        session, version_id=newer.id, to_status=ItemStatus.APPROVED, actor=users["item_reviewer"]
    )
    await session.commit()
    session.expunge_all()
    again = await blueprints.get_form(session, form.id)
    assert sorted(row.item_version_id for row in again.items) == sorted(pinned)
    old = await service.get_version(session, pinned[0])
    assert old.status == ItemStatus.RETIRED
    assert service.document_of(old).title == "Spørsmål SC-0"


@pytest.mark.asyncio
async def test_candidate_views_are_built_once_without_the_key_and_forget_the_oldest(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await service.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    ids = [await _approved(session, users, scheme.id, f"CV-{n}") for n in range(3)]
    await session.commit()
    views = service.CandidateViews(max_versions=2)

    first = await views.of(session, [ids[0], ids[1], 999_999])
    assert list(first) == [ids[0], ids[1]]  # in the order asked; an unknown id left out
    shown = first[ids[0]].model_dump(mode="json")
    assert [choice["id"] for choice in shown["questions"][0]["choices"]] == ["A", "B", "C"]
    assert "correct" not in repr(shown) and "Norsk Standard" in repr(shown)

    again = await views.of(session, [ids[0]])
    assert again[ids[0]] is first[ids[0]]  # reused, not rebuilt
    await views.of(session, [ids[2]])  # beyond two versions: the least recently shown goes
    assert (await views.of(session, [ids[1]]))[ids[1]] is not first[ids[1]]
