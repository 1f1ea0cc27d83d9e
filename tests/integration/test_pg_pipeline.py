"""PostgreSQL's statements sent together (engine.storage.pg_pipeline): prepared once per connection, errors and
large batches (skipped without VALUEFLOW_TEST_POSTGRES)."""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from engine.storage.driver_statements import ROWS_AT_ONCE, DriverStatements, Prepared, insert_rows
from engine.storage.tables import Customer
from engine.storage.wiring import connect

CUSTOMER = Customer.__table__
_ADD = Prepared(insert(CUSTOMER), ("id", "name", "segment"))
_NAMES = Prepared(select(CUSTOMER.c.name).where(CUSTOMER.c.id.like(bindparam("prefix") + "%")).order_by(CUSTOMER.c.id))
_REMOVE = Prepared(delete(CUSTOMER).where(CUSTOMER.c.id.like(bindparam("prefix") + "%")))
_NAMES_PLANNED_EACH_TIME = Prepared(_NAMES.statement, planned_each_time=True)
_ADD_ROWS = insert_rows(CUSTOMER, ("id", "name", "segment"))


DIALECT = []  # the engine's PostgreSQL dialect, with its driver loaded


@pytest.fixture
def driver(postgres_url: str) -> Iterator[object]:
    """A psycopg connection of the engine's, outside any transaction, as a step's unit of work takes it."""
    new_uow = connect(postgres_url)
    DIALECT[:] = [new_uow.engine.dialect]
    pooled = new_uow.kept.take()
    yield pooled.driver_connection
    if pooled.driver_connection.closed:
        pooled.invalidate()
    else:
        pooled.driver_connection.rollback()
        pooled.close()
    new_uow.dispose()


def statements(driver: object, *, holds: bool = False) -> DriverStatements:
    return DriverStatements(DIALECT[0], driver, holds_batches=holds)


def customer(number: int, prefix: str = "pipe-", name: str = "") -> dict[str, str]:
    return {"id": f"{prefix}{number:05}", "name": name or f"Customer {number}", "segment": "standard"}


def prepared_names(driver) -> set[str]:  # type: ignore[no-untyped-def]
    with driver.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_a_batch_and_its_commit_go_together_and_its_statements_stay_prepared_after_a_rollback(driver):
    sql = statements(driver, holds=True)
    with sql.batch():
        sql.execute_many(_ADD, [customer(n) for n in range(3)])
        assert sql.execute(_ADD, customer(3)) == -1  # not sent yet: held for the commit
    assert driver.info.transaction_status == driver.info.transaction_status.IDLE  # nothing sent, not even BEGIN
    assert sql.commit() is True
    assert [name for (name,) in statements(driver).all(_NAMES, {"prefix": "pipe-"})] == [
        f"Customer {n}" for n in range(4)]
    ours = {name for name in prepared_names(driver) if name.startswith("vf_")}
    assert len(ours) >= 2
    driver.rollback()  # psycopg would deallocate every statement it had prepared
    assert ours <= prepared_names(driver)
    later = statements(driver)
    assert later.execute(_REMOVE, {"prefix": "pipe-"}) == 4
    driver.rollback()
    assert len(later.all(_NAMES, {"prefix": "pipe-"})) == 4  # the removal was rolled back
    later.execute(_REMOVE, {"prefix": "pipe-"})
    driver.commit()  # the session's database is shared with other tests


def test_the_first_refused_statement_is_raised_and_nothing_after_it_runs(driver):
    sql = statements(driver, holds=True)
    with sql.batch():
        sql.execute(_ADD, customer(1, "refused-"))
        sql.execute(_ADD, customer(1, "refused-", "Twice"))  # the same id: refused
        sql.execute(_ADD, customer(2, "refused-"))
    with pytest.raises(IntegrityError, match="customer_pkey"):
        sql.commit()
    driver.rollback()
    assert statements(driver).all(_NAMES, {"prefix": "refused-"}) == []
    sql = statements(driver)  # the connection goes on
    sql.execute(_ADD, customer(3, "refused-"))
    assert sql.all(_NAMES, {"prefix": "refused-"}) == [("Customer 3",)]
    driver.rollback()


def test_a_value_the_server_cannot_take_is_refused_before_anything_is_sent(driver):
    sql = statements(driver)
    with pytest.raises(DataError, match="NUL"):
        with sql.batch():
            sql.execute(_ADD, customer(1, "nul-"))
            sql.execute(_ADD, customer(2, "nul-", "Ann\x00"))
    assert driver.info.transaction_status == driver.info.transaction_status.IDLE
    sql.execute(_ADD, customer(3, "nul-"))  # a new BEGIN goes with it
    assert driver.info.transaction_status == driver.info.transaction_status.INTRANS
    assert sql.all(_NAMES, {"prefix": "nul-"}) == [("Customer 3",)]
    driver.rollback()


def test_a_batch_larger_than_the_sockets_buffers_is_sent_and_answered_whole(driver):
    sql = statements(driver)
    long_name = "n" * 300
    with sql.batch():
        sql.execute_many(_ADD, [customer(n, "big-", long_name) for n in range(15000)])  # about 5 MB
    names = sql.all(_NAMES, {"prefix": "big-"})
    assert len(names) == 15000 and names[-1] == (long_name,)
    driver.rollback()


def test_rows_inserted_at_once_are_all_written_in_order_a_statement_for_each_few_dozen(driver):
    sql = statements(driver)
    count = 2 * ROWS_AT_ONCE + 5
    sql.execute_many(_ADD_ROWS, [customer(n, "rows-") for n in range(count)])
    assert sql.all(_NAMES, {"prefix": "rows-"}) == [(f"Customer {n}",) for n in range(count)]
    statements_of = {_ADD_ROWS.of_rows(rows).compiled(DIALECT[0]).pg.name.decode() for rows in (ROWS_AT_ONCE, 5)}
    assert statements_of <= prepared_names(driver)
    sql.execute_many(_ADD_ROWS, [customer(count, "rows-")])  # one row: the insert of one row
    assert _ADD_ROWS.compiled(DIALECT[0]).pg.name.decode() in prepared_names(driver)
    driver.rollback()


def test_a_connection_the_server_ends_raises_and_is_closed(driver, postgres_url):
    sql = statements(driver)
    sql.execute(_ADD, customer(1, "ended-"))
    other = connect(postgres_url)
    with other.engine.connect() as admin:
        admin.exec_driver_sql("SELECT pg_terminate_backend(%s)", (driver.info.backend_pid,))
        admin.commit()
    other.dispose()
    with pytest.raises(OperationalError):
        sql.all(_NAMES, {"prefix": "ended-"})
    assert driver.closed


def test_statements_on_a_connection_whose_transaction_psycopg_begins_stay_inside_it(driver):
    driver.autocommit = False  # as when SQLAlchemy begins the transaction: psycopg would send BEGIN itself
    sql = statements(driver)
    sql.execute(_ADD, customer(1, "inside-"))
    assert driver.info.transaction_status == driver.info.transaction_status.INTRANS
    driver.rollback()
    assert statements(driver).all(_NAMES, {"prefix": "inside-"}) == []
    driver.rollback()


def test_a_statement_planned_each_time_is_not_kept_prepared(driver):
    sql = statements(driver)
    sql.execute(_ADD, customer(1, "planned-"))
    assert sql.all(_NAMES_PLANNED_EACH_TIME, {"prefix": "planned-"}) == [("Customer 1",)]
    kept = prepared_names(driver)
    assert _ADD.compiled(DIALECT[0]).pg.name.decode() in kept
    assert _NAMES_PLANNED_EACH_TIME.compiled(DIALECT[0]).pg.name == b"" and len(kept) == 1
    driver.rollback()
