"""job and external task ids are never given twice

SQLite gives a new row the highest id in its table plus one, so the id of a job or external task that was just
deleted (its work done) went to the next one: a connector's call carried the key of an earlier call, and a
worker's late completion of a task it had finished completed another case's task. With AUTOINCREMENT SQLite
never gives an id again; PostgreSQL's sequences never did.

Revision ID: 0018_ids_never_reused
Revises: 0017_idempotency_leases
"""
from alembic import op


revision = '0018_ids_never_reused'
down_revision = '0017_idempotency_leases'
branch_labels = None
depends_on = None

TABLES = ('job', 'external_task')


def upgrade() -> None:
    _recreate_on_sqlite(autoincrement=True)


def downgrade() -> None:
    _recreate_on_sqlite(autoincrement=False)


def _recreate_on_sqlite(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass
