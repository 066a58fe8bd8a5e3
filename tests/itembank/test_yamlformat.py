"""Vakt's YAML item format: round trips, and what a hand-edited file may get wrong."""

from __future__ import annotations

import base64

import pytest
import yaml

from itembank.qti import ParsedItem
from itembank.schemas import ItemDocument
from itembank.yamlformat import dump_items, parse_items
from tests.itembank.test_qti import sample_documents, tiny_png
from vakt.errors import VaktError

MEDIA_TYPES = {".png": "image/png", ".pdf": "application/pdf"}


def with_media_types(files: dict[str, bytes]) -> dict[str, tuple[str, bytes]]:
    return {name: (MEDIA_TYPES[name[name.rindex(".") :]], data) for name, data in files.items()}


def messages(parsed: ParsedItem) -> list[str]:
    return [problem.render() for problem in parsed.problems]


def minimal_item(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "external_id": "q1",
        "title": "A question",
        "type": "essay",
        "questions": [{"type": "essay", "prompt_html": "Why?"}],
    }
    item.update(changes)
    return item


def as_yaml(*items: object) -> bytes:
    return yaml.safe_dump(list(items), sort_keys=False).encode()


def test_every_document_and_its_files_survive_a_round_trip() -> None:
    samples = sample_documents()
    entries = [(document, with_media_types(files)) for document, files in samples.values()]
    parsed = parse_items(dump_items(entries), source="items.yaml")
    assert [item.problems for item in parsed] == [[] for _ in samples]
    for item, (document, files) in zip(parsed, samples.values(), strict=True):
        assert item.document == document
        assert item.files == files
    assert [item.source for item in parsed][:2] == ["items.yaml #1", "items.yaml #2"]


def test_the_file_is_written_for_people() -> None:
    document, files = sample_documents()["case"]
    text = dump_items([(document, with_media_types(files))]).decode()
    assert text.startswith("# Vakt items.")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, list) and loaded[0]["external_id"] == "case.harbour"
    record = loaded[0]
    assert [entry["name"] for entry in record["files"]] == document.attachments
    assert record["files"][0]["media_type"] == "image/png"
    assert base64.b64decode(record["files"][1]["data"]) == files["docs/case.pdf"]
    # Field order follows the document, so the file reads top down.
    assert list(record)[:4] == ["external_id", "title", "type", "language"]


def test_multi_line_text_is_written_as_a_block() -> None:
    document = ItemDocument.model_validate(minimal_item(stem_html="<p>one</p>\n<p>two</p>"))
    text = dump_items([(document, {})]).decode()
    assert "stem_html: |-\n    <p>one</p>\n    <p>two</p>" in text


def test_a_single_item_without_a_list_is_accepted() -> None:
    data = yaml.safe_dump(minimal_item()).encode()
    (parsed,) = parse_items(data, source="one.yaml")
    assert parsed.document is not None and parsed.document.external_id == "q1"


def test_numbers_and_dates_meant_as_text_stay_text() -> None:
    data = b"""
- external_id: q1
  title: 1984
  type: essay
  tags: [2024, 2024-05-01, ethics]
  questions:
    - type: essay
      prompt_html: Why?
      points: "2"
"""
    (parsed,) = parse_items(data, source="hand.yaml")
    assert parsed.document is not None, messages(parsed)
    assert parsed.document.title == "1984"
    assert parsed.document.tags == ["2024", "2024-05-01", "ethics"]
    assert parsed.document.questions[0].points == 2


def test_files_are_checked_against_the_attachments() -> None:
    png = base64.b64encode(tiny_png()).decode()
    missing, extra, mislabelled, not_base64, twice, unnormalised = parse_items(
        as_yaml(
            minimal_item(attachments=["a.png"]),
            minimal_item(files=[{"name": "b.png", "media_type": "image/png", "data": png}]),
            minimal_item(
                attachments=["c.png"],
                files=[{"name": "c.png", "media_type": "image/jpeg", "data": png}],
            ),
            minimal_item(attachments=["d.png"], files=[{"name": "d.png", "data": "not base64!"}]),
            minimal_item(
                attachments=["e.png"],
                files=[{"name": "e.png", "data": png}, {"name": "e.png", "data": png}],
            ),
            minimal_item(attachments=["./f.png"], files=[{"name": "./f.png", "data": png}]),
        ),
        source="files.yaml",
    )
    assert messages(missing) == ["The item lists the file a.png, but it is not included."]
    assert messages(extra) == [
        "The file b.png is included but not listed in the item's attachments."
    ]
    assert messages(mislabelled) == [
        "The file c.png is said to be image/jpeg, but its content is image/png."
    ]
    assert "The data of the file d.png is not base64." in messages(not_base64)
    assert messages(twice) == ["The file e.png is included twice."]
    assert messages(unnormalised)[0] == "Write the file name ./f.png as f.png."
    for parsed in (missing, extra, mislabelled, not_base64, twice, unnormalised):
        assert parsed.document is None


def test_invalid_items_are_reported_with_where_they_fail() -> None:
    bad_type, not_a_mapping, good = parse_items(
        as_yaml(minimal_item(type="riddle"), "just text", minimal_item(external_id="ok")),
        source="mixed.yaml",
    )
    assert messages(bad_type) == [
        "The item is not valid: Type: must be one of: "
        "'single_choice', 'multiple_response', 'essay', 'case' or 'oral'"
    ]
    assert bad_type.identifier == "q1"
    assert messages(not_a_mapping) == ["This entry is not an item (a set of fields)."]
    assert good.document is not None and good.problems == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"- a: [1, 2\n- b: 3\n", "is not valid YAML (line"),
        (b"a: &x [1, 2]\nb: *x\n", "aliases"),
        (b"- !!python/object/apply:os.system ['true']\n", "is not valid YAML"),
        (b"just a sentence\n", "does not hold a list of items"),
        (b"[]\n", "does not hold a list of items"),
        (b"", "does not hold a list of items"),
        ("- title: Blåbær\n".encode("latin-1"), "is not UTF-8"),
    ],
    ids=["syntax", "alias", "python-object", "scalar", "empty-list", "empty", "latin-1"],
)
def test_unreadable_files_are_refused(data: bytes, expected: str) -> None:
    with pytest.raises(VaktError) as caught:
        parse_items(data, source="bad.yaml")
    error = caught.value
    assert expected in error.message.msgid.format(**error.params)


def test_alias_bombs_are_refused_before_they_expand() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]
    with pytest.raises(VaktError) as caught:
        parse_items("\n".join(lines).encode(), source="bomb.yaml")
    assert "aliases" in caught.value.message.msgid
