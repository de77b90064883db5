"""The case server's bookkeeping: the change log pull serves (by sequence), bearer-token
hashes, registered devices, and the answers to pushed ops (for idempotent replays).
A client's store has these tables too, empty.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from caseterm.store import types as ct

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('server_changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('row_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('changed_at', ct.UtcDateTime(), nullable=False),
    )
    op.create_table('server_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('revoked_at', ct.UtcDateTime(), nullable=True),
    sa.Column('last_used_at', ct.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_server_tokens_agent_id', 'server_tokens', ['agent_id'], unique=False)
    op.create_table('server_devices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('registered_at', ct.UtcDateTime(), nullable=False),
    sa.Column('last_seen_at', ct.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('server_applied_ops',
    sa.Column('op_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('result', ct.JsonText(), nullable=False),
    sa.Column('applied_at', ct.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('op_id')
    )


def downgrade() -> None:
    op.drop_table('server_applied_ops')
    op.drop_table('server_devices')
    op.drop_index('ix_server_tokens_agent_id', table_name='server_tokens')
    op.drop_table('server_tokens')
    op.drop_table('server_changes')
