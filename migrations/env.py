"""Alembic environment: runs on the connection that engine.storage.db.upgrade hands over,
or on VALUEFLOW_DATABASE_URL when called from the alembic command line."""

from alembic import context

from engine.storage.db import make_engine
from engine.storage.location import database_url
from engine.storage.tables import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    with make_engine(database_url()).connect() as own_connection:
        run_migrations(own_connection)
