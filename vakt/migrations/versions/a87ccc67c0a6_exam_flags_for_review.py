"""exam flags for review

Revision ID: a87ccc67c0a6
Revises: d8ffd4ea592c
Create Date: 2026-12-06 01:07:53.626952
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = 'a87ccc67c0a6'
down_revision: str | None = 'd8ffd4ea592c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('item_flag',
    sa.Column('attempt_part_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_part_id'], ['attempt_part.id'], name=op.f('fk_item_flag_attempt_part_id_attempt_part'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_version.id'], name=op.f('fk_item_flag_item_version_id_item_version')),
    sa.PrimaryKeyConstraint('attempt_part_id', 'item_version_id', name=op.f('pk_item_flag'))
    )


def downgrade() -> None:
    op.drop_table('item_flag')
