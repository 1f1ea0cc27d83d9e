"""failed sign-ins, and the event log by time

``failed_sign_in`` keeps each refused sign-in (the user name given, the address, why) for the admins' audit
log; ``ix_event_at`` lets the audit log read the newest events first without sorting the whole log.

Revision ID: 0012_failed_sign_ins
Revises: 0011_ended_sessions
"""
import sqlalchemy as sa
from alembic import op


revision = '0012_failed_sign_ins'
down_revision = '0011_ended_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('failed_sign_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_failed_sign_in_at', 'failed_sign_in', ['at'], unique=False)
    op.create_index('ix_failed_sign_in_name', 'failed_sign_in', ['name'], unique=False)
    op.create_index('ix_event_at', 'task_event', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_at', table_name='task_event')
    op.drop_index('ix_failed_sign_in_name', table_name='failed_sign_in')
    op.drop_index('ix_failed_sign_in_at', table_name='failed_sign_in')
    op.drop_table('failed_sign_in')
