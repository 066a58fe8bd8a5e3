"""Who may do what in exam delivery. Each rule is stated once, here: the services check it and
the routes admit the same roles (docs/architecture.md has the table)."""

from __future__ import annotations

from vakt.accounts import Role, User
from vakt.errors import Forbidden
from vakt.i18n import LazyText

CANDIDATES = frozenset({Role.CANDIDATE})
"""Take their own exams: check-in, the exam, accommodation requests, their results."""
EXAM_ADMINISTRATORS = frozenset({Role.ADMINISTRATOR})
"""The certification body's staff: applications, sittings, registrations, accommodation
decisions."""
COMPUTER_CHANGERS = frozenset({Role.ADMINISTRATOR, Role.PROCTOR})
"""Let a candidate continue an attempt on another computer."""
CHEATING_DECIDERS = frozenset({Role.PROCTOR, Role.ADMINISTRATOR})
"""End an attempt for cheating."""
CLOCK_PAUSERS = frozenset({Role.PROCTOR, Role.ADMINISTRATOR})
"""Stop a candidate's clock for an incident and start it again."""
RESULT_OVERRIDERS = frozenset({Role.DECISION_MAKER})
"""Set a part's result against its points, with written grounds (results are computed)."""
RESULT_RELEASERS = frozenset({Role.DECISION_MAKER})
"""Release an attempt's results to the candidate: the certification decision does (or, for a
result that is not passed, a release the decision maker makes)."""


def require(actor: User, roles: frozenset[Role], refusal: LazyText) -> None:
    """Refuse (403, with ``refusal``) an actor who holds none of ``roles``."""
    if not actor.has_any(*roles):
        raise Forbidden(refusal)
