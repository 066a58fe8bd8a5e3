"""Importing into and exporting from the bank, through the database."""

from __future__ import annotations

import io
import zipfile

import pytest
from babel.support import NullTranslations
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import schemes, versions, workflow
from itembank.files import FileUpload, read_file
from itembank.models import Item, Scheme
from itembank.schemas import EssayQuestion, ItemStatus, MultipleResponseQuestion, ScoringRule
from itembank.scoring import score_multiple_response
from itembank.transfer import (
    ImportRefused,
    ImportReport,
    ImportStatus,
    detect_format,
    export_items,
    import_items,
)
from tests.conftest import shared_testdata
from tests.itembank.test_qti import BILLION_LAUGHS, EXTERNAL_ENTITY, sample_documents
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.validation import render_message


async def new_scheme(session: AsyncSession, code: str = "DM") -> Scheme:
    return await schemes.create_scheme(session, code=code, name=f"Scheme {code}", actor_id=None)


async def item_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Item)) or 0)


async def import_file(
    session: AsyncSession,
    scheme: Scheme,
    user: User,
    data: bytes,
    filename: str,
    **options: bool,
) -> ImportReport:
    return await import_items(
        session, scheme_id=scheme.id, data=data, filename=filename, actor_id=user.id, **options
    )


def shared(*parts: str) -> bytes:
    return shared_testdata("qti", *parts).read_bytes()


def refused_details(error: ImportRefused) -> list[str]:
    return [render_message(detail, NullTranslations()) for detail in error.details]


# ---- the published examples ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "external_id", "title"),
    [
        ("BG007.xml", "beginnersguide007", "BG true false example"),
        ("BG008.xml", "beginnersguide008", "BG Choice example"),
        ("BG009.xml", "beginnersguide009", "BG Postcard example"),
        ("firstexample.xml", "firstexample", "First Example"),
        (
            "QTI3multiplechoice2.xml",
            "QTI3multiplechoice2",
            "QTI 3 Choice with Multiple Cardinality",
        ),
        ("essay.xml", "essay", "Write an essay"),
        ("rubric_block.xml", "rubric_block", "A Variety of Rubric Blocks in an Item"),
    ],
)
@pytest.mark.asyncio
async def test_imports_qti3_examples(
    session: AsyncSession, users: dict[str, User], name: str, external_id: str, title: str
) -> None:
    scheme = await new_scheme(session)
    report = await import_file(session, scheme, users["item_writer"], shared("qti3", name), name)
    await session.commit()
    assert report.format == "qti-item"
    assert report.problems == []
    (imported,) = report.imported
    assert (imported.external_id, imported.title, imported.status) == (
        external_id,
        title,
        ImportStatus.CREATED,
    )
    assert imported.version_id is not None
    version = await versions.get_version(session, imported.version_id)
    assert version.status == ItemStatus.DRAFT.value
    assert version.author_id == users["item_writer"].id
    assert versions.document_of(version).external_id == external_id


@pytest.mark.asyncio
async def test_rubric_views_are_stored_where_they_belong(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    report = await import_file(
        session,
        scheme,
        users["item_writer"],
        shared("qti3", "rubric_block.xml"),
        "rubric_block.xml",
    )
    assert report.imported[0].version_id is not None
    version = await versions.get_version(session, report.imported[0].version_id)
    document = versions.document_of(version)
    assert "Help the candidate understand" in document.guide.notes_html
    assert "Some instructional text for the proctor here" in document.guide.notes_html
    assert "An actual scoring rubric could go here." in document.guide.notes_html
    assert "Help the candidate" not in document.stem_html
    assert "proctor" not in document.stem_html
    assert "Select the option that best represents the correct answer." in document.stem_html


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "BG010.xml",
            ["BG010.xml (beginnersguide010): Unsupported interaction: qti-text-entry-interaction"],
        ),
        (
            "QTI3-order.xml",
            ["QTI3-order.xml (QTI3-order): Unsupported interaction: qti-order-interaction"],
        ),
    ],
)
@pytest.mark.asyncio
async def test_unsupported_qti3_examples_are_refused_by_name(
    session: AsyncSession, users: dict[str, User], name: str, expected: list[str]
) -> None:
    scheme = await new_scheme(session)
    with pytest.raises(ImportRefused) as caught:
        await import_file(session, scheme, users["item_writer"], shared("qti3", name), name)
    assert caught.value.status_code == 422
    assert refused_details(caught.value) == expected
    assert caught.value.params == {"count": 1}
    assert await item_count(session) == 0


@pytest.mark.asyncio
async def test_a_lone_item_file_reports_the_files_it_lacks(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    for folder, name, missing in [
        ("qti3", "BG011.xml", "resources/crows.jpg"),
        ("qti2p2", "choice.xml", "images/sign.png"),
        ("qti2p2", "extended_text.xml", "images/postcard.png"),
    ]:
        with pytest.raises(ImportRefused) as caught:
            await import_file(session, scheme, users["item_writer"], shared(folder, name), name)
        assert any(
            missing in detail and "content package (zip)" in detail
            for detail in refused_details(caught.value)
        ), refused_details(caught.value)
    assert await item_count(session) == 0


@pytest.mark.asyncio
async def test_qti22_mapped_partial_credit_is_kept(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    report = await import_file(
        session,
        scheme,
        users["item_writer"],
        shared("qti2p2", "choice_multiple.xml"),
        "choice_multiple.xml",
    )
    assert report.imported[0].version_id is not None
    version = await versions.get_version(session, report.imported[0].version_id)
    question = versions.document_of(version).questions[0]
    assert isinstance(question, MultipleResponseQuestion)
    assert question.scoring is ScoringRule.MAPPED
    assert version.max_points == 2
    expected = {("H", "O"): 2, ("O",): 1, ("H", "O", "Cl"): 1, ("H", "C"): 0, ("Cl",): 0}
    for chosen, points in expected.items():
        assert score_multiple_response(question, chosen) == points


@pytest.mark.asyncio
async def test_custom_response_processing_is_refused(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    with pytest.raises(ImportRefused) as caught:
        await import_file(
            session,
            scheme,
            users["item_writer"],
            shared("qti2p2", "choice_multiple_chocolade.xml"),
            "choice_multiple_chocolade.xml",
        )
    details = refused_details(caught.value)
    assert details[0].startswith("choice_multiple_chocolade.xml (choiceMultiple): ")
    assert "cannot be expressed" in details[0]
    assert await item_count(session) == 0


@pytest.mark.asyncio
async def test_an_essay_package_brings_its_image_and_scoring_guide(
    session: AsyncSession, users: dict[str, User]
) -> None:
    with zipfile.ZipFile(io.BytesIO(shared("qti2p2", "items.zip"))) as published:
        postcard = published.read("images/postcard.png")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:  # no manifest: the items are found anyway
        package.writestr("extended_text_rubric.xml", shared("qti2p2", "extended_text_rubric.xml"))
        package.writestr("images/postcard.png", postcard)
    scheme = await new_scheme(session)
    report = await import_file(
        session, scheme, users["item_writer"], buffer.getvalue(), "essay.zip"
    )
    assert report.imported[0].version_id is not None
    version_id = report.imported[0].version_id
    document = versions.document_of(await versions.get_version(session, version_id))
    question = document.questions[0]
    assert isinstance(question, EssayQuestion)
    assert "Scoring Guidelines" in question.guide.notes_html
    assert "Scoring Guidelines" not in document.stem_html
    assert await read_file(session, version_id, "images/postcard.png") == (
        "image/png",
        postcard,
    )


EXPECTED_FROM_ITEMS_ZIP = {
    "choice.xml": "choice",
    "choice_aria.xml": "choice_aria",
    "choice_multiple.xml": "choiceMultiple",
    "essay.xml": "essay",
    "extended_text.xml": "extendedText",
    "figures.xml": "figures",
    "nested_object.xml": "nestedObject",
    "svg.xml": "SVG",
}


@pytest.mark.asyncio
async def test_the_published_package_is_refused_whole_by_default(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    with pytest.raises(ImportRefused) as caught:
        await import_file(
            session, scheme, users["item_writer"], shared("qti2p2", "items.zip"), "items.zip"
        )
    details = refused_details(caught.value)
    assert "order.xml (order): Unsupported interaction: orderInteraction" in details
    assert "match.xml (match): Unsupported interaction: matchInteraction" in details
    assert "slider.xml (slider): Unsupported interaction: sliderInteraction" in details
    assert caught.value.report.imported == []
    assert caught.value.params["count"] == 57 - len(EXPECTED_FROM_ITEMS_ZIP)
    assert await item_count(session) == 0


@pytest.mark.asyncio
async def test_the_published_package_imports_what_it_can_when_asked(
    session: AsyncSession, users: dict[str, User]
) -> None:
    data = shared("qti2p2", "items.zip")
    scheme = await new_scheme(session)
    report = await import_file(
        session, scheme, users["item_writer"], data, "items.zip", skip_unsupported=True
    )
    await session.commit()
    assert report.format == "qti-package"
    assert {item.source: item.external_id for item in report.imported} == EXPECTED_FROM_ITEMS_ZIP
    assert await item_count(session) == len(EXPECTED_FROM_ITEMS_ZIP)
    problems = {(problem.source, problem.render()) for problem in report.problems}
    assert ("order.xml", "Unsupported interaction: orderInteraction") in problems
    assert ("hotspot.xml", "Unsupported interaction: hotspotInteraction") in problems
    assert ("audio-video.xml", "Unsupported content: video") in problems
    assert (
        "choice_fixed.xml",
        "Another item in this import (choice.xml) has the same identifier choice.",
    ) in problems
    sources = {problem.source for problem in report.problems}
    assert len(sources) == 57 - len(EXPECTED_FROM_ITEMS_ZIP)
    assert "choice_multiple_chocolade.xml" in sources
    # Images come along byte for byte.
    by_source = {item.source: item for item in report.imported}
    with zipfile.ZipFile(io.BytesIO(data)) as published:
        for source, name in [
            ("choice.xml", "images/sign.png"),
            ("figures.xml", "images/castle.png"),
            ("svg.xml", "images/rectangle.svg"),
            ("nested_object.xml", "images/postcard.png"),
        ]:
            version_id = by_source[source].version_id
            assert version_id is not None
            _, content = await read_file(session, version_id, name)
            assert content == published.read(name)


@pytest.mark.asyncio
async def test_a_dry_run_reports_and_stores_nothing(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    report = await import_file(
        session,
        scheme,
        users["item_writer"],
        shared("qti2p2", "items.zip"),
        "items.zip",
        dry_run=True,
    )
    assert report.dry_run
    assert len(report.imported) == len(EXPECTED_FROM_ITEMS_ZIP)
    assert all(item.version_id is None for item in report.imported)
    assert all(item.status is ImportStatus.CREATED for item in report.imported)
    assert report.problems
    assert await item_count(session) == 0


# ---- versions ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_importing_again_is_unchanged_and_an_edit_makes_a_new_version(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    writer = users["item_writer"]
    data = shared("qti3", "BG008.xml")
    first = await import_file(session, scheme, writer, data, "BG008.xml")
    again = await import_file(session, scheme, writer, data, "BG008.xml")
    assert again.imported[0].status is ImportStatus.UNCHANGED
    assert again.imported[0].version_id == first.imported[0].version_id
    edited = data.replace(b"Pineapple Flavored", b"Banana Flavored")
    dry = await import_file(session, scheme, writer, edited, "BG008.xml", dry_run=True)
    assert dry.imported[0].status is ImportStatus.NEW_VERSION
    assert dry.imported[0].version_id is None
    changed = await import_file(session, scheme, writer, edited, "BG008.xml")
    assert changed.imported[0].status is ImportStatus.NEW_VERSION
    assert changed.imported[0].version_id is not None
    version = await versions.get_version(session, changed.imported[0].version_id)
    assert version.number == 2
    assert "Banana" in str(version.document)
    assert await item_count(session) == 1


@pytest.mark.asyncio
async def test_an_item_in_review_is_not_versioned_by_an_import(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    writer = users["item_writer"]
    data = shared("qti3", "BG007.xml")
    first = await import_file(session, scheme, writer, data, "BG007.xml")
    assert first.imported[0].version_id is not None
    await workflow.transition(
        session,
        version_id=first.imported[0].version_id,
        to_status=ItemStatus.IN_REVIEW,
        actor=writer,
    )
    edited = data.replace(b"True/False", b"yes/no")
    with pytest.raises(ImportRefused) as caught:
        await import_file(session, scheme, writer, edited, "BG007.xml")
    assert "is in review" in refused_details(caught.value)[0]


# ---- round trips through the database ------------------------------------------------------------


async def store_samples(session: AsyncSession, scheme: Scheme, user: User) -> list[int]:
    version_ids = []
    for document, files in sample_documents().values():
        version = await versions.create_item(
            session,
            scheme_id=scheme.id,
            document=document,
            files=[FileUpload(name, data) for name, data in files.items()],
            actor_id=user.id,
        )
        version_ids.append(version.id)
    await session.commit()
    return version_ids


@pytest.mark.parametrize(
    ("fmt", "media_type", "filename"),
    [
        ("qti3", "application/zip", "vakt-items-qti3.zip"),
        ("qti21", "application/zip", "vakt-items-qti21.zip"),
        ("yaml", "application/yaml", "vakt-items.yaml"),
    ],
)
@pytest.mark.asyncio
async def test_export_then_import_gives_the_same_items_and_files(
    session: AsyncSession, users: dict[str, User], fmt: str, media_type: str, filename: str
) -> None:
    writer = users["item_writer"]
    source = await new_scheme(session, "SRC")
    version_ids = await store_samples(session, source, writer)
    data, exported_type, exported_name = await export_items(
        session,
        version_ids=version_ids,
        fmt=fmt,  # type: ignore[arg-type]
    )
    assert (exported_type, exported_name) == (media_type, filename)

    # Into another scheme: every item is new, and equal to what was exported.
    target = await new_scheme(session, "DST")
    report = await import_file(session, target, writer, data, exported_name)
    await session.commit()
    assert report.problems == []
    assert [item.status for item in report.imported] == [ImportStatus.CREATED] * len(version_ids)
    for original_id, imported in zip(version_ids, report.imported, strict=True):
        original = await versions.get_version(session, original_id)
        assert imported.version_id is not None
        copy = await versions.get_version(session, imported.version_id)
        assert versions.document_of(copy) == versions.document_of(original)
        assert copy.content_hash == original.content_hash
        for name in versions.document_of(original).attachments:
            assert await read_file(session, copy.id, name) == await read_file(
                session, original.id, name
            )

    # Into the same scheme: nothing changed.
    again = await import_file(session, source, writer, data, exported_name)
    assert [item.status for item in again.imported] == [ImportStatus.UNCHANGED] * len(version_ids)
    assert [item.version_id for item in again.imported] == version_ids


@pytest.mark.asyncio
async def test_a_single_item_export_is_named_after_it(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    version_ids = await store_samples(session, scheme, users["item_writer"])
    data, _, filename = await export_items(session, version_ids=[version_ids[0]], fmt="qti3")
    assert filename == "sc-1-qti3.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["imsmanifest.xml", "items/sc-1/sc-1.xml"]


@pytest.mark.asyncio
async def test_export_refusals(session: AsyncSession, users: dict[str, User]) -> None:
    scheme = await new_scheme(session)
    writer = users["item_writer"]
    version_ids = await store_samples(session, scheme, writer)
    with pytest.raises(VaktError, match="Choose at least one item"):
        await export_items(session, version_ids=[], fmt="yaml")
    with pytest.raises(NotFound):
        await export_items(session, version_ids=[999_999], fmt="yaml")
    document = versions.document_of(await versions.get_version(session, version_ids[0]))
    second = await versions.create_version(
        session,
        item_id=(await versions.get_version(session, version_ids[0])).item_id,
        document=document.model_copy(update={"title": "Renamed"}),
        actor_id=writer.id,
    )
    with pytest.raises(VaktError) as caught:
        await export_items(session, version_ids=[version_ids[0], second.id], fmt="qti3")
    assert caught.value.params == {"external_id": "sc-1"}


# ---- uploads that are refused outright -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"", "items.xml", "is empty"),
        (b"just some words", "notes.txt", "is not a QTI package"),
        (BILLION_LAUGHS, "laughs.xml", "document type declaration"),
        (EXTERNAL_ENTITY, "xxe.xml", "document type declaration"),
        (b"not: [valid", "items.yaml", "not valid YAML"),
    ],
    ids=["empty", "unknown", "billion-laughs", "external-entity", "bad-yaml"],
)
@pytest.mark.asyncio
async def test_unreadable_uploads_raise_and_store_nothing(
    session: AsyncSession, users: dict[str, User], data: bytes, filename: str, expected: str
) -> None:
    scheme = await new_scheme(session)
    for skip in (False, True):
        with pytest.raises(VaktError) as caught:
            await import_file(
                session, scheme, users["item_writer"], data, filename, skip_unsupported=skip
            )
        error = caught.value
        assert expected in error.message.msgid.format(**error.params)
    assert await item_count(session) == 0


@pytest.mark.asyncio
async def test_malformed_item_xml_is_refused_with_its_line(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await new_scheme(session)
    data = b'<?xml version="1.0"?>\n<qti-assessment-item>\n<p>\n</qti-assessment-item>\n'
    with pytest.raises(ImportRefused) as caught:
        await import_file(session, scheme, users["item_writer"], data, "broken.xml")
    assert refused_details(caught.value) == [
        "broken.xml: The file broken.xml is not well-formed XML (line 4, column 23)."
    ]
    assert await item_count(session) == 0


@pytest.mark.asyncio
async def test_an_unknown_scheme_is_not_found(
    session: AsyncSession, users: dict[str, User]
) -> None:
    with pytest.raises(NotFound):
        await import_items(
            session,
            scheme_id=12345,
            data=shared("qti3", "BG007.xml"),
            filename="BG007.xml",
            actor_id=users["item_writer"].id,
        )


def test_formats_are_told_apart_by_content_first() -> None:
    assert detect_format(b"PK\x03\x04rest", "upload.bin") == "qti-package"
    assert detect_format(b"anything", "items.ZIP") == "qti-package"
    assert detect_format(b"- external_id: a", "items.yml") == "yaml"
    assert detect_format(b"\xef\xbb\xbf<?xml version='1.0'?>", "item") == "qti-item"
    assert detect_format(b"<qti-assessment-item/>", "item.xml") == "qti-item"
