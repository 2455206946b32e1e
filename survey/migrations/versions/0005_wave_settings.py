"""wave_settings: a wave's analysis settings, stored with the wave

Revision ID: 0003_wave_settings
Revises: 0003_jobs
Create Date: 2026-12-03 09:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003_wave_settings'
down_revision = '0003_jobs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wave_settings',
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('changed_by', sa.String(length=80), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_wave_settings_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wave_id', name=op.f('pk_wave_settings'))
    )


def downgrade() -> None:
    op.drop_table('wave_settings')
