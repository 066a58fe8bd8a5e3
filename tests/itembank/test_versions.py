"""Versions are immutable; forms pin exact versions; old versions stay readable."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import blueprints, candidate_views, compare, schemes, versions, workflow
from itembank.models import ItemVersion
from itembank.schemas import ItemDocument, ItemStatus, validate_input
from tests.itembank.factories import single_choice
from vakt.accounts import User
from vakt.errors import Conflict, VaktError


async def _approved(
    session: AsyncSession, users: dict[str, User], scheme_id: int, external_id: str
) -> int:
    version = await versions.create_item(
        session,
        scheme_id=scheme_id,
        document=single_choice(external_id),
        actor_id=users["item_writer"].id,
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=users["item_writer"]
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=users["item_reviewer"]
    )
    return version.id


@pytest.mark.asyncio
async def test_editing_creates_a_new_version_and_keeps_the_old(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    v1 = await versions.create_item(
        session, scheme_id=scheme.id, document=single_choice(), actor_id=users["item_writer"].id
    )
    original = dict(v1.document)
    v2 = await versions.create_version(
        session, item_id=v1.item_id, document=single_choice(title="Ny tittel"),
        actor_id=users["item_writer2"].id, change_note="tittel",
    )  # fmt: skip
    await session.commit()
    assert (v1.number, v2.number) == (1, 2)
    assert v2.author_id == users["item_writer2"].id
    reread = await versions.get_version(session, v1.id)
    assert reread.document == original
    assert versions.document_of(reread).title != versions.document_of(v2).title
    changes = compare.compare_documents(versions.document_of(v1), versions.document_of(v2))
    assert [c.path for c in changes] == ["title"]


@pytest.mark.asyncio
async def test_unchanged_edit_and_changed_id_are_refused(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    v1 = await versions.create_item(
        session, scheme_id=scheme.id, document=single_choice(), actor_id=users["item_writer"].id
    )
    with pytest.raises(VaktError):
        await versions.create_version(
            session, item_id=v1.item_id, document=single_choice(), actor_id=None
        )
    with pytest.raises(VaktError):
        await versions.create_version(
            session, item_id=v1.item_id, document=single_choice("OTHER"), actor_id=None
        )
    with pytest.raises(Conflict):
        await versions.create_item(
            session, scheme_id=scheme.id, document=single_choice(), actor_id=None
        )


@pytest.mark.asyncio
async def test_form_pins_versions_even_after_new_versions_are_approved(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
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
    first = await versions.get_version(session, pinned[0])
    newer = await versions.create_version(
        session,
        item_id=first.item_id,
        document=single_choice("SC-0", title="Revidert"),
        actor_id=users["item_writer"].id,
    )
    await workflow.transition(
        session, version_id=newer.id, to_status=ItemStatus.IN_REVIEW, actor=users["item_writer"]
    )
    await workflow.transition(
        session, version_id=newer.id, to_status=ItemStatus.APPROVED, actor=users["item_reviewer"]
    )
    await session.commit()
    session.expunge_all()
    again = await blueprints.get_form(session, form.id)
    assert sorted(row.item_version_id for row in again.items) == sorted(pinned)
    old = await versions.get_version(session, pinned[0])
    assert old.status == ItemStatus.RETIRED
    assert versions.document_of(old).title == "Spørsmål SC-0"


@pytest.mark.asyncio
async def test_candidate_views_are_built_once_without_the_key_and_forget_the_oldest(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    ids = [await _approved(session, users, scheme.id, f"CV-{n}") for n in range(3)]
    await session.commit()
    views = candidate_views.CandidateViews(max_versions=2)

    first = await views.of(session, [ids[0], ids[1], 999_999])
    assert list(first) == [ids[0], ids[1]]  # in the order asked; an unknown id left out
    shown = first[ids[0]].model_dump(mode="json")
    assert [choice["id"] for choice in shown["questions"][0]["choices"]] == ["A", "B", "C"]
    assert "correct" not in repr(shown) and "Norsk Standard" in repr(shown)

    again = await views.of(session, [ids[0]])
    assert again[ids[0]] is first[ids[0]]  # reused, not rebuilt
    await views.of(session, [ids[2]])  # beyond two versions: the least recently shown goes
    assert (await views.of(session, [ids[1]]))[ids[1]] is not first[ids[1]]


def _hostile_documents() -> list[dict[str, Any]]:
    """Documents with what a careless or hostile writer might put in, each in one place."""
    base = single_choice("H-0").model_dump(mode="json")
    documents: list[dict[str, Any]] = []
    html_values = [
        '<video src="a.mp4"></video>', "<style>x</style>", "<script>alert(1)</script>", "<br>",
        "<!-- c -->", "a < b", "<table><p>x</p></table>", "<p>\x00x</p>", "<p>\x01x</p>",
        '<a href="javascript:x()">x</a>', "<b><i>x</b></i>", "&#0;", "   ", "",
    ]  # fmt: skip
    for value in html_values:
        for place in ("stem_html", "prompt_html", "option", "notes_html"):
            document = {**base, "external_id": f"H-{len(documents)}"}
            question = dict(document["questions"][0])
            if place == "stem_html":
                document["stem_html"] = value
            elif place == "prompt_html":
                question["prompt_html"] = value
            elif place == "option":
                question["choices"] = [dict(c) for c in question["choices"]]
                question["choices"][1]["html"] = value
            else:
                document["guide"] = {"criteria": [], "notes_html": value}
            document["questions"] = [question]
            documents.append(document)
    for title in ("Ti\x00tel", "Ti\x07tel", "  Tittel  ", "T" * 301, "\u200b"):
        documents.append({**base, "external_id": f"H-{len(documents)}", "title": title})
    return documents


@pytest.mark.asyncio
async def test_every_stored_version_validates_again_as_new_content(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    refused = 0
    for data in _hostile_documents():
        try:
            document = versions.parse_document(data)
        except VaktError:
            refused += 1
            continue
        await versions.create_item(
            session, scheme_id=scheme.id, document=document, actor_id=users["item_writer"].id
        )
    await session.commit()
    stored = (await session.scalars(select(ItemVersion))).all()
    assert refused and stored
    for version in stored:
        assert validate_input(version.document) == versions.document_of(version)


@pytest.mark.asyncio
async def test_a_document_that_would_not_read_back_is_not_stored(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    data = single_choice().model_dump(mode="json")
    data["questions"][0]["choices"][1]["html"] = '<video src="a.mp4"></video>'
    # Read as a stored version is read, the option is cleaned to nothing without complaint; a
    # caller that skipped validate_input must still not get it stored.
    lenient = ItemDocument.model_validate(data)
    with pytest.raises(VaktError) as caught:
        await versions.create_item(
            session, scheme_id=scheme.id, document=lenient, actor_id=users["item_writer"].id
        )
    assert caught.value.details
    assert await session.scalar(select(func.count()).select_from(ItemVersion)) == 0


@pytest.mark.asyncio
async def test_notes_and_comments_that_cannot_be_stored_are_refused(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    writer = users["item_writer"]
    with pytest.raises(VaktError) as note:
        await versions.create_item(
            session, scheme_id=scheme.id, document=single_choice(), actor_id=writer.id,
            change_note="ny\x00versjon",
        )  # fmt: skip
    assert note.value.field == "change_note"
    version = await versions.create_item(
        session, scheme_id=scheme.id, document=single_choice(), actor_id=writer.id
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    with pytest.raises(VaktError) as comment:
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.DRAFT,
            actor=users["item_reviewer"], comment="nei\x00",
        )  # fmt: skip
    assert comment.value.field == "comment"


@pytest.mark.asyncio
async def test_versions_stored_before_options_were_checked_still_read(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    version_id = await _approved(session, users, scheme.id, "OLD-1")
    # What an older release stored for an option written as <video src=a.mp4>.
    document = single_choice("OLD-1").model_dump(mode="json")
    document["questions"][0]["choices"][1]["html"] = ""
    await session.execute(
        update(ItemVersion).where(ItemVersion.id == version_id).values(document=document)
    )
    await session.commit()
    session.expunge_all()
    version = await versions.get_version(session, version_id)
    assert versions.document_of(version).questions[0].choices[1].html == ""  # type: ignore[union-attr]
    views = await candidate_views.CandidateViews().of(session, [version_id])
    assert [c.html for c in views[version_id].questions[0].choices] == [
        "Norsk Standard", "", "Nasjonal Sak",
    ]  # fmt: skip
