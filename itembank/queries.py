"""What the bank's pages show, each read in one call: the list, an item with its history, a
preview, blueprints and assembled forms.

Only reads: changes go through the services (``versions``, ``workflow``, ``blueprints``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import quality, search
from itembank.blueprints import (
    BlueprintDefinition,
    BlueprintPart,
    definition_of,
    definition_of_form,
    forms_of,
    get_blueprint,
    get_form,
)
from itembank.models import (
    Blueprint,
    ExamForm,
    Item,
    ItemReviewMark,
    ItemVersion,
    ReviewEvent,
    Scheme,
)
from itembank.schemas import CandidateItem, ItemDocument, candidate_view
from itembank.schemes import list_schemes
from itembank.search import ItemPage, ItemQuery
from itembank.versions import document_of, get_version, list_versions
from itembank.workflow import review_history


@dataclass(frozen=True)
class BankListing:
    """One page of the bank's list, and what its filters offer."""

    results: ItemPage
    schemes: Sequence[Scheme]
    tags: list[str]
    marked: set[int]
    """The versions on the page that are marked for review."""


async def bank_listing(session: AsyncSession, query: ItemQuery) -> BankListing:
    """The items matching the filters (a page of them), every scheme and every tag in use."""
    results = await search.search_items(session, query)
    return BankListing(
        results=results,
        schemes=await list_schemes(session),
        tags=await search.all_tags(session),
        marked=await quality.marked_versions(session, [row.id for row in results.rows]),
    )


@dataclass(frozen=True)
class ItemOverview:
    """An item: one of its versions in full, all its versions and its review history."""

    item: Item
    version: ItemVersion
    """The version shown."""
    latest: ItemVersion
    document: ItemDocument
    """The shown version's document."""
    versions: Sequence[ItemVersion]
    history: Sequence[ReviewEvent]
    marks: Sequence[ItemReviewMark] = ()
    """Why the shown version is marked for review (nothing when it is not)."""
    figures: Sequence[tuple[quality.VersionFigures, quality.Judgement]] = ()
    """The shown version's statistics in each sitting, and what they say against the bounds."""


async def item_overview(
    session: AsyncSession,
    item_id: int,
    version_number: int | None,
    statistics: quality.VersionStatistics | None = None,
) -> ItemOverview:
    """An item with the version of that number shown (the newest when there is none such),
    with its statistics from ``statistics`` and its review marks; a 404 when the item does not
    exist."""
    versions = await list_versions(session, item_id)
    shown = next((v for v in versions if v.number == version_number), versions[-1])
    bounds = await quality.bounds_for_scheme(session, shown.item.scheme_id)
    figures = await (statistics or quality.NoStatistics()).of_version(session, shown.id)
    return ItemOverview(
        item=shown.item,
        version=shown,
        latest=versions[-1],
        document=document_of(shown),
        versions=versions,
        history=await review_history(session, item_id),
        marks=await quality.open_marks(session, shown.id),
        figures=[(f, quality.judge(f, bounds)) for f in figures],
    )


@dataclass(frozen=True)
class Preview:
    """A version and what a candidate sees of it (no key, no guide)."""

    version: ItemVersion
    view: CandidateItem


async def preview(session: AsyncSession, version_id: int) -> Preview:
    """A version exactly as a candidate will see it; a 404 when it does not exist."""
    version = await get_version(session, version_id)
    return Preview(version=version, view=candidate_view(document_of(version)))


@dataclass(frozen=True)
class BlueprintListing:
    """Every blueprint, and the schemes a new one may belong to."""

    blueprints: Sequence[Blueprint]
    schemes: Sequence[Scheme]


async def blueprint_listing(session: AsyncSession, *, by_scheme: bool = True) -> BlueprintListing:
    """Every blueprint by scheme and code (by code alone with ``by_scheme`` false, the order the
    page shown again after a refused blueprint lists them in), and every scheme."""
    order = (Blueprint.scheme_id, Blueprint.code) if by_scheme else (Blueprint.code,)
    rows = (await session.scalars(select(Blueprint).order_by(*order))).all()
    return BlueprintListing(blueprints=rows, schemes=await list_schemes(session))


@dataclass(frozen=True)
class BlueprintOverview:
    """A blueprint, its parts and the forms assembled from it (newest first)."""

    blueprint: Blueprint
    definition: BlueprintDefinition
    forms: Sequence[ExamForm]


async def blueprint_overview(session: AsyncSession, blueprint_id: int) -> BlueprintOverview:
    """A blueprint with its forms; a 404 when it does not exist."""
    blueprint = await get_blueprint(session, blueprint_id)
    return BlueprintOverview(
        blueprint=blueprint,
        definition=definition_of(blueprint),
        forms=await forms_of(session, blueprint.id),
    )


@dataclass(frozen=True)
class FormPart:
    """One part of an assembled form and its pinned item versions, in order."""

    part: BlueprintPart
    rows: list[ItemVersion]


@dataclass(frozen=True)
class FormOverview:
    """An assembled form, part by part."""

    form: ExamForm
    parts: list[FormPart]


async def form_overview(session: AsyncSession, form_id: int) -> FormOverview:
    """A form with the item versions of each part; a 404 when it does not exist."""
    form = await get_form(session, form_id)
    definition = definition_of_form(form)
    version_ids = [row.item_version_id for row in form.items]
    versions = {
        v.id: v
        for v in (
            await session.scalars(select(ItemVersion).where(ItemVersion.id.in_(version_ids)))
        ).all()
    }
    parts = [
        FormPart(
            part=part,
            rows=[versions[r.item_version_id] for r in form.items if r.part_index == index],
        )
        for index, part in enumerate(definition.parts)
    ]
    return FormOverview(form=form, parts=parts)
