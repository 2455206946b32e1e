"""responses: index for counting one address's submissions across the wave (ip_burst)

Revision ID: 0003_integrity
Revises: 0002
Create Date: 2026-12-02 12:00:00
"""
from __future__ import annotations

from alembic import op


revision = '0003_integrity'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(
            'ix_responses_wave_address_submitted', ['wave_id', 'ip_hash', 'submitted_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_wave_address_submitted')
