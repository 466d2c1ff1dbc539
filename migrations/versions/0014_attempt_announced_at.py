"""Attempts keep when they were announced to their teacher, so the worker and the submit,
whichever comes second, announce each exactly once

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announced_at', sa.DateTime(), nullable=True))
    # An attempt whose video plays already was announced by the worker when it began to
    # play (the moment was not kept: its sending stands for it), so nothing is mailed twice.
    op.execute(
        """
        UPDATE video_comments SET announced_at = created_at
        WHERE kind = 'attempt' AND video_asset_id IN (
            SELECT id FROM video_assets
            WHERE CAST(renditions AS TEXT) != '{}' AND processing_status != 'failed'
        )
        """
    )


def downgrade():
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.drop_column('announced_at')
