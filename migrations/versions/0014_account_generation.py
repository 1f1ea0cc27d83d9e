"""the accounts' generation

``account_generation`` holds one number, raised in the transaction of every change to a user, their roles,
their API tokens or their signed-out sessions (engine.storage.account_generation), so that a process that
keeps who is signed in sees another process's change at its next request.

Revision ID: 0014_account_generation
Revises: 0013_job_table
"""
import sqlalchemy as sa
from alembic import op


revision = '0014_account_generation'
down_revision = '0013_job_table'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('account_generation',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(table, [{'id': 1, 'generation': 0}])


def downgrade() -> None:
    op.drop_table('account_generation')
