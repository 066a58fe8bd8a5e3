"""grading: scripts, markings, reconciliation; computed part results; employer; proctor involvement

Revision ID: 2917dabdfbf6
Revises: b3d91f0c6e27
Create Date: 2026-12-05 01:40:08.494829
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import vakt.db
from sqlalchemy.dialects import postgresql

revision: str = '2917dabdfbf6'
down_revision: str | None = 'b3d91f0c6e27'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('conflict_of_interest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grader_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('declared_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['user_account.id'], name=op.f('fk_conflict_of_interest_candidate_id_user_account')),
    sa.ForeignKeyConstraint(['grader_id'], ['user_account.id'], name=op.f('fk_conflict_of_interest_grader_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_of_interest'))
    )
    with op.batch_alter_table('conflict_of_interest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_of_interest_grader_id'), ['grader_id'], unique=False)

    op.create_table('grader_qualification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grader_id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=80), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('granted_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['grader_id'], ['user_account.id'], name=op.f('fk_grader_qualification_grader_id_user_account')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user_account.id'], name=op.f('fk_grader_qualification_granted_by_id_user_account')),
    sa.ForeignKeyConstraint(['scheme_id'], ['scheme.id'], name=op.f('fk_grader_qualification_scheme_id_scheme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grader_qualification')),
    sa.UniqueConstraint('grader_id', 'scheme_id', 'tag', name=op.f('uq_grader_qualification_grader_id_scheme_id_tag'))
    )
    with op.batch_alter_table('grader_qualification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grader_qualification_grader_id'), ['grader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grader_qualification_scheme_id'), ['scheme_id'], unique=False)

    op.create_table('grading_policy',
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['scheme_id'], ['scheme.id'], name=op.f('fk_grading_policy_scheme_id_scheme')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_grading_policy_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('scheme_id', name=op.f('pk_grading_policy'))
    )
    op.create_table('proctor_involvement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('first_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_proctor_involvement_registration_id_registration')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_proctor_involvement_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proctor_involvement')),
    sa.UniqueConstraint('registration_id', 'user_id', name=op.f('uq_proctor_involvement_registration_id_user_id'))
    )
    with op.batch_alter_table('proctor_involvement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proctor_involvement_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proctor_involvement_user_id'), ['user_id'], unique=False)

    op.create_table('grading_script',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('sitting_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('attempt_part_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('max_points', sa.Float(), nullable=False),
    sa.Column('required_marks', sa.Integer(), nullable=False),
    sa.Column('taken_marks', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('final_points', sa.Float(), nullable=True),
    sa.Column('finalized_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_part_id'], ['attempt_part.id'], name=op.f('fk_grading_script_attempt_part_id_attempt_part')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_version.id'], name=op.f('fk_grading_script_item_version_id_item_version')),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_grading_script_registration_id_registration')),
    sa.ForeignKeyConstraint(['scheme_id'], ['scheme.id'], name=op.f('fk_grading_script_scheme_id_scheme')),
    sa.ForeignKeyConstraint(['sitting_id'], ['sitting.id'], name=op.f('fk_grading_script_sitting_id_sitting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grading_script')),
    sa.UniqueConstraint('attempt_part_id', 'item_version_id', 'question_id', name=op.f('uq_grading_script_attempt_part_id_item_version_id_question_id')),
    sa.UniqueConstraint('code', name=op.f('uq_grading_script_code'))
    )
    with op.batch_alter_table('grading_script', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grading_script_attempt_part_id'), ['attempt_part_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_script_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_script_scheme_id'), ['scheme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_script_sitting_id'), ['sitting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_script_status'), ['status'], unique=False)

    op.create_table('grading_marking',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('grader_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('claimed_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('marks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('saved_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('submitted_at', vakt.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['grader_id'], ['user_account.id'], name=op.f('fk_grading_marking_grader_id_user_account')),
    sa.ForeignKeyConstraint(['script_id'], ['grading_script.id'], name=op.f('fk_grading_marking_script_id_grading_script'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grading_marking')),
    sa.UniqueConstraint('script_id', 'grader_id', name=op.f('uq_grading_marking_script_id_grader_id')),
    sa.UniqueConstraint('script_id', 'slot', name=op.f('uq_grading_marking_script_id_slot'))
    )
    with op.batch_alter_table('grading_marking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grading_marking_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_marking_grader_id'), ['grader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grading_marking_script_id'), ['script_id'], unique=False)

    op.create_table('grading_reconciliation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('final_points', sa.Float(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('decided_at', vakt.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['user_account.id'], name=op.f('fk_grading_reconciliation_lead_id_user_account')),
    sa.ForeignKeyConstraint(['script_id'], ['grading_script.id'], name=op.f('fk_grading_reconciliation_script_id_grading_script')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grading_reconciliation')),
    sa.UniqueConstraint('script_id', name=op.f('uq_grading_reconciliation_script_id'))
    )
    with op.batch_alter_table('grading_reconciliation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grading_reconciliation_lead_id'), ['lead_id'], unique=False)

    with op.batch_alter_table('attempt_part', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('max_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('result_override_at', vakt.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('result_override_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('result_override_grounds', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_attempt_part_result_override_by_id_user_account'), 'user_account', ['result_override_by_id'], ['id'])

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('employer', sa.String(length=200), server_default='', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('employer')

    with op.batch_alter_table('attempt_part', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attempt_part_result_override_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('result_override_grounds')
        batch_op.drop_column('result_override_by_id')
        batch_op.drop_column('result_override_at')
        batch_op.drop_column('max_score')
        batch_op.drop_column('score')

    with op.batch_alter_table('grading_reconciliation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grading_reconciliation_lead_id'))

    op.drop_table('grading_reconciliation')
    with op.batch_alter_table('grading_marking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grading_marking_script_id'))
        batch_op.drop_index(batch_op.f('ix_grading_marking_grader_id'))
        batch_op.drop_index(batch_op.f('ix_grading_marking_expires_at'))

    op.drop_table('grading_marking')
    with op.batch_alter_table('grading_script', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grading_script_status'))
        batch_op.drop_index(batch_op.f('ix_grading_script_sitting_id'))
        batch_op.drop_index(batch_op.f('ix_grading_script_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_grading_script_registration_id'))
        batch_op.drop_index(batch_op.f('ix_grading_script_attempt_part_id'))

    op.drop_table('grading_script')
    with op.batch_alter_table('proctor_involvement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proctor_involvement_user_id'))
        batch_op.drop_index(batch_op.f('ix_proctor_involvement_registration_id'))

    op.drop_table('proctor_involvement')
    op.drop_table('grading_policy')
    with op.batch_alter_table('grader_qualification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grader_qualification_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_grader_qualification_grader_id'))

    op.drop_table('grader_qualification')
    with op.batch_alter_table('conflict_of_interest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_of_interest_grader_id'))

    op.drop_table('conflict_of_interest')
