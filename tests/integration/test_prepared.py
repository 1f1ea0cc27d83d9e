"""Statements run on the driver's cursor write and read what SQLAlchemy itself would (SQLite file and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.storage.driver_statements import DriverStatements, Prepared
from engine.storage.tables import Customer, ProcessDefinition

VERSION = ProcessDefinition.__table__
CUSTOMER = Customer.__table__
_ADD_CUSTOMER = Prepared(insert(CUSTOMER), ("id", "name", "segment"))
_COLUMNS = ("key", "version", "name", "content_hash", "bpmn_xml", "files", "annotations", "deployed_at",
            "deployed_by")
_ADD_VERSION = Prepared(insert(VERSION).returning(VERSION.c.id, VERSION.c.deployed_at), _COLUMNS)
_VERSIONS = Prepared(select(VERSION.c.version, VERSION.c.deployed_at, VERSION.c.annotations)
                     .where(VERSION.c.key == bindparam("key")).order_by(VERSION.c.id))
_RENAME = Prepared(update(CUSTOMER).where(CUSTOMER.c.id == bindparam("customer_id")).values(segment="premium"))


def on_driver(connection: Connection) -> DriverStatements:
    """Statements on the driver connection under a SQLAlchemy connection, in its transaction."""
    return DriverStatements(connection.dialect, connection.connection.driver_connection)


def _version(number: int, at: datetime, notes: dict) -> dict:
    return {"key": "p", "version": number, "name": "P", "content_hash": str(number), "bpmn_xml": "<x/>",
            "files": {}, "annotations": notes, "deployed_at": at, "deployed_by": None}


def test_rows_written_on_the_driver_read_back_through_sqlalchemy_and_the_other_way(stored_uow):
    at = datetime(2026, 3, 29, 1, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    with stored_uow() as uow:  # never committed: the session's database is shared with other tests
        connection = uow.session.connection()
        sql = on_driver(connection)
        new_id, stored_at = sql.first(_ADD_VERSION, _version(1, at, {"score": 4, "text": "50% done"}))
        sql.execute_many(_ADD_VERSION, [_version(2, at + timedelta(hours=1), {})])
        connection.execute(insert(VERSION), [_version(3, at + timedelta(hours=2), {"via": "core"})])
        through_core = connection.execute(select(VERSION.c.version, VERSION.c.deployed_at, VERSION.c.annotations)
                                          .where(VERSION.c.key == "p").order_by(VERSION.c.id)).all()
        through_driver = sql.all(_VERSIONS, {"key": "p"})
    assert isinstance(new_id, int) and stored_at == at  # aware UTC, the same moment
    assert [tuple(row) for row in through_core] == through_driver
    assert through_driver[0] == (1, at, {"score": 4, "text": "50% done"})
    assert through_driver[1][1].tzinfo == timezone.utc and through_driver[2][2] == {"via": "core"}


def test_rowcount_fixed_values_and_driver_errors_as_sqlalchemy_errors(stored_uow):
    with stored_uow() as uow:  # never committed
        sql = on_driver(uow.session.connection())
        sql.execute(_ADD_CUSTOMER, {"id": "c-1", "name": "Ann", "segment": "standard"})
        assert sql.execute(_RENAME, {"customer_id": "c-1"}) == 1
        assert sql.execute(_RENAME, {"customer_id": "nobody"}) == 0
        with pytest.raises(IntegrityError):
            sql.execute(_ADD_CUSTOMER, {"id": "c-1", "name": "Ann again", "segment": "standard"})


def test_statements_with_a_list_parameter_are_refused(stored_uow):
    in_list = Prepared(select(CUSTOMER.c.id).where(CUSTOMER.c.id.in_(bindparam("ids", expanding=True))))
    with stored_uow() as uow:
        with pytest.raises(ValueError, match="expanding"):
            on_driver(uow.session.connection()).all(in_list, {"ids": ["c-1"]})
