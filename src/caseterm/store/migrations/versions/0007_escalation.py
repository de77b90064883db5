"""Escalation and hour-based entitlements: the queue a queue's cases escalate to, SLA
policies that escalate a case when it breaches, and the minutes of work left on an
entitlement sold by the hour.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): nullable or with a server default
    op.add_column('queues', sa.Column('escalate_to', sa.String(length=80), nullable=True))
    op.add_column('sla_policies', sa.Column('escalate_on_breach', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column('entitlements', sa.Column('minutes_left', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table, column in (('entitlements', 'minutes_left'), ('sla_policies', 'escalate_on_breach'),
                          ('queues', 'escalate_to')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
