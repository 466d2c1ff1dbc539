"""Attempt alignment: where a take sits on its model video, by sound or by hand

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attempt_alignments',
        sa.Column('attempt_id', sa.Uuid(), nullable=False),
        sa.Column('take_asset_id', sa.Uuid(), nullable=False),
        sa.Column('model_asset_id', sa.Uuid(), nullable=False),
        sa.Column('clip_id', sa.Uuid(), nullable=True),
        sa.Column('rate', sa.Float(), server_default='1', nullable=False),
        sa.Column('offset_sec', sa.Float(), nullable=True),
        sa.Column('confidence', sa.Float(), nullable=True),
        sa.Column('aligned_by', sa.String(length=16), server_default='waiting', nullable=False),
        sa.Column('created_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("aligned_by IN ('waiting', 'sound', 'none', 'manual')", name=op.f('ck_attempt_alignments_aligned_by_valid')),
        sa.CheckConstraint('rate >= 0.1 AND rate <= 4', name=op.f('ck_attempt_alignments_rate_range')),
        sa.ForeignKeyConstraint(['attempt_id'], ['video_comments.id'], name=op.f('fk_attempt_alignments_attempt_id_video_comments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['clip_id'], ['video_clips.id'], name=op.f('fk_attempt_alignments_clip_id_video_clips'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['model_asset_id'], ['video_assets.id'], name=op.f('fk_attempt_alignments_model_asset_id_video_assets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['take_asset_id'], ['video_assets.id'], name=op.f('fk_attempt_alignments_take_asset_id_video_assets'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_attempt_alignments')),
    )
    with op.batch_alter_table('attempt_alignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_alignments_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_alignments_model_asset_id'), ['model_asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_alignments_take_asset_id'), ['take_asset_id'], unique=False)


def downgrade():
    with op.batch_alter_table('attempt_alignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_alignments_take_asset_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_alignments_model_asset_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_alignments_clip_id'))
    op.drop_table('attempt_alignments')
