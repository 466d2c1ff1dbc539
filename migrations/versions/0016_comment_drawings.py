"""Feedback keeps what its teacher drew on the take's frame, and the still of that frame

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 08:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

STILL_WAITING = sa.text("still_job_id IS NOT NULL")


def upgrade():
    with op.batch_alter_table("video_comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drawing", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("still_path", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column("still_runs", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("still_job_id", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_video_comments_still_job",
        "video_comments",
        ["still_job_id"],
        unique=False,
        sqlite_where=STILL_WAITING,
        postgresql_where=STILL_WAITING,
    )


def downgrade():
    op.drop_index(
        "ix_video_comments_still_job",
        table_name="video_comments",
        sqlite_where=STILL_WAITING,
        postgresql_where=STILL_WAITING,
    )
    with op.batch_alter_table("video_comments", schema=None) as batch_op:
        batch_op.drop_column("still_job_id")
        batch_op.drop_column("still_runs")
        batch_op.drop_column("still_path")
        batch_op.drop_column("drawing")
