"""Template rendering with the request's language, user and CSRF token in every context."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import nh3
from babel.dates import format_date
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from itembank.html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from vakt.accounts import ROLE_LABELS
from vakt.i18n import format_moment
from web.endpoints import csrf_token
from web.i18n import (
    format_figure,
    format_number,
    format_share,
    language_choices,
    request_language,
    request_translations,
    template_gettext,
    template_ngettext,
    translate,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"


def item_html(html: str, file_base: str = "") -> Markup:
    """Item HTML for display: cleaned again (defence in depth) with the item's relative file
    references pointed at ``file_base``."""
    from urllib.parse import quote, urlsplit

    def point_at_files(_element: str, attribute: str, value: str) -> str | None:
        if (
            attribute in ("src", "href")
            and value
            and not urlsplit(value).scheme
            and not value.startswith(("/", "#"))
        ):
            return file_base + quote(value)
        return value

    cleaned = nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        attribute_filter=point_at_files,
        link_rel="noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - cleaned by nh3 just above


def _localtime_filter(timezone: str) -> Any:
    @jinja2.pass_context
    def localtime(context: Any, moment: datetime | None, style: str = "medium") -> str:
        """A stored (UTC) time in the installation's time zone, formatted for the reader."""
        if moment is None:
            return ""
        return format_moment(moment, style, timezone, context.get("lang", "nb"))

    return localtime


@jinja2.pass_context
def _day_filter(context: Any, value: date | None, style: str = "long") -> str:
    """A calendar date (already the body's date, such as a certificate's last valid day),
    written the reader's way."""
    if value is None:
        return ""
    return format_date(value, style, locale=context.get("lang", "nb"))


def create_templates(timezone: str = "UTC") -> Jinja2Templates:
    """The Jinja2 environment: autoescaping, i18n and strict undefined variables; times are
    shown in ``timezone``."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        template_gettext, template_ngettext, newstyle=True
    )
    environment.filters["item_html"] = item_html
    environment.filters["number"] = format_number
    environment.filters["figure"] = format_figure
    environment.filters["share"] = format_share
    environment.filters["localtime"] = _localtime_filter(timezone)
    environment.filters["day"] = _day_filter
    return Jinja2Templates(env=environment)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page for this request's reader."""
    templates: Jinja2Templates = request.state.templates
    full_context: dict[str, Any] = {
        "translations": request_translations(request),
        "lang": request_language(request),
        "languages": language_choices(),
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "role_labels": {
            role.value: translate(request, label) for role, label in ROLE_LABELS.items()
        },
        "current_path": request.url.path,
        # Set by the exam page while a part runs: the header then offers no way out.
        "exam_mode": False,
        "body_name": request.state.settings.body_name,
        "body_has_logo": request.state.settings.body_logo is not None,
    }
    full_context.update(context or {})
    response = templates.TemplateResponse(request, template, full_context, status_code=status_code)
    assert isinstance(response, HTMLResponse)
    return response
