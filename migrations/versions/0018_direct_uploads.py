"""Videos sent straight to the bucket: the multipart uploads on their way

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'direct_uploads',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Uuid(), nullable=False),
        sa.Column('s3_upload_id', sa.String(length=1024), nullable=False),
        sa.Column('length', sa.BigInteger(), nullable=False),
        sa.Column('filename', sa.String(length=255), server_default='', nullable=False),
        sa.Column('sound_only', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('direct_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_direct_uploads_owner_id'), ['owner_id'], unique=False)


def downgrade():
    with op.batch_alter_table('direct_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_direct_uploads_owner_id'))
    op.drop_table('direct_uploads')
