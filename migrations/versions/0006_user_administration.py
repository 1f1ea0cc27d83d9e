"""user administration: disabled users, sessions that end with a new password, and the account log

``app_user.disabled_at`` is set while an admin has disabled the user: they cannot sign in and
their sessions end at their next request. ``app_user.session_generation`` counts the user's
password changes and resets; a session remembers the generation it signed in at and ends when it
is behind. ``account_event`` is the append-only log of what was done to each account and by whom.

Revision ID: 0006_user_administration
Revises: 0005_open_task_indexes
"""
import sqlalchemy as sa
from alembic import op


revision = '0006_user_administration'
down_revision = '0005_open_task_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('app_user', sa.Column('disabled_at', sa.DateTime(), nullable=True))
    op.add_column('app_user', sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.create_table('account_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_account_event_user', 'account_event', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_account_event_user', table_name='account_event')
    op.drop_table('account_event')
    # SQLite (3.35 and later) drops these columns in place: a batch would drop and copy app_user, which
    # user_role's foreign key forbids while foreign keys are enforced
    op.drop_column('app_user', 'session_generation')
    op.drop_column('app_user', 'disabled_at')
