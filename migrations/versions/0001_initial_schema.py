"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 05:56:47.921590
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('customer',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('segment', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('process_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('annotations', sa.JSON(), nullable=False),
    sa.Column('deployed_at', sa.DateTime(), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'content_hash', name='uq_definition_key_hash'),
    sa.UniqueConstraint('key', 'version', name='uq_definition_key_version')
    )
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_definition_key'), ['key'], unique=False)

    op.create_table('process_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=100), nullable=False),
    sa.Column('segment', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_step', sa.String(length=200), nullable=True),
    sa.Column('next_timer_at', sa.DateTime(), nullable=True),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_next_timer', ['status', 'next_timer_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_id'), ['definition_id'], unique=False)

    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'role')
    )
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_role_role'), ['role'], unique=False)

    op.create_table('case_task',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('instance_id', 'task_id')
    )
    op.create_table('human_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('lane', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=200), nullable=True),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('customer_value', sa.Text(), nullable=True),
    sa.Column('value_class', sa.String(length=3), nullable=True),
    sa.Column('target_seconds', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('breached_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_human_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_task_assignee', ['assignee', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_task_open_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_task_role_queue', ['status', 'role', 'due_at'], unique=False)

    op.create_table('task_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task_event', schema=None) as batch_op:
        batch_op.create_index('ix_event_instance', ['instance_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_event_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_event_task_id'))
        batch_op.drop_index('ix_event_instance')

    op.drop_table('task_event')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_role_queue')
        batch_op.drop_index('ix_task_open_due')
        batch_op.drop_index('ix_task_assignee')
        batch_op.drop_index(batch_op.f('ix_human_task_instance_id'))

    op.drop_table('human_task')
    op.drop_table('case_task')
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_role_role'))

    op.drop_table('user_role')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_id'))
        batch_op.drop_index(batch_op.f('ix_process_instance_customer_id'))
        batch_op.drop_index('ix_instance_next_timer')

    op.drop_table('process_instance')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_definition_key'))

    op.drop_table('process_definition')
    op.drop_table('customer')
    op.drop_table('app_user')
