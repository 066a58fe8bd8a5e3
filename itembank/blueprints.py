"""Blueprints (the design of a scheme's exam) and random assembly of forms that meet them.

Assembly is reproducible: the same blueprint, seed and bank give the same form. The form pins
exact item versions, so it stays the same however the bank changes afterwards.
"""

from __future__ import annotations

import enum
import random
import secrets
from collections.abc import Collection, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import Blueprint, ExamForm, ExamFormItem, Item, ItemVersion, ItemVersionTag
from itembank.schemas import ItemStatus, ItemType
from itembank.schemes import get_scheme
from vakt import audit
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import LazyText, _l

MAX_SEARCH_STEPS = 20_000


class PartKind(enum.StrEnum):
    """What a part of an exam tests, and so which item types it may hold."""

    MULTIPLE_CHOICE = "multiple_choice"
    KNOWLEDGE = "knowledge"
    CASE = "case"
    ORAL = "oral"


PART_KIND_LABELS: dict[PartKind, LazyText] = {
    PartKind.MULTIPLE_CHOICE: _l("Multiple choice"),
    PartKind.KNOWLEDGE: _l("Knowledge (open questions)"),
    PartKind.CASE: _l("Case analysis"),
    PartKind.ORAL: _l("Oral (video)"),
}

PART_ITEM_TYPES: dict[PartKind, tuple[ItemType, ...]] = {
    PartKind.MULTIPLE_CHOICE: (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_RESPONSE),
    PartKind.KNOWLEDGE: (ItemType.ESSAY,),
    PartKind.CASE: (ItemType.CASE,),
    PartKind.ORAL: (ItemType.ORAL,),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SelectionRule(_Strict):
    """Pick ``count`` approved items of a type carrying all of ``tags``.

    With ``points`` the picked items must add up to exactly that many points.
    """

    item_type: ItemType | None = None
    tags: list[str] = Field(default_factory=list)
    count: int = Field(ge=1, le=500)
    points: float | None = Field(default=None, gt=0)


class BlueprintPart(_Strict):
    """One part of the exam."""

    key: str = Field(pattern=r"^[a-z0-9_\-]{1,40}$")
    title: str = Field(min_length=1, max_length=200)
    kind: PartKind
    duration_minutes: int = Field(ge=1, le=600)
    pass_threshold: float = Field(default=0.7, gt=0, le=1)
    break_after_minutes: int = Field(default=0, ge=0, le=240)
    shuffle: bool = True
    rules: list[SelectionRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _types_fit_the_part(self) -> BlueprintPart:
        allowed = PART_ITEM_TYPES[self.kind]
        for rule in self.rules:
            if rule.item_type is not None and rule.item_type not in allowed:
                raise ValueError(
                    f"a {self.kind.value} part cannot hold {rule.item_type.value} items"
                )
        return self


class BlueprintDefinition(_Strict):
    """The parts of an exam, in order, and the aids allowed."""

    parts: list[BlueprintPart] = Field(min_length=1, max_length=20)
    allowed_aids: str = ""

    @model_validator(mode="after")
    def _unique_keys(self) -> BlueprintDefinition:
        keys = [part.key for part in self.parts]
        if len(keys) != len(set(keys)):
            raise ValueError("part keys must be unique")
        return self


def parse_blueprint(data: object) -> BlueprintDefinition:
    """Validate a blueprint definition with a clear error."""
    try:
        return BlueprintDefinition.model_validate(data)
    except ValidationError as exc:
        details = [
            f"{'.'.join(str(p) for p in error['loc']) or 'blueprint'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        ]
        raise VaktError(_l("The blueprint is not valid."), details=list(details)) from None


def definition_from_yaml(text: str) -> BlueprintDefinition:
    """Validate a blueprint definition written in YAML (the blueprint page's form)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise VaktError(
            _l("The definition is not valid YAML (line {line})."),
            field="definition",
            line=(mark.line + 1) if mark else "?",
        ) from None
    return parse_blueprint(data)


def definition_of(blueprint: Blueprint) -> BlueprintDefinition:
    """The definition of a stored blueprint (validated when it was stored)."""
    return BlueprintDefinition.model_validate(blueprint.definition)


def definition_of_form(form: ExamForm) -> BlueprintDefinition:
    """The definition a form was assembled from: the blueprint as it was then, whatever
    became of it since."""
    return BlueprintDefinition.model_validate(form.blueprint_snapshot)


async def create_blueprint(
    session: AsyncSession,
    *,
    scheme_id: int,
    code: str,
    name: str,
    language: str,
    definition: BlueprintDefinition,
    actor_id: int | None,
) -> Blueprint:
    """Store a blueprint for a scheme."""
    await get_scheme(session, scheme_id)
    if await session.scalar(
        select(Blueprint.id).where(Blueprint.scheme_id == scheme_id, Blueprint.code == code)
    ):
        raise Conflict(_l("A blueprint with the code {code} exists already."), code=code)
    blueprint = Blueprint(
        scheme_id=scheme_id,
        code=code,
        name=name,
        language=language,
        definition=definition.model_dump(mode="json"),
        created_by_id=actor_id,
    )
    session.add(blueprint)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="blueprint.create",
        entity_type="blueprint",
        entity_id=blueprint.id,
        after={"code": code, "definition": blueprint.definition},
    )
    return blueprint


async def get_blueprint(session: AsyncSession, blueprint_id: int) -> Blueprint:
    """A blueprint by id, or a 404."""
    blueprint = await session.get(Blueprint, blueprint_id)
    if blueprint is None:
        raise NotFound(_l("No such blueprint."))
    return blueprint


_Candidate = Row[int, int, float]
"""A pool entry: (version id, item id, points)."""


def _pool_statement(
    scheme_id: int, language: str, kind: PartKind, rule: SelectionRule
) -> Select[int, int, float]:
    types = [rule.item_type] if rule.item_type else list(PART_ITEM_TYPES[kind])
    statement = (
        select(ItemVersion.id, ItemVersion.item_id, ItemVersion.max_points)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(
            Item.scheme_id == scheme_id,
            ItemVersion.status == ItemStatus.APPROVED,
            ItemVersion.language == language,
            ItemVersion.item_type.in_(types),
        )
    )
    for tag in rule.tags:
        statement = statement.where(
            select(ItemVersionTag.version_id)
            .where(ItemVersionTag.version_id == ItemVersion.id, ItemVersionTag.tag == tag)
            .exists()
        )
    return statement


async def _pick(
    session: AsyncSession,
    statement: Select[int, int, float],
    rule: SelectionRule,
    rng: random.Random,
    used_items: set[int],
) -> tuple[list[_Candidate] | None, int]:
    """Pick a rule's items; returns (the picks or None, how many items fit the rule)."""
    # Core rows, not ORM objects: a pool can hold thousands of candidates.
    connection = await session.connection()
    pool = [
        row
        for row in (await connection.execute(statement.order_by(ItemVersion.item_id))).all()
        if row[1] not in used_items
    ]
    if len(pool) < rule.count:
        return None, len(pool)
    if rule.points is None:
        # Sampling (not shuffling the whole pool) keeps a form quick to assemble from a large bank.
        return rng.sample(pool, rule.count), len(pool)
    rng.shuffle(pool)
    return _pick_with_total(pool, rule.count, rule.points), len(pool)


def _pick_with_total(
    shuffled: list[_Candidate], count: int, total: float
) -> list[_Candidate] | None:
    # Depth-first search over the shuffled pool, pruned by what the remaining items can still add.
    steps = 0
    chosen: list[_Candidate] = []

    def search(start: int, remaining_count: int, remaining_points: float) -> bool:
        nonlocal steps
        steps += 1
        if steps > MAX_SEARCH_STEPS:
            return False
        if remaining_count == 0:
            return abs(remaining_points) < 1e-9
        for index in range(start, len(shuffled) - remaining_count + 1):
            candidate = shuffled[index]
            if candidate[2] - remaining_points > 1e-9:
                continue
            chosen.append(candidate)
            if search(index + 1, remaining_count - 1, remaining_points - candidate[2]):
                return True
            chosen.pop()
        return False

    return chosen[:] if search(0, count, total) else None


async def assemble_form(
    session: AsyncSession,
    *,
    blueprint_id: int,
    seed: int | None = None,
    actor_id: int | None,
    exclude_items: Collection[int] = (),
) -> ExamForm:
    """Assemble a form meeting the blueprint from approved items, reproducibly from ``seed``.

    An item appears at most once in a form, and never one of ``exclude_items`` (item ids, e.g.
    what a candidate saw before a retake). Raises a clear error naming the part and rule that
    the bank cannot satisfy.
    """
    blueprint = await get_blueprint(session, blueprint_id)
    definition = definition_of(blueprint)
    seed = secrets.randbelow(2**62) if seed is None else seed
    rng = random.Random(seed)
    used_items: set[int] = set(exclude_items)
    form_items: list[ExamFormItem] = []
    for part_index, part in enumerate(definition.parts):
        part_picks: list[_Candidate] = []
        for rule_index, rule in enumerate(part.rules):
            statement = _pool_statement(blueprint.scheme_id, blueprint.language, part.kind, rule)
            picks, available = await _pick(session, statement, rule, rng, used_items)
            if picks is None:
                raise Conflict(
                    _l(
                        "The bank cannot fill part {part}, rule {rule}: it needs {count} approved "
                        "items and has {available} that fit."
                    ),
                    part=part.title,
                    rule=rule_index + 1,
                    count=rule.count,
                    available=available,
                )
            used_items.update(c[1] for c in picks)
            part_picks.extend(picks)
        if part.shuffle:
            rng.shuffle(part_picks)
        form_items.extend(
            ExamFormItem(part_index=part_index, position=position, item_version_id=pick[0])
            for position, pick in enumerate(part_picks)
        )
    form = ExamForm(
        blueprint_id=blueprint.id,
        seed=seed,
        blueprint_snapshot=blueprint.definition,
        created_by_id=actor_id,
        items=form_items,
    )
    session.add(form)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="form.assemble",
        entity_type="exam_form",
        entity_id=form.id,
        after={"blueprint_id": blueprint.id, "seed": seed,
               "item_versions": [i.item_version_id for i in form_items]},
    )  # fmt: skip
    return form


async def get_form(session: AsyncSession, form_id: int) -> ExamForm:
    """A form by id, or a 404."""
    form = await session.get(ExamForm, form_id)
    if form is None:
        raise NotFound(_l("No such exam form."))
    return form


async def forms_of(session: AsyncSession, blueprint_id: int) -> Sequence[ExamForm]:
    """The forms assembled from a blueprint, newest first."""
    return (
        await session.scalars(
            select(ExamForm)
            .where(ExamForm.blueprint_id == blueprint_id)
            .order_by(ExamForm.id.desc())
        )
    ).all()
