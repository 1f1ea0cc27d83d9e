"""open-task indexes: the inbox's four human_task indexes hold open tasks only

The inbox, its queues and the breach check read open tasks alone, yet every
completed task stayed in these indexes for good, and each completion moved its
entries from the open part to the completed part of all four. Now a completed
task leaves them: they stay the size of the open work however long the history,
and a completion writes fewer index pages (bench/README.md). Queries use them by
saying ``status = 'open'`` in their SQL (HumanTask.is_open). On PostgreSQL
status moves to the end of each index, where it can still seek on the columns
before it (engine.storage.tables._open_tasks_index).

Revision ID: 0005_open_task_indexes
Revises: 0004_daily_sums
"""
import sqlalchemy as sa
from alembic import op


revision = '0005_open_task_indexes'
down_revision = '0004_daily_sums'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_task_role_queue': ['status', 'role', 'due_at'],
    'ix_task_assignee': ['assignee', 'status', 'due_at'],
    'ix_task_open_due': ['status', 'due_at'],
    'ix_task_queue': ['status', 'assignee', 'role', 'due_at'],
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name='human_task')
        if postgresql:  # status last: PostgreSQL drops the query's status term (see engine.storage.tables)
            columns = [column for column in columns if column != 'status'] + ['status']
        op.create_index(name, 'human_task', columns, sqlite_where=sa.text("status = 'open'"),
                        postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name='human_task')
        op.create_index(name, 'human_task', columns)
