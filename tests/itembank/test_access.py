"""Who may do what in the item bank: the rules the services and the routes share."""

from __future__ import annotations

from itembank.access import (
    BANK_ROLES,
    BLUEPRINT_ROLES,
    STEP_ROLES,
    WORKFLOW_ROLES,
    WRITER_ROLES,
)
from itembank.schemas import ItemStatus
from vakt.accounts import Role


def test_whoever_may_change_the_bank_may_read_it() -> None:
    for roles in (WRITER_ROLES, BLUEPRINT_ROLES, WORKFLOW_ROLES):
        assert set(roles) <= set(BANK_ROLES)


def test_the_workflow_route_admits_exactly_the_roles_of_its_steps() -> None:
    assert set(WORKFLOW_ROLES) == {role for roles in STEP_ROLES.values() for role in roles}


def test_only_reviewers_approve_or_reject() -> None:
    assert STEP_ROLES[ItemStatus.IN_REVIEW, ItemStatus.APPROVED] == (Role.ITEM_REVIEWER,)
    assert STEP_ROLES[ItemStatus.IN_REVIEW, ItemStatus.DRAFT] == (Role.ITEM_REVIEWER,)


def test_no_step_skips_review_or_comes_back_from_retirement() -> None:
    assert (ItemStatus.DRAFT, ItemStatus.APPROVED) not in STEP_ROLES
    assert not any(source is ItemStatus.RETIRED for source, _ in STEP_ROLES)
