"""QTI 3.0 and 2.1/2.2 items: reading the published examples, writing, and safe parsing."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from itembank import qti
from itembank.qti import MalformedXml, ParsedItem, UnsafeXml, parse_item, write_item
from itembank.schemas import (
    EssayQuestion,
    ItemDocument,
    MultipleResponseQuestion,
    ScoringRule,
    SingleChoiceQuestion,
)
from itembank.scoring import score_multiple_response
from tests.conftest import shared_testdata


def tiny_png(shade: int = 0) -> bytes:
    """A real 1x1 PNG; ``shade`` makes different files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes([0, shade]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n% a tiny case document\n%%EOF\n"


def sample_documents() -> dict[str, tuple[ItemDocument, dict[str, bytes]]]:
    """One document of every type and scoring rule, with the files each needs."""
    single = ItemDocument.model_validate(
        {
            "external_id": "sc-1",
            "title": "Adrenal glands",
            "type": "single_choice",
            "language": "en",
            "tags": ["physiology", "2024", "level: 1"],
            "stem_html": "<p>Which of the following hormones do the adrenal glands make?</p>",
            "questions": [
                {
                    "type": "single_choice",
                    "prompt_html": "Pick <em>one</em>.",
                    "points": 2,
                    "shuffle": False,
                    "choices": [
                        {"id": "A", "html": "Epinephrine"},
                        {"id": "B", "html": "Glucagon"},
                        {"id": "C", "html": "<p>Insulin</p>"},
                    ],
                    "correct": "A",
                }
            ],
        }
    )

    def multiple(
        external_id: str, scoring: str, question_id: str = "RESPONSE", **extra: object
    ) -> ItemDocument:
        return ItemDocument.model_validate(
            {
                "external_id": external_id,
                "title": f"Water ({scoring})",
                "type": "multiple_response",
                "language": "nb-NO",
                "stem_html": "Vann &amp; stoff",
                "questions": [
                    {
                        "type": "multiple_response",
                        "id": question_id,
                        "prompt_html": "<p>Which elements form water?</p>",
                        "points": 3,
                        "choices": [
                            {"id": "H", "html": "Hydrogen"},
                            {"id": "He", "html": "Helium"},
                            {"id": "O", "html": "Oxygen"},
                            {"id": "Cl", "html": "Chlorine"},
                        ],
                        "correct": ["H", "O"],
                        "max_choices": 3,
                        "scoring": scoring,
                        **extra,
                    }
                ],
            }
        )

    essay = ItemDocument.model_validate(
        {
            "external_id": "essay_1",
            "title": "Inclusive meetings",
            "type": "essay",
            "tags": ["inclusion"],
            "stem_html": "<p>Read the minutes.</p><blockquote>We met. Nobody spoke.</blockquote>",
            "questions": [
                {
                    "type": "essay",
                    "id": "ANSWER",
                    "prompt_html": "Explain what went wrong.",
                    "points": 6,
                    "word_limit": 400,
                    "expected_length": 2000,
                    "guide": {
                        "criteria": [
                            {
                                "name": "Analysis",
                                "description_html": "<p>Names <b>two</b> causes</p>",
                                "max_points": 4,
                            },
                            {"name": "Language", "max_points": 2},
                        ],
                        "notes_html": "<p>Accept any well-argued cause.</p>",
                    },
                }
            ],
            "guide": {"notes_html": "<p>Item-level note for graders.</p>"},
        }
    )
    case = ItemDocument.model_validate(
        {
            "external_id": "case.harbour",
            "title": "The harbour case <draft> & co",
            "type": "case",
            "language": "nb",
            "tags": ["case", "harbour"],
            "stem_html": (
                'Before the paragraph <b>bold</b><p>A ship&nbsp;arrives, "late" &amp; loud.'
                '<br><img src="images/harbour.png" alt="The harbour"></p>'
                "<table><tbody><tr><th>Day</th><td>1</td></tr></tbody></table>"
                '<ul><li>one</li><li>two <a href="https://example.org/x">link</a></li></ul>'
                '<p>See <a href="docs/case.pdf">the case file</a>.</p>'
            ),
            "questions": [
                {
                    "type": "single_choice",
                    "id": "Q1",
                    "prompt_html": "<p>Who is responsible?</p>",
                    "points": 1,
                    "choices": [
                        {"id": "captain", "html": "The captain"},
                        {"id": "pilot", "html": "The pilot"},
                    ],
                    "correct": "pilot",
                },
                {
                    "type": "multiple_response",
                    "id": "Q2",
                    "prompt_html": "Which rules apply?",
                    "points": 2,
                    "choices": [
                        {"id": "r1", "html": "Rule 1"},
                        {"id": "r2", "html": "Rule 2"},
                        {"id": "r3", "html": "Rule 3"},
                    ],
                    "correct": ["r1", "r3"],
                    "scoring": "mapped",
                    "mapping": {"r1": 1, "r3": 1, "r2": -0.5},
                    "mapping_default": 0,
                    "lower_bound": 0,
                    "upper_bound": 2,
                },
                {
                    "type": "essay",
                    "id": "Q3",
                    "prompt_html": "Argue for a change.",
                    "points": 4.5,
                    "word_limit": 250,
                    "guide": {"criteria": [{"name": "Argument", "max_points": 4.5}]},
                },
            ],
            "guide": {
                "criteria": [{"name": "Overall", "max_points": 1}],
                "notes_html": "<p>The harbour map is to scale.</p>",
            },
            "attachments": ["images/harbour.png", "docs/case.pdf", "images/unused.png"],
        }
    )
    oral = ItemDocument.model_validate(
        {
            "external_id": "oral-1",
            "title": "Present yourself",
            "type": "oral",
            "language": "en",
            "stem_html": "<p>You have a minute to prepare.</p>",
            "questions": [
                {
                    "type": "oral",
                    "prompt_html": "Present your last project.",
                    "points": 5,
                    "preparation_seconds": 60,
                    "max_duration_seconds": 180,
                    "guide": {
                        "criteria": [{"name": "Clarity", "max_points": 5}],
                        "notes_html": "Look for structure.",
                    },
                }
            ],
        }
    )
    return {
        "single_choice": (single, {}),
        "multiple_all_or_nothing": (multiple("mr-all", "all_or_nothing"), {}),
        "multiple_per_option": (multiple("mr-per-option", "per_option"), {}),
        "multiple_mapped": (
            multiple(
                "mr-mapped",
                "mapped",
                question_id="PICK",
                mapping={"H": 1.5, "O": 1.5, "Cl": -1},
                mapping_default=-0.25,
                lower_bound=0,
                upper_bound=3,
            ),
            {},
        ),
        "multiple_all_with_extras": (
            multiple(
                "mr-extras",
                "all_or_nothing",
                mapping={"H": 2},
                mapping_default=0.5,
                lower_bound=-1,
            ),
            {},
        ),
        "multiple_per_option_bounds": (
            multiple("mr-bounds", "per_option", lower_bound=0.5, upper_bound=2.5),
            {},
        ),
        "essay": (essay, {}),
        "case": (
            case,
            {
                "images/harbour.png": tiny_png(10),
                "docs/case.pdf": PDF,
                "images/unused.png": tiny_png(20),
            },
        ),
        "oral": (oral, {}),
    }


def reader(files: dict[str, bytes], folder: str) -> Callable[[str], bytes | None]:
    """A ``read_file`` for items stored at ``folder`` beside their files."""
    prefix = f"{folder}/" if folder else ""

    def read(path: str) -> bytes | None:
        if not path.startswith(prefix):
            return None
        return files.get(path.removeprefix(prefix))

    return read


def read_shared(*parts: str) -> bytes:
    return shared_testdata("qti", *parts).read_bytes()


def parse_shared(*parts: str, files: dict[str, bytes] | None = None) -> ParsedItem:
    path = Path(*parts)
    return parse_item(
        read_shared(*parts),
        source=path.name,
        read_file=None if files is None else reader(files, ""),
    )


def messages(parsed: ParsedItem) -> list[str]:
    return [problem.render() for problem in parsed.problems]


# ---- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["qti3", "qti21"])
@pytest.mark.parametrize("kind", list(sample_documents()))
def test_document_survives_a_qti_round_trip(version: qti.QtiVersion, kind: str) -> None:
    document, files = sample_documents()[kind]
    xml = write_item(document, version=version)
    parsed = parse_item(
        xml,
        source=f"items/{document.external_id}/item.xml",
        read_file=reader(files, f"items/{document.external_id}"),
    )
    assert parsed.problems == []
    assert parsed.document == document
    assert parsed.files == files


def test_qti3_output_uses_qti3_names_and_keeps_extras_out_of_the_content() -> None:
    document, _ = sample_documents()["case"]
    root = etree.fromstring(write_item(document, version="qti3"))
    ns = {"q": qti.QTI3_NAMESPACE}
    assert root.tag == f"{{{qti.QTI3_NAMESPACE}}}qti-assessment-item"
    assert root.get("identifier") == "case.harbour"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "nb"
    assert len(root.findall("q:qti-item-body/q:qti-choice-interaction", ns)) == 2
    assert root.find("q:qti-item-body/q:qti-extended-text-interaction", ns) is not None
    assert root.find("q:qti-response-declaration[@identifier='Q2']/q:qti-mapping", ns) is not None
    outcome = root.find("q:qti-outcome-declaration", ns)
    assert outcome is not None and outcome.get("normal-maximum") == "7.5"
    author = root.find("q:qti-item-body/q:qti-rubric-block[@view='author']", ns)
    assert author is not None
    marker = author.find("q:qti-content-body/q:div[@class='vakt-metadata']", ns)
    assert marker is not None and '"tags":["case","harbour"]' in (marker.get("data-vakt") or "")
    scorers = root.findall("q:qti-item-body/q:qti-rubric-block[@view='scorer']", ns)
    assert {rubric.get("id") for rubric in scorers} == {"vakt-guide", "vakt-guide-Q3"}
    # The image keeps its relative name, so the file belongs beside the item file.
    image = root.find(".//q:img", ns)
    assert image is not None and image.get("src") == "images/harbour.png"


def test_qti21_output_uses_camel_case_names() -> None:
    document, _ = sample_documents()["multiple_per_option"]
    root = etree.fromstring(write_item(document, version="qti21"))
    ns = {"q": qti.QTI21_NAMESPACE}
    assert root.tag == f"{{{qti.QTI21_NAMESPACE}}}assessmentItem"
    assert root.get("timeDependent") == "false"
    interaction = root.find("q:itemBody/q:choiceInteraction", ns)
    assert interaction is not None
    assert interaction.get("responseIdentifier") == "RESPONSE"
    assert interaction.get("maxChoices") == "3"
    # Per-option scoring is also written as a QTI mapping so other systems score alike.
    mapping = root.find("q:responseDeclaration/q:mapping", ns)
    assert mapping is not None
    assert mapping.get("defaultValue") == "-1.5" and mapping.get("upperBound") == "3"
    processing = root.find("q:responseProcessing", ns)
    assert processing is not None and (processing.get("template") or "").endswith("map_response")
    rubric = root.find("q:itemBody/q:rubricBlock[@view='author']/q:div", ns)
    assert rubric is not None and rubric.text and '"scoring":"per_option"' in rubric.text


def test_without_vakt_metadata_the_qti_itself_is_read() -> None:
    document, _ = sample_documents()["multiple_per_option"]
    root = etree.fromstring(write_item(document, version="qti3"))
    for rubric in root.iter(f"{{{qti.QTI3_NAMESPACE}}}qti-rubric-block"):
        rubric.getparent().remove(rubric)  # type: ignore[union-attr]
    parsed = parse_item(etree.tostring(root), source="item.xml")
    assert parsed.document is not None
    question = parsed.document.questions[0]
    assert isinstance(question, MultipleResponseQuestion)
    # The derived mapping is all another system would see: it scores as a mapping.
    assert question.scoring is ScoringRule.MAPPED
    assert question.mapping == {"H": 1.5, "O": 1.5}
    assert question.points == 3
    assert parsed.document.tags == []
    assert parsed.document.language == "nb"


# ---- the published examples ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "item_type", "correct"),
    [
        ("BG007.xml", "single_choice", "true"),
        ("BG008.xml", "multiple_response", ["A", "C", "D"]),
        ("BG009.xml", "essay", None),
        ("firstexample.xml", "single_choice", "A"),
        ("QTI3multiplechoice2.xml", "multiple_response", ["H", "O"]),
        ("essay.xml", "essay", None),
        ("rubric_block.xml", "single_choice", "optionD"),
    ],
)
def test_reads_qti3_examples(name: str, item_type: str, correct: object) -> None:
    parsed = parse_shared("qti3", name)
    assert parsed.problems == []
    document = parsed.document
    assert document is not None
    assert document.type.value == item_type
    assert document.language == "en"
    question = document.questions[0]
    if correct is not None:
        assert isinstance(question, SingleChoiceQuestion | MultipleResponseQuestion)
        assert question.correct == correct


def test_bg007_details() -> None:
    document = parse_shared("qti3", "BG007.xml").document
    assert document is not None
    assert document.external_id == "beginnersguide007"
    assert document.title == "BG true false example"
    assert document.stem_html == "<p>This is a True/False question?</p>"
    question = document.questions[0]
    assert isinstance(question, SingleChoiceQuestion)
    assert [choice.html for choice in question.choices] == ["True", "False"]
    assert question.points == 1
    assert question.shuffle is False


def test_bg008_prompt_and_all_or_nothing_from_match_correct() -> None:
    document = parse_shared("qti3", "BG008.xml").document
    assert document is not None
    assert document.stem_html == "<p>QTI 3 is a new version released in 2022.</p>"
    question = document.questions[0]
    assert isinstance(question, MultipleResponseQuestion)
    assert "<strong>new</strong>" in question.prompt_html
    assert question.max_choices == 3
    # match_correct gives points only for exactly the correct set.
    assert question.scoring is ScoringRule.ALL_OR_NOTHING


def test_bg009_essay_keeps_the_postcard_in_the_stem() -> None:
    document = parse_shared("qti3", "BG009.xml").document
    assert document is not None
    assert '<blockquote class="postcard">' in document.stem_html
    assert document.questions[0].prompt_html.startswith("Write Sam a postcard.")


def test_rubric_blocks_go_to_the_guide_or_stay_for_candidates() -> None:
    document = parse_shared("qti3", "rubric_block.xml").document
    assert document is not None
    notes = document.guide.notes_html
    assert "Help the candidate understand" in notes  # tutor
    assert "instructional text for the proctor" in notes  # proctor
    assert "An actual scoring rubric could go here." in notes  # scorer
    candidate_visible = document.stem_html + "".join(q.prompt_html for q in document.questions)
    for confidential in ("Help the candidate", "for the proctor", "scoring rubric"):
        assert confidential not in candidate_visible
    assert "Select the option that best represents the correct answer." in document.stem_html
    assert "Tom walks back and forth" in document.stem_html
    # The sign-language catalog is an alternative rendering, not content.
    assert "video" not in document.stem_html


def test_unsupported_interactions_are_reported_by_name() -> None:
    order = parse_shared("qti3", "QTI3-order.xml")
    assert order.document is None
    assert messages(order) == ["Unsupported interaction: qti-order-interaction"]
    text_entry = parse_shared("qti3", "BG010.xml")
    assert text_entry.document is None
    assert messages(text_entry) == ["Unsupported interaction: qti-text-entry-interaction"]


def test_bg011_reports_the_video_and_the_missing_image() -> None:
    parsed = parse_shared("qti3", "BG011.xml")
    assert parsed.document is None
    found = messages(parsed)
    assert "Unsupported content: video" in found
    assert any(
        "resources/crows.jpg" in message and "not in the upload" in message for message in found
    )


def test_qti22_choice_with_its_image() -> None:
    lone = parse_shared("qti2p2", "choice.xml")
    assert lone.document is None
    assert any("images/sign.png" in message for message in messages(lone))
    image = tiny_png()
    parsed = parse_shared("qti2p2", "choice.xml", files={"images/sign.png": image})
    assert parsed.problems == []
    document = parsed.document
    assert document is not None
    assert document.external_id == "choice"
    assert document.language == "nb"  # no xml:lang
    assert document.attachments == ["images/sign.png"]
    assert '<img src="images/sign.png" alt="NEVER LEAVE LUGGAGE UNATTENDED">' in document.stem_html
    assert parsed.files == {"images/sign.png": image}
    question = document.questions[0]
    assert isinstance(question, SingleChoiceQuestion)
    assert question.correct == "ChoiceA"
    assert question.prompt_html == "What does it say?"


def test_qti22_mapped_partial_credit_scores_as_the_mapping_says() -> None:
    document = parse_shared("qti2p2", "choice_multiple.xml").document
    assert document is not None
    question = document.questions[0]
    assert isinstance(question, MultipleResponseQuestion)
    assert question.scoring is ScoringRule.MAPPED
    assert question.mapping == {"H": 1, "O": 1, "Cl": -1}
    assert question.mapping_default == -2
    assert (question.lower_bound, question.upper_bound) == (0, 2)
    assert question.points == 2  # the mapping's upper bound
    assert question.max_choices == 0
    assert question.shuffle is True
    assert score_multiple_response(question, ["H", "O"]) == 2
    assert score_multiple_response(question, ["H"]) == 1
    assert score_multiple_response(question, ["H", "O", "Cl"]) == 1
    assert score_multiple_response(question, ["H", "He"]) == 0  # 1 - 2, clamped at 0
    assert score_multiple_response(question, []) == 0


def test_qti22_extended_text_turns_the_object_into_an_image() -> None:
    lone = parse_shared("qti2p2", "extended_text.xml")
    assert any("images/postcard.png" in message for message in messages(lone))
    parsed = parse_shared("qti2p2", "extended_text.xml", files={"images/postcard.png": tiny_png()})
    document = parsed.document
    assert document is not None, messages(parsed)
    question = document.questions[0]
    assert isinstance(question, EssayQuestion)
    assert question.expected_length == 200
    assert document.attachments == ["images/postcard.png"]
    assert (
        '<img src="images/postcard.png" alt="Here is a postcard of my town.' in document.stem_html
    )


def test_qti22_scorer_rubric_becomes_the_essay_guide() -> None:
    parsed = parse_shared(
        "qti2p2", "extended_text_rubric.xml", files={"images/postcard.png": tiny_png()}
    )
    document = parsed.document
    assert document is not None, messages(parsed)
    question = document.questions[0]
    assert isinstance(question, EssayQuestion)
    assert "Scoring Guidelines" in question.guide.notes_html
    assert "-0.1 per error" in question.guide.notes_html
    assert "Scoring Guidelines" not in document.stem_html + question.prompt_html


def test_custom_response_processing_that_cannot_be_expressed_is_reported() -> None:
    parsed = parse_shared("qti2p2", "choice_multiple_chocolade.xml")
    assert parsed.document is None
    found = messages(parsed)
    assert any("cannot be expressed" in message and "MR01" in message for message in found)


# ---- constructed items ---------------------------------------------------------------------------


def qti21_item(body: str, declarations: str = "", processing: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="made up!"
  title="Made up" adaptive="false" timeDependent="false" xml:lang="en-US">
  {declarations}
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody>{body}</itemBody>
  {processing}
</assessmentItem>""".encode()


SINGLE_DECLARATION = """<responseDeclaration identifier="R1" cardinality="single"
  baseType="identifier"><correctResponse><value>a</value></correctResponse></responseDeclaration>"""
ESSAY_DECLARATION = '<responseDeclaration identifier="R2" cardinality="single" baseType="string"/>'
CHOICE = """<choiceInteraction responseIdentifier="R1" maxChoices="1">
  <prompt>First?</prompt><simpleChoice identifier="a">A</simpleChoice>
  <simpleChoice identifier="b">B</simpleChoice></choiceInteraction>"""
ESSAY = (
    '<extendedTextInteraction responseIdentifier="R2">'
    "<prompt>Then write.</prompt></extendedTextInteraction>"
)


def test_several_interactions_make_a_case_with_leads_in_the_prompts() -> None:
    xml = qti21_item(
        f"<p>The scenario.</p>{CHOICE}<p>Now think again.</p>{ESSAY}<p>Closing remark.</p>",
        SINGLE_DECLARATION + ESSAY_DECLARATION,
    )
    parsed = parse_item(xml, source="case.xml")
    document = parsed.document
    assert document is not None, messages(parsed)
    assert document.type.value == "case"
    assert document.external_id == "made_up_"
    assert document.language == "en"
    assert document.stem_html == "<p>The scenario.</p><p>Closing remark.</p>"
    assert [q.id for q in document.questions] == ["R1", "R2"]
    assert document.questions[1].prompt_html == "<p>Now think again.</p>Then write."


def test_qti2_unsupported_interaction_uses_the_qti2_name() -> None:
    order = """<orderInteraction responseIdentifier="R1">
      <simpleChoice identifier="a">A</simpleChoice></orderInteraction>"""
    parsed = parse_item(qti21_item(order + CHOICE, SINGLE_DECLARATION), source="order.xml")
    assert messages(parsed) == ["Unsupported interaction: orderInteraction"]


def test_single_choice_needs_a_correct_response() -> None:
    declaration = (
        '<responseDeclaration identifier="R1" cardinality="single" baseType="identifier"/>'
    )
    parsed = parse_item(qti21_item(CHOICE, declaration), source="likert.xml")
    assert parsed.document is None
    assert "no correct response" in messages(parsed)[0]


def test_adaptive_items_and_templates_are_reported() -> None:
    template = '<templateDeclaration identifier="T" cardinality="single" baseType="integer"/>'
    parsed = parse_item(qti21_item(CHOICE, SINGLE_DECLARATION + template), source="t.xml")
    assert "Unsupported feature: templateDeclaration" in messages(parsed)
    adaptive = qti21_item(CHOICE, SINGLE_DECLARATION).replace(
        b'adaptive="false"', b'adaptive="true"'
    )
    assert "Adaptive items are not supported." in messages(parse_item(adaptive, source="a.xml"))


def test_unsupported_content_and_foreign_files_are_reported() -> None:
    body = (
        '<p><img src="http://example.org/tracker.png" alt=""/></p>'
        '<p><img src="../../etc/passwd.png" alt=""/></p>'
        '<p><img src="%2Fetc%2Fhosts.png" alt=""/></p>'
        '<object data="page.html" type="text/html"/>'
        '<m:math xmlns:m="http://www.w3.org/1998/Math/MathML"><m:mi>x</m:mi></m:math>' + CHOICE
    )
    found = messages(parse_item(qti21_item(body, SINGLE_DECLARATION), source="x.xml"))
    assert any("http://example.org/tracker.png" in m and "outside the package" in m for m in found)
    assert any("../../etc/passwd.png" in m and "outside the package" in m for m in found)
    assert any("%2Fetc%2Fhosts.png" in m and "outside the package" in m for m in found)
    assert "Unsupported media: page.html (text/html)" in found
    assert "Unsupported content: math" in found


def test_custom_processing_written_as_match_correct_is_accepted() -> None:
    processing = """<responseProcessing><responseCondition><responseIf>
      <match><variable identifier="R1"/><correct identifier="R1"/></match>
      <setOutcomeValue identifier="SCORE"><baseValue baseType="float">1</baseValue>
      </setOutcomeValue></responseIf><responseElse><setOutcomeValue identifier="SCORE">
      <baseValue baseType="float">0</baseValue></setOutcomeValue></responseElse>
      </responseCondition></responseProcessing>"""
    parsed = parse_item(qti21_item(CHOICE, SINGLE_DECLARATION, processing), source="c.xml")
    assert parsed.problems == []


def test_identifier_and_language_mapping() -> None:
    assert qti.sanitise_identifier("item 1/2") == "item_1_2"
    assert qti.sanitise_identifier("7up") == "_7up"
    assert qti.sanitise_identifier("x" * 100) == "x" * 80


# ---- safe parsing --------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x" title="&lol3;"/>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x" title="x">
<qti-item-body><p>&xxe;</p></qti-item-body></qti-assessment-item>
"""


@pytest.mark.parametrize(
    "data",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b'<?xml version="1.0"?><!DOCTYPE html><html/>',
        BILLION_LAUGHS.decode().replace('encoding="UTF-8"', "").encode("utf-16"),
    ],
    ids=["billion-laughs", "external-entity", "doctype", "utf-16"],
)
def test_document_type_declarations_are_refused(data: bytes) -> None:
    with pytest.raises(UnsafeXml) as caught:
        qti.parse_xml(data, name="evil.xml")
    assert caught.value.params["name"] == "evil.xml"
    assert "document type declaration" in str(caught.value.message)
    with pytest.raises(UnsafeXml):
        parse_item(data, source="evil.xml")


def test_malformed_xml_names_the_line() -> None:
    data = b'<?xml version="1.0"?>\n<qti-assessment-item>\n<p>open\n</qti-assessment-item>'
    with pytest.raises(MalformedXml) as caught:
        qti.parse_xml(data, name="broken.xml")
    assert caught.value.params["line"] == 4
    parsed = parse_item(data, source="broken.xml")
    assert parsed.document is None
    assert "not well-formed XML (line 4" in messages(parsed)[0]


def test_undeclared_entities_are_malformed_not_resolved() -> None:
    parsed = parse_item(b"<a>&nbsp;</a>", source="e.xml")
    assert "not well-formed" in messages(parsed)[0]


def test_not_an_item() -> None:
    parsed = parse_item(b"<manifest/>", source="m.xml")
    assert messages(parsed) == ["The file m.xml is not a QTI assessment item."]
