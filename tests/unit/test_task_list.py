"""The task list's Core columns are the schema's: a column renamed, dropped or retyped in engine.storage.tables
fails here rather than in ``valueflow tasks``."""

from __future__ import annotations

import pytest

from engine.storage.tables import HumanTask, User
from engine.work import task_list


@pytest.mark.parametrize("light, model", [(task_list.HUMAN_TASK, HumanTask), (task_list.APP_USER, User)],
                         ids=["human_task", "app_user"])
def test_each_column_the_list_reads_is_in_the_schema_with_its_type(light, model):
    schema = model.__table__
    assert light.name == schema.name
    for column in light.columns:
        assert column.name in schema.c, f"{schema.name} has no column {column.name}"
        assert isinstance(schema.c[column.name].type, type(column.type)), column.name


def test_a_task_reads_as_every_field_of_its_view():
    assert {column.name for column in task_list.HUMAN_TASK.columns} == set(task_list.task_view(HumanTask()))
