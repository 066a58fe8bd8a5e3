"""certification decisions: a round number, unique with the registration, so one decision stands

Revision ID: a470a4e2a1bc
Revises: 777054517d53
Create Date: 2026-12-05 21:31:32.531586
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = 'a470a4e2a1bc'
down_revision: str | None = '777054517d53'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('certification_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_round', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_certification_decision_registration_id_decision_round'), ['registration_id', 'decision_round'])


def downgrade() -> None:
    with op.batch_alter_table('certification_decision', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_certification_decision_registration_id_decision_round'), type_='unique')
        batch_op.drop_column('decision_round')
