"""Reading on the driver alone: what it refuses, and that it leaves the database as it found it."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import make_url

from engine.storage.db import alembic_config
from engine.storage.driver_reads import SCHEMA_REVISION, UnusableDatabase, reading, utc
from engine.storage.tables import EndedSession
from engine.storage.wiring import connect


def test_the_revision_it_requires_is_the_newest_migration():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [SCHEMA_REVISION], f"a new migration: set driver_reads.SCHEMA_REVISION to {heads}"


@pytest.fixture
def migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'with space.db'}"
    connect(url, migrate=True).dispose()
    return url


def test_a_migrated_database_is_read_in_a_transaction_that_changes_nothing(migrated):
    with reading(migrated) as reader:
        assert reader.dialect == "sqlite" and reader.connection.in_transaction
        assert reader.rows("SELECT count(*) FROM human_task") == [(0,)]


def test_a_database_at_another_migration_is_refused_naming_both(migrated):
    path = make_url(migrated).database
    with sqlite3.connect(path) as writer:
        writer.execute("UPDATE alembic_version SET version_num = '0015_service_tasks'")
    with pytest.raises(UnusableDatabase, match=f"at 0015_service_tasks, this version of Valueflow needs "
                                               f"{SCHEMA_REVISION}"):
        with reading(migrated):
            pass


def test_a_missing_file_is_refused_and_not_created(tmp_path):
    with pytest.raises(UnusableDatabase, match="unable to open database file"):
        with reading(f"sqlite:///{tmp_path / 'nothing.db'}"):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["mysql://db/valueflow", "valueflow.db"])
def test_a_database_valueflow_does_not_store_in_is_refused_naming_those_it_does(url):
    with pytest.raises(UnusableDatabase, match=r"SQLite \(sqlite:///FILE\) or PostgreSQL"):
        with reading(url):
            pass


def test_an_error_of_the_listing_itself_is_the_databases_too(migrated):
    with pytest.raises(UnusableDatabase, match="no such column"):
        with reading(migrated) as reader:
            reader.rows("SELECT no_such_column FROM human_task")


@pytest.mark.parametrize("moment", [datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc),
                                    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)],
                         ids=["whole seconds", "microseconds"])
def test_a_utc_moment_reads_as_sqlalchemy_reads_what_it_wrote(migrated, moment):
    engine = create_engine(migrated)
    try:
        with engine.begin() as connection:
            connection.execute(insert(EndedSession).values(session_id="s", ended_at=moment))
            assert connection.scalar(select(EndedSession.ended_at)) == moment
    finally:
        engine.dispose()
    with reading(migrated) as reader:
        [(stored,)] = reader.rows("SELECT ended_at FROM ended_session")
    assert isinstance(stored, str) and utc(stored) == moment
    assert utc(moment.replace(tzinfo=None)) == moment  # PostgreSQL's timestamp without time zone
    assert utc(None) is None


def test_a_postgresql_server_that_does_not_answer_is_refused_in_the_drivers_words():
    with pytest.raises(UnusableDatabase, match="connection"):
        with reading("postgresql://postgres@127.0.0.1:1/valueflow"):
            pass
