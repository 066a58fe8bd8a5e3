"""certification complaints: numbered per year, answered by the staff

Revision ID: 73ff3295eb02
Revises: adac7aba0ec3
Create Date: 2026-12-05 22:42:00.766495
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = '73ff3295eb02'
down_revision: str | None = 'adac7aba0ec3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('certification_complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('complainant_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('filed_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('received', 'in_review', 'answered', name='complaintstatus', native_enum=False, length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_certification_complaint_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['complainant_id'], ['user_account.id'], name=op.f('fk_certification_complaint_complainant_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_complaint')),
    sa.UniqueConstraint('number', name=op.f('uq_certification_complaint_number')),
    sa.UniqueConstraint('year', 'sequence', name=op.f('uq_certification_complaint_year_sequence'))
    )
    with op.batch_alter_table('certification_complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certification_complaint_complainant_id'), ['complainant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('certification_complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certification_complaint_complainant_id'))

    op.drop_table('certification_complaint')
