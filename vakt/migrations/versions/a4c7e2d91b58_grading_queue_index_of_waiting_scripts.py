"""grading: a partial index of the waiting scripts, in the queue's order

Revision ID: a4c7e2d91b58
Revises: 554d4e30cd0e
Create Date: 2026-12-05 03:58:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a4c7e2d91b58'
down_revision: str | None = '554d4e30cd0e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_grading_script_waiting', 'grading_script', ['id'], unique=False,
        postgresql_where=sa.text("status = 'waiting'"), sqlite_where=sa.text("status = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_index('ix_grading_script_waiting', table_name='grading_script')
