"""business keys

``business_key`` holds the key another system knows a case by (a portal's application id), unique within
the case's process across its versions (the primary key), and the case it names (unique: one key a case).

Revision ID: 0009_business_keys
Revises: 0008_api_tokens
"""
import sqlalchemy as sa
from alembic import op


revision = '0009_business_keys'
down_revision = '0008_api_tokens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('business_key',
    sa.Column('process', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('process', 'key'),
    sa.UniqueConstraint('instance_id')
    )
    op.create_index('ix_business_key_key', 'business_key', ['key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_business_key_key', table_name='business_key')
    op.drop_table('business_key')
