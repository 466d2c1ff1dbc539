"""Replies looked up by parent and author together (attempts awaiting feedback)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 23:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_video_comments_parent_id')
        batch_op.create_index('ix_video_comments_parent_author', ['parent_id', 'author_id'], unique=False)


def downgrade():
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_video_comments_parent_author')
        batch_op.create_index('ix_video_comments_parent_id', ['parent_id'], unique=False)
