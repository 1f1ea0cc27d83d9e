"""a kept answer keeps its Location header

A retry of a POST that started a case was answered the first answer's status and body, but without the
``Location`` of the case it made; ``idempotent_request.location`` keeps that header with the answer.

Revision ID: 0019_idempotent_answer_location
Revises: 0018_ids_never_reused
"""
import sqlalchemy as sa
from alembic import op


revision = '0019_idempotent_answer_location'
down_revision = '0018_ids_never_reused'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotent_request') as batch:
        batch.add_column(sa.Column('location', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotent_request') as batch:
        batch.drop_column('location')
