"""Video processing ETA: seconds left, written with the progress

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 20:54:10.339166

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta_seconds', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('video_assets', schema=None) as batch_op:
        batch_op.drop_column('eta_seconds')

