"""Blueprints and assembled exam forms: the bank's roles read them, administrators write them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from itembank import blueprints, queries
from itembank.access import BANK_ROLES, BLUEPRINT_ROLES
from itembank.schemas import TYPE_LABELS
from vakt.errors import VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, page
from web.i18n import translate
from web.rendering import render


async def blueprint_list(request: Request) -> Response:
    """Every blueprint, by scheme."""
    listing = await queries.blueprint_listing(db(request))
    return render(
        request,
        "blueprints/list.html",
        {
            "blueprints": listing.blueprints,
            "schemes": listing.schemes,
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
        definition = blueprints.definition_from_yaml(values["definition"])
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
        listing = await queries.blueprint_listing(session, by_scheme=False)
        return render(
            request,
            "blueprints/list.html",
            {
                "blueprints": listing.blueprints,
                "schemes": listing.schemes,
                "error": translate(request, exc.message, exc.params),
                "errors": [translate(request, d) for d in exc.details],
                "form": values,
            },
            status_code=exc.status_code if exc.status_code != 400 else 422,
        )
    return RedirectResponse(f"/blueprints/{blueprint.id}", status_code=303)


async def blueprint_detail(request: Request) -> Response:
    """A blueprint's parts and the forms assembled from it."""
    overview = await queries.blueprint_overview(
        db(request), int(request.path_params["blueprint_id"])
    )
    return render(
        request,
        "blueprints/detail.html",
        {
            "blueprint": overview.blueprint,
            "definition": overview.definition,
            "kind_labels": {
                k.value: translate(request, v) for k, v in blueprints.PART_KIND_LABELS.items()
            },
            "type_labels": {k.value: translate(request, v) for k, v in TYPE_LABELS.items()},
            "forms": overview.forms,
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
    overview = await queries.form_overview(db(request), int(request.path_params["form_id"]))
    return render(request, "blueprints/form.html", {"form": overview.form, "parts": overview.parts})


def routes() -> list[BaseRoute]:
    """Blueprint and form routes."""
    return [
        page("/blueprints", blueprint_list, roles=BANK_ROLES),
        page(
            "/blueprints",
            create_blueprint,
            methods=["POST"],
            roles=BLUEPRINT_ROLES,
            name="create_blueprint",
        ),
        page("/blueprints/{blueprint_id:id}", blueprint_detail, roles=BANK_ROLES),
        page(
            "/blueprints/{blueprint_id:id}/assemble",
            assemble,
            methods=["POST"],
            roles=BLUEPRINT_ROLES,
        ),
        page("/forms/{form_id:id}", form_detail, roles=BANK_ROLES),
    ]
