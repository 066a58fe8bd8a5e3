"""A scheme's certification rules (data, never hard-wired to one scheme) and the shapes the
certification services answer with."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field


class CertificationRules(BaseModel):
    """A scheme's certification rules; the defaults are the demo scheme's."""

    model_config = ConfigDict(extra="forbid")

    validity_months: int = Field(default=36, ge=1, le=120)
    """How long a certificate is valid from the decision date."""
    completion_months: int = Field(default=12, ge=1, le=60)
    """Every requirement must be met within this long of the first passed part (retakes too)."""
    fee_required: bool = True
    """A certification needs the registration's fee paid (or waived) as staff record it."""
    register_public: bool = True
    """Valid certificates are listed in the public register (verification by number always
    works)."""
    appeal_days: int = Field(default=21, ge=1, le=365)
    """An appeal must arrive within this many days of the day the result was sent (that day is
    day 0; the last day counts whole, in the body's time zone)."""
    recertification_months_before: int = Field(default=6, ge=0, le=24)
    """The recertification window opens this long before the certificate expires..."""
    recertification_months_after: int = Field(default=6, ge=0, le=24)
    """...and closes this long after it."""


class DecisionOutcome(enum.StrEnum):
    """What the decision maker decided on a complete attempt."""

    CERTIFIED = "certified"
    """Every requirement met: a certificate is issued."""
    REFUSED = "refused"
    """Not certified, with grounds (a part not passed, a requirement not met)."""


class CertificateStatus(enum.StrEnum):
    """A certificate's stored status; "expired" is computed from its dates."""

    VALID = "valid"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class FeeStatus(enum.StrEnum):
    """A registration's fee as the body's staff record it (or import it from invoicing)."""

    DUE = "due"
    PAID = "paid"
    WAIVED = "waived"


class RecertificationStatus(enum.StrEnum):
    """Where a holder's application for recertification stands."""

    PENDING = "pending"
    RENEWED = "renewed"
    """Staff approved it on the evidence: a renewed certificate continues the series."""
    EXAM_REQUIRED = "exam_required"
    """Staff decided the holder must take a recertification exam (their note says which)."""


class AppealStatus(enum.StrEnum):
    """Where a candidate's appeal stands."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    UPHELD = "upheld"
    """The appeal succeeded: a new decision may replace the standing one."""
    REJECTED = "rejected"


class ComplaintStatus(enum.StrEnum):
    """Where a complaint about the body's conduct stands."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
