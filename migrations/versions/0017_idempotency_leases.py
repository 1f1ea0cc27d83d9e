"""idempotency keys' claims are leases

``idempotent_request`` records when the request holding a key's claim claimed it (``claimed_at``), which claim
of the key that was (``attempt``: a retry that takes a lapsed claim over makes the next), and when that
request's work was committed (``work_committed_at``, written in the work's own transaction). A claim left
unanswered before this version may have had its work done, which nothing recorded: it is taken as done at its
claim, so that a retry is told its answer was lost rather than doing the work a second time.

Revision ID: 0017_idempotency_leases
Revises: 0016_notifications
"""
import sqlalchemy as sa
from alembic import op


revision = '0017_idempotency_leases'
down_revision = '0016_notifications'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotent_request') as batch:
        batch.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('attempt', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch.add_column(sa.Column('work_committed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE idempotent_request SET claimed_at = created_at")
    op.execute("UPDATE idempotent_request SET work_committed_at = created_at WHERE status IS NULL")
    with op.batch_alter_table('idempotent_request') as batch:
        batch.alter_column('claimed_at', existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotent_request') as batch:
        batch.drop_column('work_committed_at')
        batch.drop_column('attempt')
        batch.drop_column('claimed_at')
