"""late answers, device confirmation, contact

Revision ID: fed38d034a02
Revises: 1ec7a2125bb8
Create Date: 2026-12-04 23:18:41.789014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = 'fed38d034a02'
down_revision: str | None = '1ec7a2125bb8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('answer_save', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', vakt.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_late', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('refusal', sa.String(length=40), nullable=True))

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_confirmed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('device_session_digest', sa.String(length=64), nullable=True))

    with op.batch_alter_table('attempt_part', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_contact_at', vakt.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('receipt_reissued_at', vakt.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('attempt_part', schema=None) as batch_op:
        batch_op.drop_column('receipt_reissued_at')
        batch_op.drop_column('last_contact_at')

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('device_session_digest')
        batch_op.drop_column('device_confirmed')

    with op.batch_alter_table('answer_save', schema=None) as batch_op:
        batch_op.drop_column('refusal')
        batch_op.drop_column('delivered_late')
        batch_op.drop_column('changed_at')

