"""What Python's JSON reader takes but JSON cannot write (NaN, Infinity, 1e400, a lone surrogate character) is
refused at the API's door with a 422 naming the field: in a case's start data, a message's data and a task's
completion; nothing starts, nothing moves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.web.conftest import MEDIUM_RISK, open_task, start_loan
from tests.web.test_api import LOAN, Api, assert_error, cases_of

HOSTILE = {
    "NaN": ('{"a": NaN}', "data.a"),
    "Infinity": ('{"a": [1, -Infinity]}', "data.a[1]"),
    "1e400": ('{"a": {"b": 1e400}}', "data.a.b"),
    "surrogate": ('{"a": "\\udc00"}', "data.a"),
    "surrogate key": ('{"\\udc00": 1}', "data"),
}


@pytest.fixture
def api(client, new_uow):  # type: ignore[no-untyped-def]
    return Api(client, new_uow, "customer-service")


def post_raw(api: Api, url: str, body: dict[str, Any], data: str) -> Any:
    text = json.dumps(body).replace('"DATA"', data)
    return api.client.post(f"/api/v1{url}", data=text, content_type="application/json", headers=api.headers)


@pytest.mark.parametrize("data, field", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_start_with_a_value_json_cannot_write_is_refused_naming_the_field(api, new_uow, data, field):
    response = post_raw(api, "/instances", {**LOAN, "data": "DATA"}, data)
    assert_error(response, 422, "not accepted", (field,))
    assert cases_of(new_uow) == 0


@pytest.mark.parametrize("data, field", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_message_or_completion_with_a_value_json_cannot_write_is_refused_naming_the_field(
        api, new_uow, data, field):
    instance_id = start_loan(new_uow)
    message = post_raw(api, "/messages", {"name": "documents_received", "instance_id": instance_id, "data": "DATA"},
                       data)
    assert_error(message, 422, "not accepted", (field,))
    task_id = open_task(new_uow, instance_id)["id"]
    assert api.post(f"/tasks/{task_id}/claim").status_code == 200
    completion = post_raw(api, f"/tasks/{task_id}/complete", {"data": "DATA"}, data)
    assert_error(completion, 422, "not accepted", (field,))
    assert open_task(new_uow, instance_id)["id"] == task_id


def test_ordinary_numbers_and_text_pass(api, new_uow):
    instance_id = start_loan(new_uow)
    task_id = open_task(new_uow, instance_id)["id"]
    api.post(f"/tasks/{task_id}/claim")
    completion = post_raw(api, f"/tasks/{task_id}/complete", {"data": "DATA"},
                          json.dumps({**MEDIUM_RISK, "loan_amount": 2.5e5}))
    assert completion.status_code == 200, completion.get_data(as_text=True)
