"""What the staff's grading pages show, read in the domain: a scheme's grading rules and who is
qualified to grade it, and how a sitting's grading stands. The staff see graders by name (they
qualify them) but never which grader marked which candidate: nothing here joins a marking to a
registration."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.lookups import get_sitting
from exam.models import Sitting
from grading.models import GraderQualification
from grading.policy import rules_for_scheme
from grading.queries import SittingGrading, reconciliations_of, sitting_grading
from grading.schemas import GradingRules
from itembank.models import Scheme
from itembank.schemes import get_scheme
from vakt.accounts import Role, User, UserRole


@dataclass(frozen=True)
class QualifiedGrader:
    """A grader's qualification for the scheme (one per tag)."""

    qualification: GraderQualification
    grader: User


@dataclass(frozen=True)
class SchemeGrading:
    """A scheme's grading rules, its qualified graders, and who could be qualified."""

    scheme: Scheme
    rules: GradingRules
    qualified: list[QualifiedGrader]
    graders: list[User]
    """Active users with the grader role, by name (the choices of the qualification form)."""


async def scheme_grading(session: AsyncSession, scheme_id: int) -> SchemeGrading:
    """What the staff's page of a scheme's grading shows (a 404 for an unknown scheme)."""
    scheme = await get_scheme(session, scheme_id)
    rows = await session.execute(
        select(GraderQualification, User)
        .join(User, User.id == GraderQualification.grader_id)
        .where(GraderQualification.scheme_id == scheme.id)
        .order_by(User.full_name, User.id, GraderQualification.tag)
    )
    graders = await session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.GRADER.value, User.is_active.is_(True))
        .order_by(User.full_name, User.id)
    )
    return SchemeGrading(
        scheme=scheme,
        rules=await rules_for_scheme(session, scheme.id),
        qualified=[QualifiedGrader(qualification, grader) for qualification, grader in rows],
        graders=list(graders.unique()),
    )


@dataclass(frozen=True)
class SittingGradingPage:
    """A sitting's grading: its scripts by state, its graders' load and speed, the rules."""

    sitting: Sitting
    scheme: Scheme
    rules: GradingRules
    grading: SittingGrading
    reconciled: int
    """Scripts whose final mark a lead grader set."""


async def sitting_grading_page(session: AsyncSession, sitting_id: int) -> SittingGradingPage:
    """What the staff's grading overview of a sitting shows (a 404 for an unknown sitting)."""
    sitting = await get_sitting(session, sitting_id)
    return SittingGradingPage(
        sitting=sitting,
        scheme=await get_scheme(session, sitting.scheme_id),
        rules=await rules_for_scheme(session, sitting.scheme_id),
        grading=await sitting_grading(session, sitting.id),
        reconciled=await reconciliations_of(session, sitting.id),
    )
