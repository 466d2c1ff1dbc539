"""Takes sent to the bucket as they are recorded: a direct upload may have no length yet

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 13:32:49

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # A take's length is declared when it is finished; its video id names its pieces and
    # finds its upload, so it is one upload's only.
    with op.batch_alter_table('direct_uploads', schema=None) as batch_op:
        batch_op.alter_column('length', existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_direct_uploads_asset_id'), ['asset_id'])


def downgrade():
    # Takes on their way have no length: they are let go (their pieces are orphans that
    # `flask cleanup` removes).
    op.execute("DELETE FROM direct_uploads WHERE length IS NULL")
    with op.batch_alter_table('direct_uploads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_direct_uploads_asset_id'), type_='unique')
        batch_op.alter_column('length', existing_type=sa.BigInteger(), nullable=False)
