"""How every route is built: sign-in, roles and CSRF are checked in one place.

Every route of the application is made with ``page`` (HTML) or ``api`` (JSON). The wrapper loads
the signed-in user, refuses roles that may not use the route, and checks the CSRF token on every
state-changing request before the handler runs, so no handler can forget to.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from vakt.accounts import Role, User
from vakt.db import MAX_ROW_ID
from vakt.errors import Forbidden, VaktError
from vakt.i18n import _l
from vakt.sessions import SessionPolicy, UserSession, resolve_session
from web.i18n import request_language
from web.inputs import check_request_text, check_text

Handler = Callable[[Request], Awaitable[Response]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_ID = "sid"
"""Cookie session key of the random id of the user's session (``vakt.sessions``)."""


class NotSignedIn(VaktError):
    """The route needs a signed-in user."""

    status_code = 401


def db(request: Request) -> AsyncSession:
    """The request's database session."""
    session: AsyncSession = request.state.db
    return session


def now(request: Request) -> datetime:
    """The application's time for this request (a clock tests can move)."""
    moment: datetime = request.state.clock.now()
    return moment


def path_id(request: Request, name: str) -> int:
    """A ``{name:id}`` path parameter (the route's convertor made it an id already)."""
    return int(request.path_params[name])


def current_user(request: Request) -> User:
    """The signed-in user (only call from routes that require sign-in)."""
    user: User | None = getattr(request.state, "user", None)
    if user is None:
        raise NotSignedIn(_l("Please sign in."))
    return user


def csrf_token(request: Request) -> str:
    """This browser session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def load_user(request: Request) -> User | None:
    """Look up the user through the session the cookie names (one query); a session that is
    unknown, ended or timed out, or an inactive user, counts as signed out."""
    if hasattr(request.state, "user"):
        return request.state.user  # type: ignore[no-any-return]
    user: User | None = None
    token = request.session.get(SESSION_ID)
    if isinstance(token, str):
        found = await resolve_session(
            db(request),
            token,
            now=request.state.session_clock.now(),
            policy=SessionPolicy.from_settings(request.state.settings),
            activity=request.state.session_activity,
        )
        if found is None:
            # The browser need not keep sending an id that opens nothing.
            del request.session[SESSION_ID]
        else:
            user = found.user
            request.state.user_session = found.row
    request.state.user = user
    return user


def current_session(request: Request) -> UserSession | None:
    """The session this request is signed in with, once ``load_user`` has found it."""
    row: UserSession | None = getattr(request.state, "user_session", None)
    return row


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request whose token does not match this session's."""
    expected = request.session.get("csrf")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise Forbidden(_l("The request came from another site and was refused."))
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_part_size=request.state.settings.max_upload_bytes)
            value = form.get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not secrets.compare_digest(str(expected), supplied):
        raise Forbidden(
            _l(
                "The form has expired or did not come from this site. "
                "Reload the page and try again."
            )
        )


def _wrap(
    handler: Handler, *, roles: Collection[Role] | None, login: bool, is_api: bool
) -> Handler:
    # An open API route (the clock, the API description) needs nobody: not loading the user
    # spares the database a query on requests every exam page makes.
    needs_user = login or bool(roles) or not is_api

    async def endpoint(request: Request) -> Response:
        check_request_text(request)
        user = await load_user(request) if needs_user else None
        request_language(request)  # settled now, while the user is loaded
        if request.method not in SAFE_METHODS:
            await verify_csrf(request)
        if login and user is None:
            if is_api or request.method not in SAFE_METHODS:
                raise NotSignedIn(_l("Please sign in."))
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if roles and (user is None or not user.has_any(*roles)):
            raise Forbidden(_l("Your roles do not give access to this page."))
        return await handler(request)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    endpoint.__wrapped__ = handler  # type: ignore[attr-defined]
    return endpoint


class IdConvertor(Convertor[int]):
    """``{name:id}`` in a route: a row id. A number no row can have is a 404 (the page does not
    exist), never a database error."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        """The id, or a 404 for a number larger than any id."""
        if len(value) > len(str(MAX_ROW_ID)) or int(value) > MAX_ROW_ID:
            raise HTTPException(status_code=404)
        return int(value)

    def to_string(self, value: int) -> str:
        """The id in a URL."""
        return str(int(value))


def _register_convertors() -> None:
    register_url_convertor("id", IdConvertor())


def page(
    path: str,
    handler: Handler,
    *,
    methods: Collection[str] = ("GET",),
    roles: Collection[Role] | None = None,
    login: bool = True,
    name: str | None = None,
) -> Route:
    """An HTML route; signed-out visitors are sent to the sign-in page."""
    _register_convertors()
    return Route(
        path,
        _wrap(handler, roles=roles, login=login, is_api=False),
        methods=list(methods),
        name=name or handler.__name__,
    )


def api(
    path: str,
    handler: Handler,
    *,
    methods: Collection[str] = ("GET",),
    roles: Collection[Role] | None = None,
    login: bool = True,
    name: str | None = None,
) -> Route:
    """A JSON route under /api; signed-out callers get 401."""
    _register_convertors()
    return Route(
        path,
        _wrap(handler, roles=roles, login=login, is_api=True),
        methods=list(methods),
        name=name or handler.__name__,
    )


def safe_next(target: str | None) -> str:
    """A redirect target on this site only (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def form_str(form: Any, name: str, default: str = "") -> str:
    """A text field from a submitted form ('' when absent or a file); a 400 naming the field
    when it holds characters no text may hold."""
    value = form.get(name, default)
    return check_text(value, field=name) if isinstance(value, str) else default
