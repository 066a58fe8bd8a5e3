"""Who may do what in the item bank, stated once: the services and the bank's routes use these.

The bank holds keys and grading guides, so only its own roles see it at all. Within it, writers
write, reviewers review, and administrators do what writers do and retire versions; nobody
approves a version they wrote themselves (``itembank.workflow``).
"""

from __future__ import annotations

from collections.abc import Mapping

from itembank.schemas import ItemStatus
from vakt.accounts import Role

BANK_ROLES = (Role.ITEM_WRITER, Role.ITEM_REVIEWER, Role.ADMINISTRATOR)
"""The only roles that may list the bank or see an item's key and guide: search, an item and its
versions, previews, comparisons, files, export, blueprints and assembled forms."""

WRITER_ROLES = (Role.ITEM_WRITER, Role.ADMINISTRATOR)
"""The roles that write items: create them, edit them (a new version) and import them."""

BLUEPRINT_ROLES = (Role.ADMINISTRATOR,)
"""The roles that store blueprints and assemble forms from them."""

STEP_ROLES: Mapping[tuple[ItemStatus, ItemStatus], tuple[Role, ...]] = {
    (ItemStatus.DRAFT, ItemStatus.IN_REVIEW): (Role.ITEM_WRITER, Role.ADMINISTRATOR),
    (ItemStatus.IN_REVIEW, ItemStatus.APPROVED): (Role.ITEM_REVIEWER,),
    (ItemStatus.IN_REVIEW, ItemStatus.DRAFT): (Role.ITEM_REVIEWER,),
    (ItemStatus.APPROVED, ItemStatus.RETIRED): (Role.ITEM_REVIEWER, Role.ADMINISTRATOR),
}
"""The workflow's steps (from, to) and the roles that may take each; a step not listed does not
exist."""

WORKFLOW_ROLES = tuple(dict.fromkeys(role for roles in STEP_ROLES.values() for role in roles))
"""The roles that may take some workflow step (which one is decided per step)."""
