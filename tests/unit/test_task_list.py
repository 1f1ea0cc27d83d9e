"""The task list's SQL names the schema's columns: a column renamed, dropped or retyped in engine.storage.tables
fails here rather than in ``valueflow tasks``."""

from __future__ import annotations

from engine.storage.tables import HumanTask, User
from engine.storage.types import UTCDateTime
from engine.work import task_list


def test_each_column_the_list_reads_is_in_the_schema_and_its_moments_are_the_utc_columns():
    schema = HumanTask.__table__
    assert task_list.COLUMNS and set(task_list.COLUMNS) <= set(schema.c.keys())
    shown_utc = {name for name in task_list.COLUMNS if isinstance(schema.c[name].type, UTCDateTime)}
    assert task_list.MOMENTS == shown_utc


def test_the_lists_tables_and_the_user_name_are_the_schemas():
    assert (HumanTask.__tablename__, User.__tablename__) == ("human_task", "app_user")
    assert "name" in User.__table__.c


def test_a_task_reads_as_every_field_of_its_view_in_the_lists_order():
    assert tuple(task_list.task_view(HumanTask())) == task_list.COLUMNS
