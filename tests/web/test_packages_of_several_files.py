"""The pages of a process whose package holds several diagrams: the inbox, the task and case pages, the process
page, the dashboard and the modeler work while a case is inside the called process; choices of forms from other
tools show their labels."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from engine import service
from engine.definitions.packages import read_package
from engine.work import queries
from tests.web.conftest import text_of
from web.forms import fields_for

ORDER = Path(__file__).resolve().parent.parent / "dialects" / "two_file_order"
CUSTOMER = service.CustomerRef("c-9", "Ines Ray", "standard")


def test_a_case_inside_a_called_process_shows_on_every_page(client, auth, new_uow):
    service.deploy(new_uow(), read_package(ORDER), actor="tests")
    service.add_user(new_uow(), "sam", ["sales"], "pw-sam-1234")
    instance_id = service.start_instance(new_uow(), "two_file_order", CUSTOMER)
    [take] = queries.list_tasks(new_uow(), instance_id=instance_id)
    service.claim_task(new_uow(), take["id"], "sam")
    service.complete_task(new_uow(), take["id"], "sam", {})
    [assess] = queries.list_tasks(new_uow(), instance_id=instance_id)
    assert assess["step_id"] == "Task_assess_credit"

    auth.login("credit-analyst")
    assert "Assess the customer's credit" in text_of(client.get("/inbox"))
    task_page = client.get(f"/tasks/{assess['id']}")
    assert task_page.status_code == 200
    assert "Credit limit" in text_of(task_page)  # the called process's step has its form
    case_page = client.get(f"/instances/{instance_id}")
    assert case_page.status_code == 200
    assert "Take the order" in text_of(case_page)

    auth.login("manager")
    dashboard = client.get("/dashboard/two_file_order")
    assert dashboard.status_code == 200
    assert "Assess the customer's credit" in text_of(dashboard)
    assert client.get("/processes/two_file_order").status_code == 200

    auth.login("process-owner")
    modeler = client.get("/modeler/two_file_order")
    assert modeler.status_code == 200
    data = json.loads(re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>',
                                modeler.get_data(as_text=True), flags=re.S).group(1))
    # the modeler draws the main diagram and keeps the other one, to send it back whole on deploy
    assert 'id="two_file_order"' in data["package"]["bpmn"]
    assert list(data["package"]["files"]) == ["credit_check.bpmn"]
    answer = client.post("/api/v1/processes/validate", data=json.dumps(data["package"]),
                         content_type="application/json", headers={"X-CSRF-Token": auth.token()})
    assert answer.status_code == 200 and answer.get_json()["errors"] == []


def test_a_choice_shows_the_label_its_tool_gave_it_and_keeps_its_value():
    [purpose] = fields_for({"type": "object", "properties": {"purpose": {
        "type": "string", "title": "Purpose", "enum": ["car", "home_loan"],
        "x-labels": {"car": "A car", "home_loan": "A home"}}}}, date(2026, 1, 5))
    assert purpose.options == [("car", "A car"), ("home_loan", "A home")]
    [plain] = fields_for({"type": "object", "properties": {"kind": {"type": "string", "enum": ["home_loan"]}}},
                         date(2026, 1, 5))
    assert plain.options == [("home_loan", "Home loan")]
