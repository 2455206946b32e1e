"""integrity_decisions: the office's exclusions of points or addresses per wave (issue 15)

Revision ID: 0007_integrity_decisions
Revises: 0007_organiser
Create Date: 2026-12-02 08:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007_integrity_decisions'
down_revision = '0007_organiser'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('integrity_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=80), nullable=False),
    sa.Column('withdrawal_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_integrity_decisions_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_decisions'))
    )
    with op.batch_alter_table('integrity_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrity_decisions_wave_id'), ['wave_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('integrity_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_decisions_wave_id'))

    op.drop_table('integrity_decisions')
