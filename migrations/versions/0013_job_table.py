"""job table and incidents: timers and breaches become jobs; a case in error keeps when and how often it failed

``job`` holds the work workers do once it is due (engine.jobs): a timer job per case waiting on a timer, a
breach job per open task with a target. The cases and tasks waiting today get theirs here, so that nothing
is lost on upgrade. ``process_instance.errored_at`` and ``error_attempts`` describe an incident: when the case
stopped in error, and how many runs of the failing step failed in a row.

Revision ID: 0013_job_table
Revises: 0012_failed_sign_ins
"""
import sqlalchemy as sa
from alembic import op


revision = '0013_job_table'
down_revision = '0012_failed_sign_ins'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('locked_by', sa.String(length=200), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_due', 'job', ['due_at'], unique=False)
    op.create_index('ix_job_instance', 'job', ['instance_id', 'kind'], unique=False)
    op.add_column('process_instance', sa.Column('errored_at', sa.DateTime(), nullable=True))
    op.add_column('process_instance', sa.Column('error_attempts', sa.Integer(), server_default=sa.text('0'),
                                                nullable=False))
    op.execute("INSERT INTO job (kind, instance_id, due_at, attempts) "
               "SELECT 'timer', id, next_timer_at, 0 FROM process_instance "
               "WHERE status = 'running' AND next_timer_at IS NOT NULL")
    op.execute("INSERT INTO job (kind, instance_id, task_id, due_at, attempts) "
               "SELECT 'breach', instance_id, id, due_at, 0 FROM human_task "
               "WHERE status = 'open' AND due_at IS NOT NULL AND breached_at IS NULL")
    op.execute("UPDATE process_instance SET error_attempts = 1, errored_at = ("
               "SELECT max(e.at) FROM task_event e WHERE e.instance_id = process_instance.id "
               "AND e.type = 'instance_errored') WHERE status = 'error'")


def downgrade() -> None:
    op.drop_index('ix_job_instance', table_name='job')
    op.drop_index('ix_job_due', table_name='job')
    op.drop_table('job')
    # in place (SQLite 3.35 and later): a copy of the table would be refused by the tables that refer to it
    op.drop_column('process_instance', 'error_attempts')
    op.drop_column('process_instance', 'errored_at')
