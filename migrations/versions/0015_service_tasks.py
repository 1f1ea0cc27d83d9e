"""service tasks: external tasks fetched by workers through the API, connector calls as jobs

``external_task`` holds each service task that waits for an outside worker (by topic), with the lock of the
worker that fetched it and what its failures reported. ``job.spiff_task_id`` names the service task a
``service`` job (a built-in connector's call) is about.

Revision ID: 0015_service_tasks
Revises: 0014_account_generation
"""
import sqlalchemy as sa
from alembic import op


revision = '0015_service_tasks'
down_revision = '0014_account_generation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('external_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('fetchable_at', sa.DateTime(), nullable=False),
    sa.Column('worker_id', sa.String(length=200), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_external_task_topic', 'external_task', ['topic', 'fetchable_at'], unique=False)
    op.create_index('ix_external_task_instance', 'external_task', ['instance_id'], unique=False)
    op.add_column('job', sa.Column('spiff_task_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    op.drop_column('job', 'spiff_task_id')
    op.drop_index('ix_external_task_instance', table_name='external_task')
    op.drop_index('ix_external_task_topic', table_name='external_task')
    op.drop_table('external_task')
