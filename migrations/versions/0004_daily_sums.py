"""daily sums and value buckets of the facts, and the cases' lifecycle index

task_day, case_day: the task and case facts added up per version, segment (step
and role) and UTC day; task_bucket: a step's tasks counted per bucket of each
duration's values. engine.analytics.facts writes them beside the facts (engine.analytics.rollups);
the dashboards add these up instead of every fact. The facts are emptied here:
the next refresh (``valueflow init`` runs one) writes them again from the event
log, with their sums.
ix_instance_lifecycle: the dashboard's counts of cases started, cancelled and
running read from this index alone, not from the cases' rows.
ix_customer_segment: the segments customers are in, one index step per segment.
ix_task_fact_period, ix_case_fact_period: the facts of a period (its ragged ends,
its percentiles) read from one index each; they replace the indexes by completion
time and those the step and case counts were read from (now the daily sums).
ix_case_fact_segment_lead: each segment's lead times in order, for its median.
On PostgreSQL, statistics of how a fact's process, version (and step) go together:
without them the planner multiplies their shares, expects a version of a process to
have a third of its facts, and sorts them all instead of walking an index to a median.

Revision ID: 0004_daily_sums
Revises: 0003_analytics
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_daily_sums'
down_revision = '0003_analytics'
branch_labels = None
depends_on = None

CLASS_SECONDS = [f'{kind}_{part}_seconds' for kind in ('va', 'bva', 'nva', 'other') for part in ('work', 'wait')]


def step_columns() -> list[sa.Column]:
    """One step of one version, for one segment and role ("" for none)."""
    return [sa.Column('definition_id', sa.Integer(), nullable=False),
            sa.Column('step_id', sa.String(length=200), nullable=False),
            sa.Column('segment', sa.String(length=100), nullable=False),
            sa.Column('role', sa.String(length=200), nullable=False)]


def upgrade() -> None:
    op.execute('DELETE FROM case_fact')
    op.execute('DELETE FROM task_fact')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_segment'), ['segment'], unique=False)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_lifecycle', ['definition_id', 'started_at', 'segment', 'status', 'ended_at'],
                              unique=False)
    op.create_table('task_day',
    *step_columns(),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    *[sa.Column(f'{metric}_seconds', sa.BigInteger(), nullable=False) for metric in ('cycle', 'wait', 'work')],
    *[sa.Column(name, sa.Integer(), nullable=False)
      for name in ('waits', 'works', 'with_target', 'within', 'overruns')],
    sa.PrimaryKeyConstraint('definition_id', 'step_id', 'segment', 'role', 'day')
    )
    op.create_table('case_day',
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in ('cases', 'with_target', 'within')],
    *[sa.Column(name, sa.BigInteger(), nullable=False) for name in ('lead_seconds', *CLASS_SECONDS)],
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('pces', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('definition_id', 'segment', 'day')
    )
    with op.batch_alter_table('task_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_task_fact_done')
        batch_op.drop_index('ix_task_fact_steps')
        batch_op.create_index('ix_task_fact_period', ['process', 'completed_at', 'step_id', 'segment', 'definition_id',
                                                      'cycle_seconds', 'wait_seconds', 'work_seconds', 'within',
                                                      'overrun'], unique=False)
    with op.batch_alter_table('case_fact', schema=None) as batch_op:
        batch_op.create_index('ix_case_fact_segment_lead', ['process', 'segment', 'lead_seconds', 'definition_id',
                                                            'ended_at'], unique=False)
        batch_op.drop_index('ix_case_fact_ended')
        batch_op.drop_index('ix_case_fact_sums')
        batch_op.create_index('ix_case_fact_period', ['process', 'ended_at', 'week', 'segment', 'definition_id',
                                                      'lead_seconds', 'cost', 'pce', 'within', 'instance_id'],
                              unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE STATISTICS task_fact_version (dependencies) ON process, definition_id, step_id '
                   'FROM task_fact')
        op.execute('CREATE STATISTICS case_fact_version (dependencies) ON process, definition_id FROM case_fact')
    op.create_table('task_bucket',
    sa.Column('metric', sa.String(length=10), nullable=False),
    *step_columns(),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('metric', 'definition_id', 'step_id', 'segment', 'role', 'bucket')
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP STATISTICS case_fact_version')
        op.execute('DROP STATISTICS task_fact_version')
    op.drop_table('task_bucket')
    op.drop_table('case_day')
    op.drop_table('task_day')
    with op.batch_alter_table('case_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_case_fact_segment_lead')
        batch_op.drop_index('ix_case_fact_period')
        batch_op.create_index('ix_case_fact_ended', ['process', 'ended_at'], unique=False)
        batch_op.create_index('ix_case_fact_sums', ['process', 'segment', 'definition_id', 'ended_at', 'within'],
                              unique=False)
    with op.batch_alter_table('task_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_task_fact_period')
        batch_op.create_index('ix_task_fact_done', ['process', 'completed_at'], unique=False)
        batch_op.create_index('ix_task_fact_steps', ['process', 'step_id', 'segment', 'definition_id', 'completed_at',
                                                     'cycle_seconds', 'wait_seconds', 'work_seconds', 'within',
                                                     'overrun'], unique=False)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_lifecycle')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_segment'))
