"""Grading tables: a scheme's rules, who may grade it, declared conflicts of interest, the
scripts (one open answer each, known to graders only by a random code), the graders' markings
and the lead graders' reconciliations.

A script points at the answer it grades (part, item version, question); the candidate behind it
is reached only through the exam's tables, which no grader-facing query reads.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from vakt.db import Base, JSONDocument, UTCDateTime, text_enum, utcnow


class ScriptKind(enum.StrEnum):
    """What kind of answer a script holds."""

    ESSAY = "essay"
    """Written text: an essay, or an open question of a case."""
    ORAL = "oral"
    """The video of the oral part."""


class ScriptStatus(enum.StrEnum):
    """Where a script stands."""

    WAITING = "waiting"
    """Not every marking it needs is submitted yet (some may be claimed)."""
    RECONCILIATION = "reconciliation"
    """Two totals too far apart: a lead grader sets the final mark."""
    FINAL = "final"
    WITHDRAWN = "withdrawn"
    """The attempt ended for cheating: nothing of it is graded."""
    SUPERSEDED = "superseded"
    """Graded again blindly after an appeal: the later round's script counts instead."""


class MarkingStatus(enum.StrEnum):
    """Where one grader's marking of a script stands."""

    CLAIMED = "claimed"
    SUBMITTED = "submitted"


class GradingPolicy(Base):
    """A scheme's grading rules (``grading.schemas.GradingRules``); the defaults until changed."""

    __tablename__ = "grading_policy"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class GraderQualification(Base):
    """A grader qualified by the body to grade a scheme (all its items, or those with ``tag``);
    a lead grader also reconciles marks that are too far apart."""

    __tablename__ = "grader_qualification"
    __table_args__ = (UniqueConstraint("grader_id", "scheme_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    tag: Mapped[str] = mapped_column(String(80), default="")
    """Only items with this tag ("": every item of the scheme)."""
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ConflictOfInterest(Base):
    """A grader's declared conflict of interest: a named candidate, or everyone at an employer.
    Scripts of such candidates are never given to the grader."""

    __tablename__ = "conflict_of_interest"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    employer: Mapped[str] = mapped_column(String(200), default="")
    """Compared without regard to case and surrounding spaces."""
    note: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Script(Base):
    """One open answer to grade. Graders know it by ``code`` only."""

    __tablename__ = "grading_script"
    __table_args__ = (
        UniqueConstraint("attempt_part_id", "item_version_id", "question_id", "grading_round"),
        # The queue: a claim reads the oldest waiting scripts from here instead of walking the
        # primary key past every script already graded (``grading.claims.claim_next``).
        Index(
            "ix_grading_script_waiting",
            "id",
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    attempt_part_id: Mapped[int] = mapped_column(ForeignKey("attempt_part.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    question_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[ScriptKind] = mapped_column(text_enum(ScriptKind, 20))
    max_points: Mapped[float] = mapped_column(Float)
    required_marks: Mapped[int] = mapped_column(Integer)
    taken_marks: Mapped[int] = mapped_column(Integer, default=0)
    """Markings claimed or submitted: a script is offered while this is below
    ``required_marks``. Claiming raises it in one conditional UPDATE, so no script is given to
    more graders than it needs, however many claim at once."""
    status: Mapped[ScriptStatus] = mapped_column(
        text_enum(ScriptStatus, 20), default=ScriptStatus.WAITING, index=True
    )
    final_points: Mapped[float | None] = mapped_column(Float)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    grading_round: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    """1 when the part was handed in; one more for each blind re-grading (``grading.regrading``)."""
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("grading_script.id"))
    """The earlier round's script of the same answer, which this one supersedes."""


class Marking(Base):
    """One grader's marks on one script: a claim while it is being marked, then submitted."""

    __tablename__ = "grading_marking"
    __table_args__ = (
        UniqueConstraint("script_id", "slot"),
        UniqueConstraint("script_id", "grader_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    script_id: Mapped[int] = mapped_column(
        ForeignKey("grading_script.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[int] = mapped_column(Integer)
    """1 for the first grader, 2 for the second: the second never sees the first's marks."""
    grader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[MarkingStatus] = mapped_column(
        text_enum(MarkingStatus, 20), default=MarkingStatus.CLAIMED
    )
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    marks: Mapped[list[float | None]] = mapped_column(JSONDocument, default=list)
    """Points per criterion of the guide, in its order (one overall mark without criteria)."""
    comment: Mapped[str] = mapped_column(Text, default="")
    sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    """Autosave's sequence number: an older save never overwrites a newer one."""
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[float | None] = mapped_column(Float)
    """The script's points by this marking (the criteria scaled to the question's points)."""
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reconciliation(Base):
    """A lead grader's final mark on a script whose two totals were too far apart."""

    __tablename__ = "grading_reconciliation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("grading_script.id"), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    final_points: Mapped[float] = mapped_column(Float)
    grounds: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatisticsSnapshot(Base):
    """The quality figures of a sitting's assessment as last computed (when its last script
    became final, or when the staff asked): items, parts and graders' agreement. Computing again
    replaces it."""

    __tablename__ = "statistics_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"), unique=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    """None: computed by itself when the sitting's last script became final."""
    candidates: Mapped[int] = mapped_column(Integer)
    """Attempts whose results the figures rest on."""


class ItemStatistics(Base):
    """One item version's figures in a sitting (``grading.statistics``)."""

    __tablename__ = "item_statistics"
    __table_args__ = (UniqueConstraint("snapshot_id", "part_key", "item_version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("statistics_snapshot.id", ondelete="CASCADE"), index=True
    )
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"), index=True)
    part_key: Mapped[str] = mapped_column(String(40))
    responses: Mapped[int] = mapped_column(Integer)
    max_points: Mapped[float] = mapped_column(Float)
    facility: Mapped[float | None] = mapped_column(Float)
    discrimination: Mapped[float | None] = mapped_column(Float)
    mean: Mapped[float | None] = mapped_column(Float)
    sd: Mapped[float | None] = mapped_column(Float)
    choice_shares: Mapped[dict[str, dict[str, float]]] = mapped_column(JSONDocument, default=dict)
    """Per choice question, the share of candidates who chose each option ("": none)."""


class PartStatistics(Base):
    """A part's figures in a sitting: its totals' spread, reliability and standard error."""

    __tablename__ = "part_statistics"
    __table_args__ = (UniqueConstraint("snapshot_id", "part_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("statistics_snapshot.id", ondelete="CASCADE"), index=True
    )
    part_key: Mapped[str] = mapped_column(String(40))
    responses: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    max_points: Mapped[float] = mapped_column(Float)
    mean: Mapped[float | None] = mapped_column(Float)
    sd: Mapped[float | None] = mapped_column(Float)
    reliability_kind: Mapped[str] = mapped_column(String(10))
    """"kr20" (every item scored right or wrong) or "alpha"."""
    reliability: Mapped[float | None] = mapped_column(Float)
    sem: Mapped[float | None] = mapped_column(Float)


class GraderAgreement(Base):
    """How two graders' marks on the scripts they both marked in a sitting agree."""

    __tablename__ = "grader_agreement"
    __table_args__ = (UniqueConstraint("snapshot_id", "first_grader_id", "second_grader_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("statistics_snapshot.id", ondelete="CASCADE"), index=True
    )
    first_grader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    """The lower user id of the two (a pair is counted once, whoever marked first)."""
    second_grader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scripts: Mapped[int] = mapped_column(Integer)
    exact: Mapped[float | None] = mapped_column(Float)
    adjacent: Mapped[float | None] = mapped_column(Float)
    kappa: Mapped[float | None] = mapped_column(Float)
