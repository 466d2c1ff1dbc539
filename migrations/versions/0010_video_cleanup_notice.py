"""Video cleanup: when an unused video's owner was told it will be removed, and Keep

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

NOTICED = sa.text("cleanup_noticed_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cleanup_noticed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('kept', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index('ix_video_assets_created', ['created_at', 'id'], unique=False)
        batch_op.create_index(
            'ix_video_assets_cleanup_noticed',
            ['cleanup_noticed_at'],
            unique=False,
            sqlite_where=NOTICED,
            postgresql_where=NOTICED,
        )


def downgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_video_assets_cleanup_noticed', sqlite_where=NOTICED, postgresql_where=NOTICED
        )
        batch_op.drop_index('ix_video_assets_created')
        batch_op.drop_column('kept')
        batch_op.drop_column('cleanup_noticed_at')
