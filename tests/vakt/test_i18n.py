"""The translation layer: every user-facing string has a Norwegian translation with the same
placeholders, and languages are negotiated as a reader expects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from vakt.i18n import negotiate_language, normalise_language, translations_for

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")


def _source_messages() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found: set[str] = set()
    # Every package of the project (a new domain is checked without being named here).
    packages = sorted(path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file())
    assert {"certification", "exam", "web"} <= set(packages)
    for folder in (name for name in packages if name != "tests"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            method_map=method_map,
            keywords={"_l": None, "_": None, "gettext": None, "ngettext": (1, 2)},
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            if isinstance(message, tuple):
                # Catalogs key plural entries by their singular text.
                if message[0]:
                    found.add(message[0])
            elif message:
                found.add(message)
    return found


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with (ROOT / "vakt" / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_every_message_has_a_norwegian_translation() -> None:
    catalog = _catalog("nb")
    missing = []
    for msgid in sorted(_source_messages()):
        message = catalog.get(msgid)
        translated = message is not None and message.string and not message.fuzzy
        if isinstance(message.string if message else None, tuple):
            translated = all(message.string)  # type: ignore[union-attr]
        if not translated:
            missing.append(msgid)
    assert not missing, f"{len(missing)} strings lack a Norwegian translation, e.g. {missing[:5]}"


def test_translations_keep_their_placeholders() -> None:
    wrong = []
    for message in _catalog("nb"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if string and set(PLACEHOLDER.findall(string)) != expected:
                wrong.append((ids[0], string))
    assert not wrong, wrong[:5]


def test_catalog_compiles_and_translates() -> None:
    assert translations_for("nb").gettext("Sign in") == "Logg inn"
    assert translations_for("en").gettext("Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "nb"),
        ("", "nb"),
        ("en-GB,en;q=0.9", "en"),
        ("nn-NO,nn;q=0.9,en;q=0.5", "nb"),
        ("de-DE,de;q=0.9,en;q=0.4", "en"),
        ("fr;q=1.0", "nb"),
        ("en;q=0.2,no;q=0.8", "nb"),
        ("en;q=abc", "nb"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected


def test_language_tags_are_normalised() -> None:
    assert normalise_language("nb_NO") == "nb"
    assert normalise_language("EN-us") == "en"
    assert normalise_language("sv") is None
