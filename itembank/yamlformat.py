"""Vakt's own YAML item format, for writing and editing items by hand.

A file is a list of items. Each item is the item document's fields as they are (``external_id``,
``title``, ``type``, ``questions``...) plus ``files``: the attachments, each with its ``name``,
``media_type`` and content as base64 in ``data``. Export writes every field, so importing an
export gives back exactly what was exported.

Reading uses PyYAML's safe loader (no Python objects), refuses anchors and aliases (a few lines
of aliases can expand into gigabytes) and keeps dates as text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from itembank.files import safe_file_name, sniff_media_type
from itembank.qti import ParsedItem, Problem, validation_problems
from itembank.schemas import ItemDocument, validate_input
from vakt.errors import VaktError
from vakt.i18n import _l

MAX_YAML_BYTES = 100 * 1024 * 1024
MEDIA_TYPE = "application/yaml"

_HEADER = (
    "# Vakt items. Each item holds the fields of an item document and its files,\n"
    "# with each file's content in base64. Edit the HTML fields as HTML.\n"
)

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader without the timestamp rule, so ``2024-05-01`` stays text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rule) for tag, rule in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Dumper(_SafeDumper):  # type: ignore[misc, valid-type]
    """The safe dumper; text with line breaks is written as a block, as people would."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def dump_items(items: Sequence[tuple[ItemDocument, Mapping[str, tuple[str, bytes]]]]) -> bytes:
    """The items as one YAML file; each item's files are given as name -> (media type, content)."""
    records: list[dict[str, Any]] = []
    for document, files in items:
        record = document.model_dump(mode="json")
        record["files"] = [
            {
                "name": name,
                "media_type": files[name][0],
                "data": base64.encodebytes(files[name][1]).decode("ascii"),
            }
            for name in document.attachments
            if name in files
        ]
        records.append(record)
    text = yaml.dump(
        records, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    return (_HEADER + text).encode("utf-8")


def _load(data: bytes, source: str) -> object:
    if len(data) > MAX_YAML_BYTES:
        raise VaktError(
            _l("The file {name} is larger than {limit} MB."),
            name=source,
            limit=MAX_YAML_BYTES // (1024 * 1024),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VaktError(_l("The file {name} is not UTF-8 text."), name=source) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _has_shared_nodes(node):
            # An alias reuses a node: refusing them rules out "billion laughs" expansion later.
            raise VaktError(
                _l("The file {name} uses YAML aliases (*name), which are not accepted."),
                name=source,
            )
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise VaktError(
            _l("The file {name} is not valid YAML (line {line}, column {column})."),
            name=source,
            line=mark.line + 1 if mark else 0,
            column=mark.column + 1 if mark else 0,
        ) from None
    except (yaml.YAMLError, RecursionError):
        raise VaktError(_l("The file {name} is not valid YAML."), name=source) from None
    finally:
        loader.dispose()


def _has_shared_nodes(root: yaml.Node) -> bool:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return False


def parse_items(data: bytes, *, source: str) -> list[ParsedItem]:
    """Read a YAML file of items; each item comes back with its document or its problems.

    A file that is not YAML, or not a list of items, raises VaktError.
    """
    loaded = _load(data, source)
    if isinstance(loaded, dict) and "external_id" in loaded:
        loaded = [loaded]  # one item on its own is fine too
    if not isinstance(loaded, list) or not loaded:
        raise VaktError(_l("The file {name} does not hold a list of items."), name=source)
    return [_parse_record(record, f"{source} #{index}") for index, record in enumerate(loaded, 1)]


def _parse_record(record: object, source: str) -> ParsedItem:
    parsed = ParsedItem(source=source)
    if not isinstance(record, dict):
        parsed.add_problem(Problem(_l("This entry is not an item (a set of fields).")))
        return parsed
    record = dict(record)
    identifier = record.get("external_id")
    parsed.identifier = str(identifier) if identifier is not None else None
    # Titles and tags such as 2024 are read by YAML as numbers; they are meant as text.
    for key in ("title", "external_id"):
        if isinstance(record.get(key), int | float) and not isinstance(record.get(key), bool):
            record[key] = str(record[key])
    if isinstance(record.get("tags"), list):
        record["tags"] = [
            str(tag) if isinstance(tag, int | float) and not isinstance(tag, bool) else tag
            for tag in record["tags"]
        ]
    files, rejected = _read_files(record.pop("files", None) or [], parsed)
    try:
        document = validate_input(record)
    except ValidationError as exc:
        for problem in validation_problems(exc):
            parsed.add_problem(problem)
        return parsed
    for name in document.attachments:
        try:
            normal = safe_file_name(name)
        except VaktError as exc:
            parsed.add_problem(Problem.from_error(exc))
            continue
        if normal != name:
            parsed.add_problem(
                Problem(
                    _l("Write the file name {name} as {normal}."), {"name": name, "normal": normal}
                )
            )
        elif name not in files and name not in rejected:
            parsed.add_problem(
                Problem(
                    _l("The item lists the file {name}, but it is not included."), {"name": name}
                )
            )
    for name in files:
        if name not in document.attachments:
            parsed.add_problem(
                Problem(
                    _l("The file {name} is included but not listed in the item's attachments."),
                    {"name": name},
                )
            )
    if not parsed.problems:
        parsed.document = document
        parsed.files = files
    return parsed


def _read_files(entries: object, parsed: ParsedItem) -> tuple[dict[str, bytes], set[str]]:
    """The files of an item by name, and the names of files refused (already reported)."""
    files: dict[str, bytes] = {}
    rejected: set[str] = set()
    if not isinstance(entries, list):
        parsed.add_problem(Problem(_l("The files of an item must be a list.")))
        return files, rejected
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            parsed.add_problem(Problem(_l("Each file needs a name and its data.")))
            continue
        name = entry["name"]
        rejected.add(name)
        data = entry.get("data")
        try:
            if not isinstance(data, str):
                raise ValueError
            content = base64.b64decode("".join(data.split()), validate=True)
        except (ValueError, binascii.Error):
            parsed.add_problem(
                Problem(_l("The data of the file {name} is not base64."), {"name": name})
            )
            continue
        if name in files:
            parsed.add_problem(Problem(_l("The file {name} is included twice."), {"name": name}))
            continue
        declared = entry.get("media_type")
        if declared is not None:
            try:
                actual = sniff_media_type(name, content)
            except VaktError as exc:
                parsed.add_problem(Problem.from_error(exc))
                continue
            if str(declared).strip().lower() != actual:
                parsed.add_problem(
                    Problem(
                        _l(
                            "The file {name} is said to be {declared}, but its content is {actual}."
                        ),
                        {"name": name, "declared": str(declared)[:100], "actual": actual},
                    )
                )
                continue
        files[name] = content
        rejected.discard(name)
    return files, rejected
