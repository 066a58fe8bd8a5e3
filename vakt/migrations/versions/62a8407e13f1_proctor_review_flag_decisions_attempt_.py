"""proctor review: flag decisions, attempt reviews, identity decisions, messages, paused parts

Revision ID: 62a8407e13f1
Revises: a4c7e2d91b58
Create Date: 2026-12-05 03:26:35.454209
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db
from sqlalchemy.dialects import postgresql

revision: str = '62a8407e13f1'
down_revision: str | None = 'a4c7e2d91b58'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('identity_decision',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_identity_decision_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_identity_decision_registration_id_registration')),
    sa.PrimaryKeyConstraint('registration_id', name=op.f('pk_identity_decision'))
    )
    op.create_table('proctor_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sent_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_proctor_message_registration_id_registration')),
    sa.ForeignKeyConstraint(['sender_id'], ['user_account.id'], name=op.f('fk_proctor_message_sender_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proctor_message'))
    )
    with op.batch_alter_table('proctor_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proctor_message_registration_id'), ['registration_id'], unique=False)

    op.create_table('attempt_review',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_expires_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('cleared', 'cheating_proposed', 'cheating_confirmed', name='reviewoutcome', native_enum=False, length=30), nullable=True),
    sa.Column('cleared_by_id', sa.Integer(), nullable=True),
    sa.Column('cleared_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejected_by_id', sa.Integer(), nullable=True),
    sa.Column('rejected_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejection_grounds', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_attempt_review_attempt_id_attempt')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['user_account.id'], name=op.f('fk_attempt_review_claimed_by_id_user_account')),
    sa.ForeignKeyConstraint(['cleared_by_id'], ['user_account.id'], name=op.f('fk_attempt_review_cleared_by_id_user_account')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_attempt_review_confirmed_by_id_user_account')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_attempt_review_proposed_by_id_user_account')),
    sa.ForeignKeyConstraint(['rejected_by_id'], ['user_account.id'], name=op.f('fk_attempt_review_rejected_by_id_user_account')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_attempt_review'))
    )
    op.create_table('part_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_part_id', sa.Integer(), nullable=False),
    sa.Column('paused_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_by_id', sa.Integer(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('deadline_before', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resumed_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resumed_by_id', sa.Integer(), nullable=True),
    sa.Column('deadline_after', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attempt_part_id'], ['attempt_part.id'], name=op.f('fk_part_pause_attempt_part_id_attempt_part')),
    sa.ForeignKeyConstraint(['paused_by_id'], ['user_account.id'], name=op.f('fk_part_pause_paused_by_id_user_account')),
    sa.ForeignKeyConstraint(['resumed_by_id'], ['user_account.id'], name=op.f('fk_part_pause_resumed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_part_pause'))
    )
    with op.batch_alter_table('part_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_part_pause_attempt_part_id'), ['attempt_part_id'], unique=False)

    with op.batch_alter_table('attempt_part', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', vakt.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('proctoring_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision', sa.Enum('dismissed', 'confirmed', name='flagdecision', native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', vakt.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_proctoring_flag_decided_by_id_user_account'), 'user_account', ['decided_by_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('proctoring_flag', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_proctoring_flag_decided_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('decision')

    with op.batch_alter_table('attempt_part', schema=None) as batch_op:
        batch_op.drop_column('paused_at')

    with op.batch_alter_table('part_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_part_pause_attempt_part_id'))

    op.drop_table('part_pause')
    op.drop_table('attempt_review')
    with op.batch_alter_table('proctor_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proctor_message_registration_id'))

    op.drop_table('proctor_message')
    op.drop_table('identity_decision')
