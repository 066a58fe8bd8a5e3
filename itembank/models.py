"""Item bank tables. A version's document is never updated after it is stored."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Loads the user_account table that the foreign keys below refer to: a command that uses only
# the item bank (``vakt scheme add``) imports nothing else that would.
import vakt.accounts  # noqa: F401
from itembank.schemas import ItemStatus, ItemType
from vakt.db import Base, JSONDocument, UTCDateTime, text_enum, utcnow


class Scheme(Base):
    """A certification scheme (e.g. certified diversity manager): the root of its bank and exams."""

    __tablename__ = "scheme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Item(Base):
    """An item's identity; what it says lives in its versions."""

    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("scheme_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    scheme: Mapped[Scheme] = relationship(lazy="joined")
    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", order_by="ItemVersion.number", lazy="raise"
    )


class ItemVersion(Base):
    """One immutable version of an item, with its place in the review workflow."""

    __tablename__ = "item_version"
    __table_args__ = (
        UniqueConstraint("item_id", "number"),
        # Covers the assembly query: approved items of a type and language, in item order.
        Index(
            "ix_item_version_pool",
            "status",
            "language",
            "item_type",
            "item_id",
            "id",
            "max_points",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[ItemStatus] = mapped_column(text_enum(ItemStatus, 20))
    item_type: Mapped[ItemType] = mapped_column(text_enum(ItemType, 30))
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    content_hash: Mapped[str] = mapped_column(String(64))
    max_points: Mapped[float]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    change_note: Mapped[str] = mapped_column(Text, default="")

    item: Mapped[Item] = relationship(back_populates="versions", lazy="joined")
    files: Mapped[list[ItemVersionFile]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def tag_names(self) -> list[str]:
        """Tags in the order the document lists them."""
        return list(self.document.get("tags", []))


class ItemVersionTag(Base):
    """A tag of a version, in its own table so searches and assembly can filter on it."""

    __tablename__ = "item_version_tag"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class Blob(Base):
    """File content (an image, a case document), stored once by its SHA-256 digest."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ItemVersionFile(Base):
    """A named file of a version (e.g. ``images/map.png``), pointing at its content."""

    __tablename__ = "item_version_file"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), index=True)
    media_type: Mapped[str] = mapped_column(String(100))


class ReviewEvent(Base):
    """A step in a version's review workflow, with the comment that justified it."""

    __tablename__ = "review_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"), index=True)
    from_status: Mapped[ItemStatus] = mapped_column(text_enum(ItemStatus, 20))
    to_status: Mapped[ItemStatus] = mapped_column(text_enum(ItemStatus, 20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Blueprint(Base):
    """The design of a scheme's exam: parts, durations, pass thresholds and item selection rules."""

    __tablename__ = "blueprint"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    scheme: Mapped[Scheme] = relationship(lazy="joined")


class ExamForm(Base):
    """An assembled exam form: the exact item versions, in order, for each part of a blueprint."""

    __tablename__ = "exam_form"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprint.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    blueprint_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    items: Mapped[list[ExamFormItem]] = relationship(
        cascade="all, delete-orphan",
        order_by="(ExamFormItem.part_index, ExamFormItem.position)",
        lazy="selectin",
    )


class ExamFormItem(Base):
    """One pinned item version at one position of one part of a form."""

    __tablename__ = "exam_form_item"

    form_id: Mapped[int] = mapped_column(
        ForeignKey("exam_form.id", ondelete="CASCADE"), primary_key=True
    )
    part_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"), index=True)


class ReviewReason(enum.StrEnum):
    """Why a version's statistics mark it for review."""

    TOO_HARD = "too_hard"
    """Its facility is below the scheme's lower bound (too hard, or a wrong key)."""
    TOO_EASY = "too_easy"
    """Its facility is above the upper bound: it tells candidates apart no more."""
    LOW_DISCRIMINATION = "low_discrimination"
    """Its discrimination is below the bound: strong candidates do no better on it than weak."""


class ItemReviewMark(Base):
    """A version marked for review because its statistics in a sitting were outside the scheme's
    bounds (``itembank.quality``); a new version of the item clears it."""

    __tablename__ = "item_review_mark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"), index=True)
    reason: Mapped[ReviewReason] = mapped_column(text_enum(ReviewReason, 30))
    value: Mapped[float] = mapped_column(Float)
    """The figure that was outside its bound."""
    bound: Mapped[float] = mapped_column(Float)
    responses: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int] = mapped_column(Integer)
    """What measured it (a sitting's id: the bank knows nothing of exams, so no foreign key)."""
    source: Mapped[str] = mapped_column(String(200))
    """Its name, as the item's page shows it."""
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by_version_id: Mapped[int | None] = mapped_column(ForeignKey("item_version.id"))
    """The new version that cleared the mark."""


class ItemQualityBounds(Base):
    """A scheme's bounds for marking versions for review (``itembank.quality.QualityBounds``);
    the defaults until changed."""

    __tablename__ = "item_quality_bounds"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
