"""inbox queue index: open unassigned tasks by role, in due order

The inbox counts and pages a role's queue (status = 'open', assignee IS NULL,
role IN (...), ordered by due_at) from this index alone; bench/inbox.py measures it.

Revision ID: 0002
Revises: 0001
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_task_queue', ['status', 'assignee', 'role', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_queue')
