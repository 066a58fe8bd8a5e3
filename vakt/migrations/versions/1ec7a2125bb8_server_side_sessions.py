"""server-side sessions: the browser holds only a random id, the row says when it ends

Revision ID: 1ec7a2125bb8
Revises: a891a6b26986
Create Date: 2026-12-04 23:17:12.829753
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = '1ec7a2125bb8'
down_revision: str | None = 'a891a6b26986'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_reason', sa.String(length=40), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_user_session_token_digest'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))

    op.drop_table('user_session')
