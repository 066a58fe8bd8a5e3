"""Attachments to appeals: files checked by content (a program disguised as a PDF is refused),
size and count limits, hostile names, stored under generated names; only the candidate, the
appeal handlers and the decision makers see them, every staff download audited; over HTTP the
form on My page with good and bad files, the downloads' headers and the access of others."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import appeals, attachments, decisions
from certification.attachments import AttachmentStore, Upload
from certification.independence import NO_PARTICIPANTS
from certification.models import Appeal, AppealAttachment
from certification.schemas import AppealStatus, DecisionOutcome
from grading.regrading import BlindRegrading
from tests.certification.factories import DECIDED_AT, Ready, ToldReviews, ready_for_decision
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.settings import Settings

pytestmark = pytest.mark.asyncio
OSLO = "Europe/Oslo"
ENGLISH = {"Accept-Language": "en"}
GROUNDS = "The essay was marked against the wrong criteria."
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20)
TEXT = "Merknad til sensuren: oppgave 3 ble ikke vurdert (blåbær).\n".encode()
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"


def _store(settings: Settings) -> AttachmentStore:
    return AttachmentStore(settings.data_dir / "appeal_attachments")


# --- checking files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("vedtak.pdf", PDF, "application/pdf"),
        ("SKJERM.PNG", PNG, "image/png"),
        ("bilde.jpeg", JPEG, "image/jpeg"),
        ("bilde.jpg", JPEG, "image/jpeg"),
        ("merknad.txt", TEXT, "text/plain"),
    ],
)
async def test_accepted_files_are_typed_by_their_content(name: str, data: bytes, kind: str) -> None:
    [checked] = attachments.check_files([Upload(name, data)])
    assert checked.content_type == kind and checked.name == name
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("vedtak.pdf", PROGRAM, "not a PDF, PNG, JPEG or plain text"),  # a program disguised
        ("bilde.pdf", PNG, "not a PDF, PNG, JPEG or plain text"),  # the name and content differ
        ("program.exe", PDF, "not a PDF, PNG, JPEG or plain text"),  # an ending not accepted
        ("noname", TEXT, "not a PDF, PNG, JPEG or plain text"),
        ("nul.txt", b"text with a NUL \x00 byte", "not a PDF, PNG, JPEG or plain text"),
        ("latin1.txt", "bl\u00e5b\u00e6r".encode("latin-1"), "not a PDF, PNG, JPEG"),
        ("tom.pdf", b"", "is empty"),
        ("stor.pdf", PDF + bytes(attachments.MAX_BYTES), "larger than 10 MB"),
    ],
)
async def test_refused_files_are_named_in_the_message(name: str, data: bytes, words: str) -> None:
    with pytest.raises(VaktError) as refused:
        attachments.check_files([Upload("ok.pdf", PDF), Upload(name, data)])
    assert refused.value.status_code == 422 and refused.value.field == "attachments"
    assert words in str(refused.value.message).format(**refused.value.params)
    assert refused.value.params["name"] == name


async def test_at_most_five_files_counting_those_attached_already() -> None:
    assert len(attachments.check_files([Upload(f"{n}.pdf", PDF) for n in range(5)])) == 5
    with pytest.raises(VaktError) as refused:
        attachments.check_files([Upload(f"{n}.pdf", PDF) for n in range(6)])
    assert "at most {count} attachments" in str(refused.value.message)
    with pytest.raises(VaktError):
        attachments.check_files([Upload("a.pdf", PDF), Upload("b.pdf", PDF)], existing=4)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\boot.txt", "boot.txt"),
        ("/absolute/path/x.pdf", "x.pdf"),
        ("a\ud800b\x00c\x1f\x7f.pdf", "abc.pdf"),  # a lone surrogate and control characters
        ("\u202egnp.pdf", "gnp.pdf"),  # a right-to-left override that hides the real ending
        ("  spaced \t name .pdf ", "spaced name .pdf"),
        ("..", "attachment"),
        (".hidden.pdf", "hidden.pdf"),
        ("\ud800", "attachment"),
        ("b\u00e6r\u0301.pdf", "b\u00e6\u0155.pdf"),  # composed (NFC)
    ],
)
async def test_hostile_names_are_cleaned(sent: str, kept: str) -> None:
    assert attachments.clean_name(sent) == kept


async def test_a_long_name_is_cut_with_its_ending_kept() -> None:
    name = attachments.clean_name("x" * 500 + ".pdf")
    assert len(name) == attachments.MAX_NAME_LENGTH and name.endswith(".pdf")


async def test_the_store_takes_only_generated_names(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)
    name = store.write(b"data")
    assert re.fullmatch(r"[0-9a-f]{32}", name) and store.read(name) == b"data"
    for hostile in ("../vakt.sqlite3", "x" * 32, name + "/..", ""):
        with pytest.raises(ValueError):
            store.path(hostile)


# --- with an appeal ----------------------------------------------------------------------


async def _decided(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    await decisions.decide(
        session, registration_id=ready.passed, outcome=DecisionOutcome.REFUSED,
        grounds="Refused for the test.", decider=users["decision_maker"], now=DECIDED_AT,
        reviews=ToldReviews(), participants=NO_PARTICIPANTS, timezone=OSLO,
    )  # fmt: skip
    await session.commit()


async def _file(
    session: AsyncSession, ready: Ready, users: dict[str, User], store: AttachmentStore,
    uploads: list[Upload],
) -> Appeal:  # fmt: skip
    return await appeals.file_appeal(
        session, candidate=users["candidate"], registration_id=ready.passed, grounds=GROUNDS,
        now=DECIDED_AT, timezone=OSLO, uploads=uploads, store=store,
    )  # fmt: skip


async def test_files_are_kept_under_generated_names_and_audited(
    session: AsyncSession, users: dict[str, User], settings: Settings
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users)
    store = _store(settings)
    with pytest.raises(VaktError):  # one bad file: nothing is filed
        await _file(session, ready, users, store, [Upload("a.pdf", PDF), Upload("b.pdf", PNG)])
    assert await session.scalar(select(func.count()).select_from(Appeal)) == 0
    appeal = await _file(
        session, ready, users, store, [Upload("../../vedtak.pdf", PDF), Upload("n.txt", TEXT)]
    )
    await session.commit()
    rows = await attachments.attachments_of(session, appeal.id)
    assert [(r.file_name, r.content_type, r.size) for r in rows] == [
        ("vedtak.pdf", "application/pdf", len(PDF)),
        ("n.txt", "text/plain", len(TEXT)),
    ]
    assert rows[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert rows[0].uploaded_by_id == users["candidate"].id
    assert store.read(rows[0].stored_name) == PDF
    on_disk = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    assert on_disk == sorted(r.stored_name for r in rows), "only generated names, no leftovers"
    added = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "certification.appeal_attachment_added")
        )
    )
    assert len(added) == 2 and added[0].actor_id == users["candidate"].id


async def test_more_files_until_the_outcome_and_only_to_ones_own_appeal(
    session: AsyncSession, users: dict[str, User], settings: Settings
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users)
    store = _store(settings)
    appeal = await _file(session, ready, users, store, [Upload("a.pdf", PDF)] * 3)

    async def add(who: User, uploads: list[Upload]) -> list[AppealAttachment]:
        return await appeals.add_attachments(
            session, candidate=who, appeal_id=appeal.id, uploads=uploads, store=store,
            now=DECIDED_AT,
        )  # fmt: skip

    with pytest.raises(NotFound):
        await add(ready.built.candidates[1], [Upload("b.png", PNG)])
    with pytest.raises(VaktError) as none:
        await add(users["candidate"], [])
    assert none.value.status_code == 422
    with pytest.raises(VaktError):
        await add(users["candidate"], [Upload("b.png", PNG)] * 3)  # 6 in all
    assert len(await add(users["candidate"], [Upload("b.png", PNG)] * 2)) == 2
    with pytest.raises(VaktError):
        await add(users["candidate"], [Upload("c.png", PNG)])  # the sixth
    assert await attachments.count_of(session, appeal.id) == 5

    second = await _file(session, ready, users, store, [])
    await appeals.record_outcome(
        session, handler=users["administrator"], appeal_id=second.id,
        status=AppealStatus.REJECTED, grounds="No error found.", now=DECIDED_AT,
        regrading=BlindRegrading(),
    )  # fmt: skip
    with pytest.raises(Conflict):
        await appeals.add_attachments(
            session, candidate=users["candidate"], appeal_id=second.id,
            uploads=[Upload("late.pdf", PDF)], store=store, now=DECIDED_AT,
        )  # fmt: skip


async def test_only_the_candidate_handlers_and_decision_makers_get_the_files(
    session: AsyncSession, users: dict[str, User], settings: Settings
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users)
    store = _store(settings)
    appeal = await _file(session, ready, users, store, [Upload("vedtak.pdf", PDF)])
    other = await _file(session, ready, users, store, [Upload("annen.txt", TEXT)])
    [row] = await attachments.attachments_of(session, appeal.id)
    [other_row] = await attachments.attachments_of(session, other.id)
    mine = await appeals.own_attachment(session, users["candidate"], appeal.id, row.id, store)
    assert mine.data == PDF and mine.attachment.file_name == "vedtak.pdf"
    with pytest.raises(NotFound):
        await appeals.own_attachment(session, ready.built.candidates[1], appeal.id, row.id, store)
    with pytest.raises(NotFound):  # a file of another appeal under this appeal's id
        await appeals.own_attachment(session, users["candidate"], appeal.id, other_row.id, store)
    for role in ("grader", "proctor", "candidate", "item_writer"):
        with pytest.raises(Forbidden):
            await appeals.staff_attachment(session, users[role], appeal.id, row.id, store)
    for role in ("administrator", "decision_maker"):
        got = await appeals.staff_attachment(session, users[role], appeal.id, row.id, store)
        assert got.data == PDF
    with pytest.raises(NotFound):
        await appeals.staff_attachment(
            session, users["administrator"], appeal.id, other_row.id, store
        )
    downloads = list(
        await session.scalars(
            select(AuditEntry.actor_id).where(
                AuditEntry.action == "certification.appeal_attachment_downloaded"
            )
        )
    )
    assert downloads == [users["administrator"].id, users["decision_maker"].id]
    store.path(row.stored_name).unlink()
    with pytest.raises(NotFound):  # gone from the disk: a 404, not a 500
        await appeals.own_attachment(session, users["candidate"], appeal.id, row.id, store)


# --- over HTTP ---------------------------------------------------------------------------


async def _sign_out(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    await client.post("/logout", data={"csrf_token": csrf_from(home.text)})


async def test_the_form_on_my_page_takes_files_and_refuses_bad_ones(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users)
    await sign_in(client, "candidate")
    my = await client.get("/my", headers=ENGLISH)
    assert 'enctype="multipart/form-data"' in my.text and 'name="attachments"' in my.text
    token = csrf_from(my.text)
    path = f"/my/registrations/{ready.passed}/appeal"
    form = {"csrf_token": token, "grounds": GROUNDS}
    for files, words in (
        ([("attachments", ("vedtak.pdf", PROGRAM, "application/pdf"))], "vedtak.pdf is not a"),
        ([("attachments", ("tom.pdf", b"", "application/pdf"))], "tom.pdf is empty"),
        (
            [("attachments", ("stor.pdf", PDF + bytes(attachments.MAX_BYTES), "application/pdf"))],
            "larger than 10 MB",
        ),
        (
            [("attachments", (f"{n}.pdf", PDF, "application/pdf")) for n in range(6)],
            "at most 5 attachments",
        ),
    ):
        refused = await client.post(path, data=form, files=files, headers=ENGLISH)
        assert refused.status_code == 422 and words in refused.text, words
        assert GROUNDS in refused.text, "the grounds are kept"
        assert "Choose the files to attach again" in refused.text
        assert 'id="appeal-attachments"' in refused.text
    short = await client.post(
        path, data={"csrf_token": token, "grounds": "Too short"},
        files=[("attachments", ("vedtak.pdf", PDF, "application/pdf"))], headers=ENGLISH,
    )  # fmt: skip
    assert short.status_code == 422 and "at least 10 characters" in short.text
    assert "Too short" in short.text and "Choose the files to attach again" in short.text
    no_files = await client.post(
        path, data={"csrf_token": token, "grounds": "Too short"}, headers=ENGLISH
    )
    assert "Choose the files to attach again" not in no_files.text
    assert await session.scalar(select(func.count()).select_from(Appeal)) == 0

    # Written by hand: httpx would escape the control character in the file name.
    boundary = "vakt-test-boundary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="grounds"\r\n\r\n'
            f"{GROUNDS}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="../../..\\vedtak\x01\x1b.pdf"\r\nContent-Type: text/html\r\n\r\n'.encode(),
            PDF + b"\r\n",
            # The empty part a browser sends for a file input left empty.
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n'.encode(),
            f"--{boundary}--\r\n".encode(),
        ]
    )
    filed = await client.post(
        path, content=body,
        headers={**ENGLISH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert filed.status_code == 303, filed.text
    appeal_path = filed.headers["location"].split("?")[0]
    appeal_id = int(appeal_path.rsplit("/", 1)[1])
    page = await client.get(appeal_path, headers=ENGLISH)
    [link] = re.findall(rf'href="(/my/appeals/{appeal_id}/attachments/\d+)"', page.text)
    assert ">vedtak.pdf</a>" in page.text
    download = await client.get(link)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith('attachment; filename="vedtak.pdf"')
    assert "no-store" in download.headers["cache-control"]

    token = csrf_from(page.text)
    more = f"/my/appeals/{appeal_id}/attachments"
    bad = await client.post(
        more, data={"csrf_token": token}, headers=ENGLISH,
        files=[("attachments", ("skjerm.png", PDF, "image/png"))],
    )  # fmt: skip
    assert bad.status_code == 422 and "skjerm.png is not a PDF" in bad.text
    added = await client.post(
        more, data={"csrf_token": token}, headers=ENGLISH,
        files=[("attachments", ("merknad æøå.txt", TEXT, "text/plain"))],
    )  # fmt: skip
    assert added.status_code == 303
    page = await client.get(appeal_path, headers=ENGLISH)
    links = re.findall(rf'href="(/my/appeals/{appeal_id}/attachments/\d+)"', page.text)
    assert len(links) == 2 and "merknad æøå.txt" in page.text
    text = await client.get(links[1])
    assert text.headers["content-type"].startswith("text/plain")
    assert (
        "filename*=UTF-8''merknad%20%C3%A6%C3%B8%C3%A5.txt" in text.headers["content-disposition"]
    )
    await _sign_out(client)

    # Another candidate guessing the ids: 404 for the page, the files and adding files.
    await sign_in(client, "kandidat1", "x" * 12)
    for guess in (appeal_path, link, links[1]):
        assert (await client.get(guess)).status_code == 404, guess
    home = await client.get("/")
    sneaked = await client.post(
        more, data={"csrf_token": csrf_from(home.text)},
        files=[("attachments", ("x.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert sneaked.status_code == 404
    await _sign_out(client)

    staff_link = link.replace("/my/appeals/", "/appeals/")
    for role in ("grader", "proctor"):
        await sign_in(client, role)
        assert (await client.get(staff_link)).status_code == 403, role
        assert (await client.get(link)).status_code == 403, role
        await _sign_out(client)
    for role in ("administrator", "decision_maker"):
        await sign_in(client, role)
        staff_page = await client.get(f"/appeals/{appeal_id}", headers=ENGLISH)
        assert f'href="{staff_link}"' in staff_page.text and ">vedtak.pdf</a>" in staff_page.text
        got = await client.get(staff_link)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert (await client.get(f"/appeals/{appeal_id}/attachments/999999")).status_code == 404
        await _sign_out(client)
    downloads = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "certification.appeal_attachment_downloaded")
    )
    assert downloads == 2
