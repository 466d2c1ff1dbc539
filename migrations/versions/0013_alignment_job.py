"""Attempt alignment job: the row names its sound job and counts its runs, so the sweep can
tell a lost or killed job from one at work

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempt_alignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('job_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('attempt_alignments', schema=None) as batch_op:
        batch_op.drop_column('job_id')
        batch_op.drop_column('attempts')
