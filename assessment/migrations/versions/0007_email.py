"""email: encrypted invitation tokens, opt-outs, the record of each email and the texts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('unsubscribed_on', sa.Date(), nullable=True))

    op.create_table('mail_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invitation', 'reminder', name='mail_kind', native_enum=False, length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('sending', 'sent', 'failed', name='mail_status', native_enum=False, length=16), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_mail_messages_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_mail_messages_invitation_id_invitations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages')),
    sa.UniqueConstraint('invitation_id', 'kind', 'day', name='uq_mail_messages_invitation_kind_day')
    )
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_messages_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_messages_invitation_id'), ['invitation_id'], unique=False)

    op.create_table('mail_templates',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('invitation_subject', sa.String(length=200), nullable=False),
    sa.Column('invitation_body', sa.Text(), nullable=False),
    sa.Column('reminder_subject', sa.String(length=200), nullable=False),
    sa.Column('reminder_body', sa.Text(), nullable=False),
    sa.Column('reminder_days', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_mail_templates_assessment_id_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', name=op.f('pk_mail_templates'))
    )


def downgrade() -> None:
    op.drop_table('mail_templates')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_messages_invitation_id'))
        batch_op.drop_index(batch_op.f('ix_mail_messages_assessment_id'))
    op.drop_table('mail_messages')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('unsubscribed_on')
        batch_op.drop_column('token_encrypted')
