"""What reading an item gives: its document and files, or the problems that stop it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from babel.support import NullTranslations
from pydantic import ValidationError

from itembank.checks import document_errors
from itembank.schemas import ItemDocument
from vakt.errors import VaktError
from vakt.i18n import LazyText, Message, _l
from vakt.validation import render_message


@dataclass(frozen=True)
class Problem:
    """One reason an item cannot be imported; the message is translated when shown."""

    message: LazyText
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, translations: NullTranslations | None = None) -> str:
        """The reason in the reader's language (English without translations)."""
        return render_message(
            Message(self.message, dict(self.params)), translations or NullTranslations()
        )

    @classmethod
    def from_error(cls, error: VaktError) -> Problem:
        """The problem a user-facing error describes."""
        return cls(error.message, dict(error.params))


@dataclass
class ParsedItem:
    """One item read from a file: its document and files, or the problems that stop it."""

    source: str
    """Where the item came from: the file name, or the path inside a package."""
    identifier: str | None = None
    """The identifier the source gives the item, as written there."""
    document: ItemDocument | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    """The content of each attachment, by the name the document uses."""
    problems: list[Problem] = field(default_factory=list)

    def add_problem(self, problem: Problem) -> None:
        """Note a problem once, however often it is found."""
        if problem not in self.problems:
            self.problems.append(problem)


def validation_problems(error: ValidationError) -> list[Problem]:
    """One problem per place a document fails validation, naming the field as the editor does,
    in the reader's language."""
    return [
        Problem(
            _l("The item is not valid: {field}: {error}"),
            {"field": message.params["field"], "error": message.params["problem"]},
        )
        for message in document_errors(error)
    ]
