"""assessment statistics snapshots, item review marks and bounds

Revision ID: 554d4e30cd0e
Revises: 2917dabdfbf6
Create Date: 2026-12-05 01:59:18.042044
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db
from sqlalchemy.dialects import postgresql

revision: str = '554d4e30cd0e'
down_revision: str | None = '2917dabdfbf6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('item_quality_bounds',
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['scheme_id'], ['scheme.id'], name=op.f('fk_item_quality_bounds_scheme_id_scheme')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_item_quality_bounds_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('scheme_id', name=op.f('pk_item_quality_bounds'))
    )
    op.create_table('item_review_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('bound', sa.Float(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('marked_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_by_version_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cleared_by_version_id'], ['item_version.id'], name=op.f('fk_item_review_mark_cleared_by_version_id_item_version')),
    sa.ForeignKeyConstraint(['version_id'], ['item_version.id'], name=op.f('fk_item_review_mark_version_id_item_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_review_mark'))
    )
    with op.batch_alter_table('item_review_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_review_mark_version_id'), ['version_id'], unique=False)

    op.create_table('statistics_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sitting_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=True),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['computed_by_id'], ['user_account.id'], name=op.f('fk_statistics_snapshot_computed_by_id_user_account')),
    sa.ForeignKeyConstraint(['sitting_id'], ['sitting.id'], name=op.f('fk_statistics_snapshot_sitting_id_sitting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statistics_snapshot')),
    sa.UniqueConstraint('sitting_id', name=op.f('uq_statistics_snapshot_sitting_id'))
    )
    op.create_table('grader_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('first_grader_id', sa.Integer(), nullable=False),
    sa.Column('second_grader_id', sa.Integer(), nullable=False),
    sa.Column('scripts', sa.Integer(), nullable=False),
    sa.Column('exact', sa.Float(), nullable=True),
    sa.Column('adjacent', sa.Float(), nullable=True),
    sa.Column('kappa', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['first_grader_id'], ['user_account.id'], name=op.f('fk_grader_agreement_first_grader_id_user_account')),
    sa.ForeignKeyConstraint(['second_grader_id'], ['user_account.id'], name=op.f('fk_grader_agreement_second_grader_id_user_account')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['statistics_snapshot.id'], name=op.f('fk_grader_agreement_snapshot_id_statistics_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grader_agreement')),
    sa.UniqueConstraint('snapshot_id', 'first_grader_id', 'second_grader_id', name=op.f('uq_grader_agreement_snapshot_id_first_grader_id_second_grader_id'))
    )
    with op.batch_alter_table('grader_agreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grader_agreement_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('item_statistics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('part_key', sa.String(length=40), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('max_points', sa.Float(), nullable=False),
    sa.Column('facility', sa.Float(), nullable=True),
    sa.Column('discrimination', sa.Float(), nullable=True),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('sd', sa.Float(), nullable=True),
    sa.Column('choice_shares', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_version.id'], name=op.f('fk_item_statistics_item_version_id_item_version')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['statistics_snapshot.id'], name=op.f('fk_item_statistics_snapshot_id_statistics_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_statistics')),
    sa.UniqueConstraint('snapshot_id', 'part_key', 'item_version_id', name=op.f('uq_item_statistics_snapshot_id_part_key_item_version_id'))
    )
    with op.batch_alter_table('item_statistics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_statistics_item_version_id'), ['item_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_statistics_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('part_statistics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('part_key', sa.String(length=40), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('max_points', sa.Float(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('sd', sa.Float(), nullable=True),
    sa.Column('reliability_kind', sa.String(length=10), nullable=False),
    sa.Column('reliability', sa.Float(), nullable=True),
    sa.Column('sem', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['statistics_snapshot.id'], name=op.f('fk_part_statistics_snapshot_id_statistics_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_part_statistics')),
    sa.UniqueConstraint('snapshot_id', 'part_key', name=op.f('uq_part_statistics_snapshot_id_part_key'))
    )
    with op.batch_alter_table('part_statistics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_part_statistics_snapshot_id'), ['snapshot_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('part_statistics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_part_statistics_snapshot_id'))

    op.drop_table('part_statistics')
    with op.batch_alter_table('item_statistics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_statistics_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_item_statistics_item_version_id'))

    op.drop_table('item_statistics')
    with op.batch_alter_table('grader_agreement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grader_agreement_snapshot_id'))

    op.drop_table('grader_agreement')
    op.drop_table('statistics_snapshot')
    with op.batch_alter_table('item_review_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_review_mark_version_id'))

    op.drop_table('item_review_mark')
    op.drop_table('item_quality_bounds')
