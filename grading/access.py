"""Who may do what in grading, each rule stated once: the services check it and the routes admit
the same roles.

- Graders: their own queue, the scripts they claimed (known by code only, never by candidate)
  and their history; their own declarations of conflicts of interest. Which schemes (and tags) a
  grader may grade, and who is a lead grader, are qualifications the staff grant.
- Lead graders (qualified as such for a scheme): reconcile two marks that are too far apart.
- Administrators: a scheme's grading rules, graders' qualifications, the grading overview.
- The decision maker: overriding a computed part result, with grounds (``exam.roles``).
"""

from __future__ import annotations

from typing import Final

from vakt.accounts import Role
from vakt.i18n import _l

GRADERS: Final = frozenset({Role.GRADER})
GRADING_ADMINISTRATORS: Final = frozenset({Role.ADMINISTRATOR})

REFUSED = _l("Your roles do not give access to this page.")
"""Why a service refuses someone whose roles do not allow it (the routes' own words)."""
