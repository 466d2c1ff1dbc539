"""Video native copy: a stream copy offered to the browsers that play it while the
renditions are made

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('native_path', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('native_type', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.drop_column('native_type')
        batch_op.drop_column('native_path')
