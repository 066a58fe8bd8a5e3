"""live channel: since when the camera and the microphone are off

Revision ID: b3d91f0c6e27
Revises: fed38d034a02
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db


revision: str = 'b3d91f0c6e27'
down_revision: str | None = 'fed38d034a02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('live_channel', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_off_since', vakt.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('audio_off_since', vakt.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('live_channel', schema=None) as batch_op:
        batch_op.drop_column('audio_off_since')
        batch_op.drop_column('video_off_since')
