"""idempotent API requests

``idempotent_request`` keeps, per user and ``Idempotency-Key``, a hash of the first request sent with the key
and, once it is answered, its status and body; the primary key lets only the first of two requests at once
claim the key.

Revision ID: 0010_idempotent_requests
Revises: 0009_business_keys
"""
import sqlalchemy as sa
from alembic import op


revision = '0010_idempotent_requests'
down_revision = '0009_business_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotent_request',
    sa.Column('user_name', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('user_name', 'key')
    )
    op.create_index('ix_idempotent_request_created_at', 'idempotent_request', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_idempotent_request_created_at', table_name='idempotent_request')
    op.drop_table('idempotent_request')
