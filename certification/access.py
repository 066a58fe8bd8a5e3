"""Who may do what in certification, stated once: the services check it and the routes admit
the same roles."""

from __future__ import annotations

from vakt.accounts import Role
from vakt.i18n import _l

DECIDERS = frozenset({Role.DECISION_MAKER})
"""Decide on certification (certify or refuse, with grounds) and release results."""
CERTIFICATION_STAFF = frozenset({Role.ADMINISTRATOR})
"""The body's staff: fees, certificates' suspension and withdrawal, the scheme's certification
rules, recertification applications, complaints."""
APPEAL_HANDLERS = frozenset({Role.ADMINISTRATOR})
"""Register and handle appeals (the decision maker sees the appeals of their decisions too)."""

DECIDERS_ONLY = _l("Only a decision maker decides on certification.")
STAFF_ONLY = _l("Only the certification body's staff do this.")
