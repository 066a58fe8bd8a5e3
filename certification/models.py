"""Certification tables: a scheme's certification rules, the fee of a registration, the
decisions on complete attempts and the certificates they issue.

A decision names the registration (and so its attempt and candidate) it decides and keeps the
requirements as the decision maker saw them checked, so the decision can be traced later even
when the underlying rows change ("etterprøvbarhet")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from certification.schemas import (
    AppealStatus,
    CertificateStatus,
    ComplaintStatus,
    DecisionOutcome,
    FeeStatus,
    RecertificationStatus,
)
from vakt.db import Base, JSONDocument, UTCDateTime, text_enum, utcnow


class CertificationPolicy(Base):
    """A scheme's certification rules (``certification.schemas.CertificationRules``); the
    defaults until changed."""

    __tablename__ = "certification_policy"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class RegistrationFee(Base):
    """A registration's fee as staff set it or import it (with the invoice's reference)."""

    __tablename__ = "registration_fee"

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), primary_key=True)
    status: Mapped[FeeStatus] = mapped_column(text_enum(FeeStatus, 20))
    invoice_reference: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CertificationDecision(Base):
    """The decision on a registration's complete attempt: certified, or refused with grounds.

    A registration has one standing decision; a new decision after an appeal replaces it
    (``replaces_id``) and is made by someone who took no part in the first."""

    __tablename__ = "certification_decision"
    __table_args__ = (UniqueConstraint("registration_id", "decision_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(text_enum(DecisionOutcome, 20))
    grounds: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    """Each requirement as checked when the decision was made: key, met, detail."""
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certification_decision.id"))
    decision_round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """1 for the first decision on a registration, one more for each that replaces the one
    before: unique with the registration, so two people deciding at once make one decision."""


class Certificate(Base):
    """A certificate: a unique number, its holder and scheme, valid from the decision's date for
    the scheme's period; suspended or withdrawn with written grounds. A renewal continues the
    series (``renews_id``)."""

    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("certification_decision.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    """The last day it is valid, in the body's time zone."""
    status: Mapped[CertificateStatus] = mapped_column(text_enum(CertificateStatus, 20))
    status_grounds: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))


class ChangeReport(Base):
    """A holder's report of a change the body must know of (the holder's duty to report: a
    changed name, a conviction, a lost qualification), until staff mark it handled."""

    __tablename__ = "certification_change_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class RecertificationApplication(Base):
    """A holder's application to renew a certificate, with the evidence (practice, further
    training), inside the scheme's window around its expiry; staff renew it or require a
    recertification exam."""

    __tablename__ = "recertification_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    evidence: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[RecertificationStatus] = mapped_column(text_enum(RecertificationStatus, 20))
    staff_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    renewal_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))


class Appeal(Base):
    """A candidate's appeal against a released result or decision: numbered per year
    ("K-2026-0001"; the year and sequence are unique, so two filed at once get two numbers),
    with written grounds, a status and the handler's outcome with grounds. Confidential: the
    candidate, the appeal handlers and the decision makers see it."""

    __tablename__ = "certification_appeal"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("certification_decision.id"))
    """The decision appealed against; None for a result released before any decision."""
    grounds: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AppealStatus] = mapped_column(text_enum(AppealStatus, 20))
    outcome_grounds: Mapped[str] = mapped_column(Text, default="")
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    new_decision_id: Mapped[int | None] = mapped_column(ForeignKey("certification_decision.id"))
    """The decision that replaced the appealed one after the appeal was upheld."""


class AppealAttachment(Base):
    """A file the candidate attached to an appeal: kept on disk under a generated name (never
    the name the browser sent), with the sanitised original name, the type found in its
    content, its size and digest. As confidential as the appeal."""

    __tablename__ = "certification_appeal_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("certification_appeal.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    """The name the candidate's file had, cleaned of paths and unprintable characters."""
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class Complaint(Base):
    """A complaint about the body's conduct from any signed-in person: numbered per year
    ("C-2026-0001"), tracked by status and answered by the staff in writing."""

    __tablename__ = "certification_complaint"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    complainant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ComplaintStatus] = mapped_column(text_enum(ComplaintStatus, 20))
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class AppealRegrading(Base):
    """A part of the appealed registration's attempt that the appeal handler had graded again,
    blindly (``certification.regrading``); one order per part and appeal."""

    __tablename__ = "certification_appeal_regrading"
    __table_args__ = (UniqueConstraint("appeal_id", "attempt_part_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("certification_appeal.id"), index=True)
    attempt_part_id: Mapped[int] = mapped_column(ForeignKey("attempt_part.id"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ordered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
