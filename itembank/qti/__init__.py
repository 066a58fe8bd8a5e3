"""IMS QTI assessment items (QTI 3.0 and 2.1/2.2): read into item documents, written from them.

Reading: the XML is parsed with a parser that neither loads DTDs nor expands entities, and any
document type declaration is refused. QTI 2.x is first renamed into QTI 3 terms
(``choiceInteraction`` becomes ``qti-choice-interaction``, ``responseIdentifier`` becomes
``response-identifier``) so that one reader serves every version. Whatever Vakt cannot represent
(other interactions, feedback, templates, custom scoring, media other than images) is reported
per item by name instead of being dropped.

Writing: what QTI has a place for goes where QTI expects it; the rest (tags, word limit, scoring
rule, points, guide criteria, oral durations, the item type) travels in an author-view rubric
block holding ``<div class="vakt-metadata">`` with JSON, and grading guides go into scorer-view
rubric blocks. The reader recognises both and takes them out again, so a round trip through QTI
gives back the same document.

The modules, from the bottom up:

- ``safe_xml``: parsing untrusted XML, and the errors that refuse an upload;
- ``names``: versions, namespaces and QTI 2.x names in QTI 3 terms; ``tree``: editing lxml trees
  without losing text;
- ``content``: an item's content between XML and the HTML of item documents;
- ``metadata``: what Vakt adds to QTI so that a round trip loses nothing;
- ``results``: what reading gives (``ParsedItem``, ``Problem``);
- ``reader`` (the item) and ``responses`` (interactions, keys and scoring): QTI to documents;
- ``writer``: documents to QTI;
- ``packages``: content packages (zip files with a manifest), read and written.

This package's own names below are its public face; ``packages`` is imported as a module.
"""

from itembank.qti.metadata import METADATA_VERSION
from itembank.qti.names import (
    QTI3_NAMESPACE,
    QTI21_NAMESPACE,
    QTI22_NAMESPACE,
    QtiVersion,
    item_version_of,
    sanitise_identifier,
)
from itembank.qti.reader import parse_item
from itembank.qti.results import ParsedItem, Problem, validation_problems
from itembank.qti.safe_xml import (
    MAX_XML_BYTES,
    MalformedXml,
    UnsafeXml,
    UploadRefused,
    parse_xml,
)
from itembank.qti.writer import write_item

__all__ = [
    "MAX_XML_BYTES",
    "METADATA_VERSION",
    "QTI3_NAMESPACE",
    "QTI21_NAMESPACE",
    "QTI22_NAMESPACE",
    "MalformedXml",
    "ParsedItem",
    "Problem",
    "QtiVersion",
    "UnsafeXml",
    "UploadRefused",
    "item_version_of",
    "parse_item",
    "parse_xml",
    "sanitise_identifier",
    "validation_problems",
    "write_item",
]
