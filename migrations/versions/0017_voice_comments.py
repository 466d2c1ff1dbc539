"""Voice comments: a video asset may be an upload of sound only, which only a comment carries

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
# 0016 lands before this one: the chain is set to it on merge (0014 while it is built alone).
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('sound_only', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.drop_column('sound_only')
