"""notifications: who wants to hear of what, the outbox of events, and each message's delivery

``notification_setting`` holds a user's (or a role's) addresses and choices; ``notification`` is written in the
transaction of the change that causes it, with the ``notify`` job that sends it; ``notification_delivery`` is
one message to one address, kept as sent or failed with the reason. The tasks open today get their
``at_risk`` job, due when a quarter of the target is left, counted in calendar time (a task under a business
calendar may so be told a little early).

Revision ID: 0016_notifications
Revises: 0015_service_tasks
"""
import sqlalchemy as sa
from alembic import op


revision = '0016_notifications'
down_revision = '0015_service_tasks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_setting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_kind', sa.String(length=10), nullable=False),
    sa.Column('subscriber', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('webhook_url', sa.String(length=2000), nullable=True),
    sa.Column('webhook_secret', sa.String(length=200), nullable=True),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscriber_kind', 'subscriber')
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('fanned_out', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notification_instance_id', 'notification', ['instance_id'], unique=False)
    op.create_index('ix_notification_job_id', 'notification', ['job_id'], unique=False)
    op.create_table('notification_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=110), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notification_delivery_status', 'notification_delivery', ['status', 'notification_id'],
                    unique=False)
    if op.get_bind().dialect.name == "postgresql":
        at_risk = "due_at - make_interval(secs => target_seconds / 4.0)"
    else:
        at_risk = "strftime('%Y-%m-%d %H:%M:%f', due_at, '-' || (target_seconds / 4.0) || ' seconds')"
    op.execute("INSERT INTO job (kind, instance_id, task_id, due_at, attempts) "
               f"SELECT 'at_risk', instance_id, id, {at_risk}, 0 FROM human_task "
               "WHERE status = 'open' AND due_at IS NOT NULL AND target_seconds IS NOT NULL AND breached_at IS NULL")


def downgrade() -> None:
    op.execute("DELETE FROM job WHERE kind IN ('at_risk', 'notify')")  # kinds the version before does not run
    op.drop_index('ix_notification_delivery_status', table_name='notification_delivery')
    op.drop_table('notification_delivery')
    op.drop_index('ix_notification_job_id', table_name='notification')
    op.drop_index('ix_notification_instance_id', table_name='notification')
    op.drop_table('notification')
    op.drop_table('notification_setting')
