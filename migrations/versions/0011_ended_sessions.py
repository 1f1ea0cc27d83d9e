"""ended sessions

``ended_session`` holds the id of each session ended by signing out, so that a copy of its cookie no longer
signs anyone in; rows older than the session lifetime are removed as new ones come.

Revision ID: 0011_ended_sessions
Revises: 0010_idempotent_requests
"""
import sqlalchemy as sa
from alembic import op


revision = '0011_ended_sessions'
down_revision = '0010_idempotent_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ended_session',
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('session_id')
    )
    op.create_index('ix_ended_session_ended_at', 'ended_session', ['ended_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ended_session_ended_at', table_name='ended_session')
    op.drop_table('ended_session')
