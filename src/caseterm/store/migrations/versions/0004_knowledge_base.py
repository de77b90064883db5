"""The knowledge base: article revisions (kb_articles) and the articles linked to cases
(case_articles).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from caseterm.store import types as ct

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_articles',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('keywords', ct.JsonText(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('reviewer_id', sa.Uuid(), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('published_at', ct.UtcDateTime(), nullable=True),
    sa.Column('expires_at', ct.UtcDateTime(), nullable=True),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Integer(), nullable=False),
    sa.Column('not_helpful', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.ForeignKeyConstraint(['reviewer_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['supersedes_id'], ['kb_articles.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number', 'revision')
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index('ix_kb_articles_slug', ['slug'], unique=False)
        batch_op.create_index('ix_kb_articles_state', ['state'], unique=False)

    op.create_table('case_articles',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ct.UtcDateTime(), nullable=False),
    sa.Column('updated_at', ct.UtcDateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('article_id', sa.Uuid(), nullable=False),
    sa.Column('linked_by_id', sa.Uuid(), nullable=True),
    sa.Column('helped', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['linked_by_id'], ['agents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'article_id')
    )
    with op.batch_alter_table('case_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_articles_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_articles_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_articles_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_articles_article_id'))

    op.drop_table('case_articles')
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_articles_state')
        batch_op.drop_index('ix_kb_articles_slug')

    op.drop_table('kb_articles')
