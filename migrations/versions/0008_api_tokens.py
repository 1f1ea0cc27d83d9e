"""personal API tokens

``api_token`` holds each user's named API tokens: the SHA-256 of the secret (the secret itself is shown
once and never stored), when it was made, when it was last used, and when it was revoked.

Revision ID: 0008_api_tokens
Revises: 0007_process_draft
"""
import sqlalchemy as sa
from alembic import op


revision = '0008_api_tokens'
down_revision = '0007_process_draft'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash')
    )
    op.create_index('ix_api_token_user', 'api_token', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_api_token_user', table_name='api_token')
    op.drop_table('api_token')
