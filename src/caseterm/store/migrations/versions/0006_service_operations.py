"""Service operations: skills, business-hours calendars, SLA policies, routing rules and
entitlement templates from the operations file, and each queue's email address,
assignment strategy and needed skills.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from caseterm.store import types as ct

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('business_calendars',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('hours', ct.JsonText(), nullable=False),
    sa.Column('holidays', ct.JsonText(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('entitlement_templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('sla', sa.String(length=80), nullable=True),
    sa.Column('cases', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Integer(), nullable=True),
    sa.Column('channels', ct.JsonText(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('skills',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('sla_policies',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('calendar', sa.String(length=80), nullable=False),
    sa.Column('conditions', ct.JsonText(), nullable=False),
    sa.Column('targets', ct.JsonText(), nullable=False),
    sa.Column('warn_at', sa.Float(), nullable=False),
    sa.Column('pause', ct.JsonText(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('routing_rules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('conditions', ct.JsonText(), nullable=False),
    sa.Column('queue_id', sa.Uuid(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('entitlements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('sla', sa.String(length=80), nullable=True),
    sa.Column('channels', ct.JsonText(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('cases_left', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlements_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_policy', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_at', ct.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('sla_warn_at', ct.UtcDateTime(), nullable=True))
        batch_op.create_index('ix_cases_state_due', ['state', 'deleted', 'resolve_due_at'], unique=False,
                              sqlite_where=sa.text('deleted = 0 AND resolve_due_at IS NOT NULL'),
                              postgresql_where=sa.text('NOT deleted AND resolve_due_at IS NOT NULL'))
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('strategy', sa.String(length=16), nullable=False, server_default='least_active'))
        batch_op.add_column(sa.Column('needs', ct.JsonText(), nullable=False, server_default='{}'))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): no copy of the cases table,
    # whose foreign keys a batch rebuild would trip over
    op.drop_index('ix_cases_state_due', table_name='cases')
    op.drop_index('ix_entitlements_customer_id', table_name='entitlements')
    op.drop_table('entitlements')
    op.drop_table('routing_rules')
    op.drop_table('sla_policies')
    op.drop_table('skills')
    op.drop_table('entitlement_templates')
    op.drop_table('business_calendars')
    for table, column in (('cases', 'sla_warn_at'), ('cases', 'sla_paused_at'), ('cases', 'sla_policy'),
                          ('queues', 'needs'), ('queues', 'strategy'), ('queues', 'email')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
