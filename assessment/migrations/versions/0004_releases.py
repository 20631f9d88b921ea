"""releases: frozen analyses that leads read, in place of an analysis recomputed on every change

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('released_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('n_respondents', sa.Integer(), nullable=False),
    sa.Column('min_group_size', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('rates', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('hidden', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_releases_assessment_id_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_releases')),
    sa.UniqueConstraint('assessment_id', 'seq', name='uq_releases_seq')
    )
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_releases_assessment_id'), ['assessment_id'], unique=False)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_responses_release_id'), ['release_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_responses_release_id_releases'), 'releases', ['release_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interim_releases', sa.Boolean(), server_default=sa.false(), nullable=False))

    # The analysis recomputed after every submission is what let two snapshots be differenced.
    op.drop_table('analysis_results')


def downgrade() -> None:
    op.create_table('analysis_results',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_analysis_results_assessment_id_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', name=op.f('pk_analysis_results'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_column('interim_releases')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_responses_release_id_releases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_responses_release_id'))
        batch_op.drop_column('release_id')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_releases_assessment_id'))
    op.drop_table('releases')
