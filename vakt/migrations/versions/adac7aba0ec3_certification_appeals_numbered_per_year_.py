"""certification appeals: numbered per year, with status, outcome and the new decision

Revision ID: adac7aba0ec3
Revises: 424ba05d9a90
Create Date: 2026-12-05 22:28:14.690918
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = 'adac7aba0ec3'
down_revision: str | None = '424ba05d9a90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('certification_appeal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('filed_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('received', 'in_review', 'upheld', 'rejected', name='appealstatus', native_enum=False, length=20), nullable=False),
    sa.Column('outcome_grounds', sa.Text(), nullable=False),
    sa.Column('handled_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('new_decision_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['user_account.id'], name=op.f('fk_certification_appeal_candidate_id_user_account')),
    sa.ForeignKeyConstraint(['decision_id'], ['certification_decision.id'], name=op.f('fk_certification_appeal_decision_id_certification_decision')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id'], name=op.f('fk_certification_appeal_handled_by_id_user_account')),
    sa.ForeignKeyConstraint(['new_decision_id'], ['certification_decision.id'], name=op.f('fk_certification_appeal_new_decision_id_certification_decision')),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_certification_appeal_registration_id_registration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_appeal')),
    sa.UniqueConstraint('number', name=op.f('uq_certification_appeal_number')),
    sa.UniqueConstraint('year', 'sequence', name=op.f('uq_certification_appeal_year_sequence'))
    )
    with op.batch_alter_table('certification_appeal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certification_appeal_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certification_appeal_registration_id'), ['registration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('certification_appeal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certification_appeal_registration_id'))
        batch_op.drop_index(batch_op.f('ix_certification_appeal_candidate_id'))

    op.drop_table('certification_appeal')
