"""notifications: each person's messages, their inbox and their e-mail's outbox

Revision ID: 777054517d53
Revises: 3037e951c65c
Create Date: 2026-12-05 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db
from sqlalchemy.dialects import postgresql

revision: str = '777054517d53'
down_revision: str | None = '3037e951c65c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mail_state', sa.Enum('pending', 'sent', 'failed', 'no_address', name='mailstate', native_enum=False, length=20), nullable=False),
    sa.Column('mail_attempts', sa.Integer(), nullable=False),
    sa.Column('mail_next_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mail_error', sa.String(length=500), nullable=True),
    sa.Column('mail_sent_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['user_account.id'], name=op.f('fk_notification_recipient_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_mail_next_at'), ['mail_next_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_recipient_id'), ['recipient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_notification_mail_next_at'))

    op.drop_table('notification')
