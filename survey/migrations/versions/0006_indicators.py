"""the district plan pinned with each wave, and the plan indicators' recorded values (issue 16)

Revision ID: 0003_indicators
Revises: 0003_wave_settings
Create Date: 2026-12-02 12:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003_indicators'
down_revision = '0003_wave_settings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('source_file', sa.String(length=300), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_versions')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_plan_versions_content_hash'))
    )
    op.create_table('wave_plans',
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('plan_version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id'], name=op.f('fk_wave_plans_plan_version_id_plan_versions')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_wave_plans_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wave_id', name=op.f('pk_wave_plans'))
    )
    op.create_table('indicator_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_values')),
    sa.UniqueConstraint('code', 'year', name='uq_indicator_value')
    )
    with op.batch_alter_table('indicator_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_values_code'), ['code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('indicator_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_values_code'))

    op.drop_table('indicator_values')
    op.drop_table('wave_plans')
    op.drop_table('plan_versions')
