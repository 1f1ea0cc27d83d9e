"""analytics: role rates, customer satisfaction, pre-aggregated task and case facts

role_rate: an hourly rate per role, for the cost of a case.
case_feedback, feedback_token: a satisfaction score 1-5 per finished case, given by staff
or by the customer through a one-time link (only the token's SHA-256 is stored).
task_fact, case_fact: completed tasks and finished cases in whole seconds, with their
process and segment, written by engine.analytics.facts and read by the dashboards; each duration
has an index that lists a step's (or a process's) rows in its order, so a percentile is
a short walk down an index. Each fact keeps the id of the event that completed it, so the
next refresh knows where the log stopped.

Revision ID: 0003_analytics
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_analytics'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('role_rate',
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.Column('hourly_rate', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('role')
    )
    op.create_table('case_feedback',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('instance_id')
    )
    op.create_table('feedback_token',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('feedback_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_token_instance_id'), ['instance_id'], unique=False)

    op.create_table('task_fact',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('process', sa.String(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=False),
    sa.Column('segment', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=True),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('value_class', sa.String(length=3), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=True),
    sa.Column('cycle_seconds', sa.Integer(), nullable=False),
    sa.Column('wait_seconds', sa.Integer(), nullable=True),
    sa.Column('work_seconds', sa.Integer(), nullable=True),
    sa.Column('within', sa.Integer(), nullable=True),
    sa.Column('overrun', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('task_id')
    )
    with op.batch_alter_table('task_fact', schema=None) as batch_op:
        for metric in ('cycle', 'wait', 'work'):
            batch_op.create_index(f'ix_task_fact_{metric}', ['process', 'step_id', f'{metric}_seconds', 'definition_id',
                                                             'segment', 'completed_at'], unique=False)
        batch_op.create_index('ix_task_fact_overrun', ['process', 'step_id', 'segment', 'overrun', 'definition_id',
                                                       'completed_at'], unique=False)
        batch_op.create_index('ix_task_fact_done', ['process', 'completed_at'], unique=False)
        batch_op.create_index('ix_task_fact_steps', ['process', 'step_id', 'segment', 'definition_id', 'completed_at',
                                                     'cycle_seconds', 'wait_seconds', 'work_seconds', 'within',
                                                     'overrun'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_task_fact_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_fact_event_id'), ['event_id'], unique=False)

    op.create_table('case_fact',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('process', sa.String(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('lead_seconds', sa.Integer(), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=True),
    sa.Column('within', sa.Integer(), nullable=True),
    *[sa.Column(f'{kind}_{part}_seconds', sa.Integer(), nullable=False)
      for part in ('work', 'wait') for kind in ('va', 'bva', 'nva', 'other')],
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('pce', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('instance_id')
    )
    with op.batch_alter_table('case_fact', schema=None) as batch_op:
        for column in ('lead_seconds', 'cost', 'pce'):
            batch_op.create_index(f'ix_case_fact_{column.split("_")[0]}', ['process', column, 'definition_id',
                                                                          'segment', 'ended_at'], unique=False)
        batch_op.create_index('ix_case_fact_ended', ['process', 'ended_at'], unique=False)
        for column in ('lead', 'cost'):
            batch_op.create_index(f'ix_case_fact_week_{column}', ['process', 'week', 'lead_seconds' if column == 'lead'
                                                                  else 'cost', 'definition_id', 'segment'], unique=False)
        batch_op.create_index('ix_case_fact_sums', ['process', 'segment', 'definition_id', 'ended_at', 'within'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_case_fact_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    op.drop_table('case_fact')
    op.drop_table('task_fact')
    with op.batch_alter_table('feedback_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_token_instance_id'))

    op.drop_table('feedback_token')
    op.drop_table('case_feedback')
    op.drop_table('role_rate')
