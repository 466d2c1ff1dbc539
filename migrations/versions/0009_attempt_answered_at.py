"""Attempts keep when they were first answered; an index of the attempts still waiting

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

AWAITING = sa.text("kind = 'attempt' AND reviewed_at IS NULL AND answered_at IS NULL")


def upgrade():
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))
    # Answered: someone but the attempt's student wrote in its thread, first at that time.
    op.execute(
        """
        UPDATE video_comments SET answered_at = (
            SELECT min(reply.created_at) FROM video_comments AS reply
            WHERE reply.parent_id = video_comments.id
              AND reply.author_id != video_comments.author_id
        )
        WHERE kind = 'attempt'
        """
    )
    op.create_index(
        'ix_video_comments_awaiting',
        'video_comments',
        ['exercise_id', 'kind', 'created_at', 'author_id'],
        unique=False,
        sqlite_where=AWAITING,
        postgresql_where=AWAITING,
    )


def downgrade():
    op.drop_index(
        'ix_video_comments_awaiting',
        table_name='video_comments',
        sqlite_where=AWAITING,
        postgresql_where=AWAITING,
    )
    with op.batch_alter_table('video_comments', schema=None) as batch_op:
        batch_op.drop_column('answered_at')
