"""the organiser and contact phone of a wave, shown to residents (issue 14)

Revision ID: 0007_organiser
Revises: 0003_indicators
Create Date: 2026-12-02 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_organiser'
down_revision = '0003_indicators'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wave_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organiser', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('wave_settings', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('organiser')
