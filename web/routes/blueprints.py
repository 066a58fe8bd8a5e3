"""Blueprints and assembled exam forms (staff and the bank's roles)."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from itembank import blueprints, service
from itembank.models import Blueprint, ItemVersion
from itembank.schemas import TYPE_LABELS
from itembank.service import BANK_ROLES
from vakt.accounts import Role
from vakt.errors import VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, page
from web.i18n import translate
from web.rendering import render


async def blueprint_list(request: Request) -> Response:
    """Every blueprint, by scheme."""
    session = db(request)
    rows = (
        await session.scalars(select(Blueprint).order_by(Blueprint.scheme_id, Blueprint.code))
    ).all()
    return render(
        request,
        "blueprints/list.html",
        {
            "blueprints": rows,
            "schemes": await service.list_schemes(session),
            "error": None,
            "errors": [],
            "form": {},
        },
    )


async def create_blueprint(request: Request) -> Response:
    """Store a blueprint written in YAML."""
    form = await request.form()
    session = db(request)
    values = {
        key: form_str(form, key) for key in ("scheme_id", "code", "name", "language", "definition")
    }
    try:
        if not values["scheme_id"].isdigit():
            raise VaktError(_l("Choose the scheme."), field="scheme_id")
        if not values["code"] or not values["name"]:
            raise VaktError(_l("A blueprint needs a code and a name."), field="code")
        try:
            data = yaml.safe_load(values["definition"])
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise VaktError(
                _l("The definition is not valid YAML (line {line})."),
                field="definition",
                line=(mark.line + 1) if mark else "?",
            ) from None
        definition = blueprints.parse_blueprint(data)
        blueprint = await blueprints.create_blueprint(
            session,
            scheme_id=int(values["scheme_id"]),
            code=values["code"],
            name=values["name"],
            language=values["language"] or "nb",
            definition=definition,
            actor_id=current_user(request).id,
        )
    except VaktError as exc:
        rows = (await session.scalars(select(Blueprint).order_by(Blueprint.code))).all()
        return render(
            request,
            "blueprints/list.html",
            {
                "blueprints": rows,
                "schemes": await service.list_schemes(session),
                "error": translate(request, exc.message, exc.params),
                "errors": [translate(request, d) for d in exc.details],
                "form": values,
            },
            status_code=exc.status_code if exc.status_code != 400 else 422,
        )
    return RedirectResponse(f"/blueprints/{blueprint.id}", status_code=303)


async def blueprint_detail(request: Request) -> Response:
    """A blueprint's parts and the forms assembled from it."""
    session = db(request)
    blueprint = await blueprints.get_blueprint(session, int(request.path_params["blueprint_id"]))
    definition = blueprints.BlueprintDefinition.model_validate(blueprint.definition)
    return render(
        request,
        "blueprints/detail.html",
        {
            "blueprint": blueprint,
            "definition": definition,
            "kind_labels": {
                k.value: translate(request, v) for k, v in blueprints.PART_KIND_LABELS.items()
            },
            "type_labels": {k.value: translate(request, v) for k, v in TYPE_LABELS.items()},
            "forms": await blueprints.forms_of(session, blueprint.id),
        },
    )


async def assemble(request: Request) -> Response:
    """Assemble a form from the blueprint (a seed makes it reproducible)."""
    form = await request.form()
    seed_text = form_str(form, "seed").strip()
    if seed_text and (not seed_text.isdigit() or len(seed_text) > 18):
        raise VaktError(_l("The seed must be a whole number."), field="seed")
    exam_form = await blueprints.assemble_form(
        db(request),
        blueprint_id=int(request.path_params["blueprint_id"]),
        seed=int(seed_text) if seed_text else None,
        actor_id=current_user(request).id,
    )
    return RedirectResponse(f"/forms/{exam_form.id}", status_code=303)


async def form_detail(request: Request) -> Response:
    """An assembled form: each part with its pinned item versions."""
    session = db(request)
    exam_form = await blueprints.get_form(session, int(request.path_params["form_id"]))
    definition = blueprints.BlueprintDefinition.model_validate(exam_form.blueprint_snapshot)
    version_ids = [row.item_version_id for row in exam_form.items]
    versions = {
        v.id: v
        for v in (
            await session.scalars(select(ItemVersion).where(ItemVersion.id.in_(version_ids)))
        ).all()
    }
    parts: list[dict[str, Any]] = [
        {
            "part": part,
            "rows": [versions[r.item_version_id] for r in exam_form.items if r.part_index == index],
        }
        for index, part in enumerate(definition.parts)
    ]
    return render(request, "blueprints/form.html", {"form": exam_form, "parts": parts})


def routes() -> list[BaseRoute]:
    """Blueprint and form routes."""
    staff = (Role.ADMINISTRATOR,)
    return [
        page("/blueprints", blueprint_list, roles=BANK_ROLES),
        page(
            "/blueprints", create_blueprint, methods=["POST"], roles=staff, name="create_blueprint"
        ),
        page("/blueprints/{blueprint_id:id}", blueprint_detail, roles=BANK_ROLES),
        page("/blueprints/{blueprint_id:id}/assemble", assemble, methods=["POST"], roles=staff),
        page("/forms/{form_id:id}", form_detail, roles=BANK_ROLES),
    ]
