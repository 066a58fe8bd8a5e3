"""Every exam request of a scheme that requires Safe Exam Browser is checked (``web.seb``): the
check wraps each route, so this test lists the application's routes and finds any exam route that
was added without it."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from web.seb import is_seb_gated

# What a candidate does while an attempt runs: the exam page and its files, the exam API, and the
# proctoring calls the exam page makes.
EXAM_PREFIXES = ("/api/parts/", "/api/attempts/", "/api/registrations/")
EXAM_PAGES = ("/take", "/start", "/files/")

# Left out on purpose: the pages before the exam (system check, rules, identity), where the
# candidate may still be in an ordinary browser and downloads the SEB configuration.


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def _is_exam_route(path: str) -> bool:
    if path.startswith(EXAM_PREFIXES):
        return True
    if path.startswith("/exam/{registration_id:id}"):
        rest = path.removeprefix("/exam/{registration_id:id}")
        return rest.startswith(EXAM_PAGES)
    return False


def test_every_exam_route_checks_safe_exam_browser(app: Starlette) -> None:
    exam_routes = [(path, route) for path, route in _routes(app.routes) if _is_exam_route(path)]
    assert len(exam_routes) >= 10, [path for path, _ in exam_routes]
    ungated = [path for path, route in exam_routes if not is_seb_gated(route.endpoint)]
    assert not ungated, f"exam routes without the Safe Exam Browser check: {ungated}"
    # The check itself can tell: a page before the exam is not gated.
    entry = dict(_routes(app.routes))["/exam/{registration_id:id}/rules"]
    assert not is_seb_gated(entry.endpoint)
