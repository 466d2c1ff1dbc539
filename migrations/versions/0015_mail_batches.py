"""Outgoing mail can gather several comments: the batch it belongs to and the ids it lists

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('batch_items', sa.JSON(), nullable=True))
        batch_op.create_index('ix_outgoing_mail_batch_key', ['batch_key'], unique=False)


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mail_batch_key')
        batch_op.drop_column('batch_items')
        batch_op.drop_column('batch_key')
