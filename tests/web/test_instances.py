"""Starting a case, finding one, and the instance page."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

from engine import service
from engine.definitions.packages import read_package
from engine.work import queries
from tests import samples
from tests.conftest import T0
from tests.histories import Story
from tests.web.conftest import MEDIUM_RISK, open_task, password_of, start_loan, text_of


def test_customer_service_starts_a_case_for_a_new_customer_and_lands_on_its_first_task(client, auth, new_uow):
    auth.login("customer-service")
    form = client.get("/instances/new?process=loan_decision")
    assert form.status_code == 200
    assert "A fast, fair answer on my loan, within two days" in text_of(form)
    response = auth.post("/instances/new?process=loan_decision", data={"name": "Ada Moss", "segment": "premium",
                                                                      "id": ""})
    assert response.status_code == 302
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = text_of(client.get(response.headers["Location"]))
    assert "Case 1 started for Ada Moss. Its first step is yours." in page
    assert "Capture application for Ada Moss premium" in page
    task = queries.list_tasks(new_uow(), instance_id=1)[0]
    assert (task["id"], task["assignee"]) == (task_id, "customer-service")
    customer = queries.instance_view(new_uow(), 1)["customer"]
    assert customer["name"] == "Ada Moss" and customer["segment"] == "premium"
    assert re.fullmatch(r"c-[0-9a-f]{6}", customer["id"])


def test_a_case_can_be_started_for_an_existing_customer_found_by_name(client, auth, new_uow):
    start_loan(new_uow, "c-17", "Ada Moss", "premium")
    auth.login("customer-service")
    found = client.get("/instances/new?process=loan_decision&find=ada")
    assert 'href="/instances/new?process=loan_decision&amp;customer=c-17"' in found.get_data(as_text=True)
    chosen = client.get("/instances/new?process=loan_decision&customer=c-17").get_data(as_text=True)
    assert 'value="Ada Moss"' in chosen and 'value="c-17"' in chosen and '<option value="premium" selected>' in chosen
    response = auth.post("/instances/new?process=loan_decision", data={"name": "Ada Moss", "segment": "premium",
                                                                      "id": "c-17"})
    assert response.status_code == 302
    assert queries.instance_view(new_uow(), 2)["customer"]["id"] == "c-17"


def test_starting_a_case_with_bad_customer_details_explains_each_and_starts_nothing(client, auth, new_uow):
    start_loan(new_uow, "c-17", "Ada Moss")
    auth.login("customer-service")
    response = auth.post("/instances/new?process=loan_decision", data={"name": "", "segment": "gold", "id": "c 17"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/instances/new?process=loan_decision#customer-heading"
    response = client.get(response.headers["Location"])
    assert response.status_code == 400
    assert 'value="c 17"' in response.get_data(as_text=True)
    page = text_of(response)
    assert "Enter the customer's name." in page
    assert "Choose one of the segments: premium, standard." in page
    assert "A customer id has letters, digits" in page
    response = auth.post("/instances/new?process=loan_decision", data={"name": "Someone Else", "segment": "standard",
                                                                      "id": "c-17"}, follow_redirects=True)
    assert response.status_code == 400
    assert "Customer c-17 is Ada Moss on file." in text_of(response)
    response = auth.post("/instances/new?process=loan_decision", data={"name": "Ada \u202eeviL", "segment": "standard"},
                         follow_redirects=True)
    assert response.status_code == 400
    assert "A customer's name cannot hold the invisible character U+202E" in text_of(response)
    assert len(queries.list_tasks(new_uow(), status=None)) == 1


def test_only_the_first_lanes_role_may_start_a_case(client, auth):
    auth.login("credit-analyst")
    response = client.get("/instances/new?process=loan_decision")
    assert response.status_code == 403
    assert "started by the role customer-service, which you do not hold" in text_of(response)
    assert auth.post("/instances/new?process=loan_decision", data={"name": "X", "segment": "standard"}
                     ).status_code == 403
    assert client.get("/instances/new?process=no_such_process").status_code == 404


def test_the_catalogue_offers_to_start_only_what_you_may_start(client, auth):
    auth.login("customer-service")
    page = client.get("/processes").get_data(as_text=True)
    assert page.count("Start a case") == 1 and "/instances/new?process=loan_decision" in page
    assert "Order to cash" in page and "Service request" in page


def test_the_instance_page_gives_the_diagram_its_xml_and_the_steps_done_and_open(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    task = open_task(new_uow, instance_id)["id"]
    service.claim_task(new_uow(), task, "customer-service")
    service.complete_task(new_uow(), task, "customer-service", MEDIUM_RISK)
    auth.login("credit-analyst")
    response = client.get(f"/instances/{instance_id}")
    html = response.get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', html, re.S)[1])
    assert data["xml"].startswith("<?xml") and 'id="credit_review"' in data["xml"]
    assert data["completed"] == ["capture_application", "start_application"]
    assert data["open"] == ["credit_review"]
    assert "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in html
    page = text_of(response)
    assert "Case 1 — Ada Moss" in page and "Running" in page
    assert "Task completed Capture application customer-service" in page
    assert "Case started" in page and "Instance started" not in page  # the history says case, as the page does
    assert "Review credit Open Credit analyst queue" in page


def test_a_finished_case_marks_the_end_event_it_reached(client, auth, new_uow):
    instance_id = start_loan(new_uow)
    steps = [("customer-service", MEDIUM_RISK),
             ("credit-analyst", {"income_verified": True, "affordability_confirmed": True,
                                 "recommendation": "approve", "review_notes": "ok"}),
             ("underwriter", {"decision": "decline", "decision_rationale": "debts too high"}),
             ("customer-service", {"contact_channel": "phone", "explanation": "told",
                                   "alternative_offered": True})]
    for user, data in steps:
        task = open_task(new_uow, instance_id)["id"]
        service.claim_task(new_uow(), task, user)
        service.complete_task(new_uow(), task, user, data)
    auth.login("customer-service")
    html = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    data = json.loads(re.search(r'id="diagram-data">(.*?)</script>', html, re.S)[1])
    assert "end_declined" in data["completed"] and "end_approved" not in data["completed"]
    assert data["open"] == []
    assert "Completed" in text_of(client.get(f"/instances/{instance_id}"))


def test_the_diagram_viewer_is_served_by_the_app_itself(client, auth):
    auth.login("credit-analyst")
    response = client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert response.status_code == 200
    assert b"BpmnJS" in response.data[:200_000] or len(response.data) > 100_000
    response.close()
    assert client.get("/vendor/bpmn-js/../../package.json").status_code == 404


def test_an_unknown_case_is_a_404_page(client, auth):
    auth.login("credit-analyst")
    response = client.get("/instances/42")
    assert response.status_code == 404
    assert "no instance 42" in text_of(response)


def test_search_finds_cases_by_customer_name_customer_id_or_case_number(client, auth, new_uow):
    start_loan(new_uow, "c-17", "Ada Moss")
    start_loan(new_uow, "c-18", "Ben Ortiz")
    start_loan(new_uow, "c-17", "Ada Moss")
    auth.login("customer-service")
    assert found(client, "moss") == ["3", "1"]
    assert found(client, "c-18") == ["2"]
    assert found(client, "2") == ["2"]
    assert found(client, "%") == []
    assert "No case matches “nobody”" in text_of(client.get("/instances?q=nobody"))


def found(client, text: str) -> list[str]:
    """The case numbers the cases search lists for ``text``."""
    return re.findall(r">Case (\d+)<", client.get("/instances", query_string={"q": text}).get_data(as_text=True))


def test_staff_find_and_open_only_the_cases_of_their_roles_or_that_they_handled(client, auth, new_uow):
    loan = start_loan(new_uow, "c-17", "Ada Moss")
    order = service.start_instance(new_uow(), "order_to_cash", service.CustomerRef("c-18", "Ben Ortiz", "standard"),
                                   {}, actor="tests")
    service.add_user(new_uow(), "clerk", ["warehouse"], "pw-clerk-1234")
    auth.login("clerk")
    assert found(client, "moss") == [] and found(client, str(loan)) == [] and found(client, "c-17") == []
    refused = client.get(f"/instances/{loan}")
    assert refused.status_code == 403 and "has no step of your roles (warehouse)" in text_of(refused)
    assert "Ada Moss" not in text_of(refused) and "annual_income" not in refused.get_data(as_text=True)
    assert client.get("/customers/c-17").status_code == 403
    assert found(client, "ortiz") == []  # the order waits for Sales; the warehouse has no step of it yet
    auth.logout()

    auth.login("credit-analyst")
    assert client.get(f"/instances/{loan}").status_code == 403
    capture = open_task(new_uow, loan)["id"]
    service.claim_task(new_uow(), capture, "customer-service")
    service.complete_task(new_uow(), capture, "customer-service", MEDIUM_RISK)
    assert found(client, "moss") == [str(loan)]  # its credit review is the analyst's now
    assert client.get(f"/instances/{loan}").status_code == 200
    assert client.get("/customers/c-17").status_code == 200
    auth.logout()

    auth.login("manager")
    assert found(client, "ortiz") == [str(order)] and client.get(f"/instances/{order}").status_code == 200


def test_the_cases_page_lists_the_newest_cases_of_the_users_roles_before_any_search(client, auth, new_uow):
    loan = start_loan(new_uow, "c-1", "Ada Moss")
    order = service.start_instance(new_uow(), "order_to_cash", service.CustomerRef("c-2", "Ben Ortiz", "standard"),
                                   {}, actor="tests")
    later_loan = start_loan(new_uow, "c-3", "Cleo Park")

    def listed() -> list[int]:
        return [int(n) for n in re.findall(r">Case (\d+)<", client.get("/instances").get_data(as_text=True))]

    auth.login("credit-analyst")
    assert listed() == []
    assert "No cases yet with a step of your roles." in text_of(client.get("/instances"))
    capture = open_task(new_uow, loan)["id"]
    service.claim_task(new_uow(), capture, "customer-service")
    service.complete_task(new_uow(), capture, "customer-service", MEDIUM_RISK)
    assert listed() == [loan]  # its credit review is the analyst's
    auth.logout()

    auth.login("customer-service")
    page = text_of(client.get("/instances"))
    assert "Recent cases of your roles" in page and "Cleo Park" in page and "Ben Ortiz" not in page
    assert listed() == [later_loan, loan]
    auth.logout()

    auth.login("manager")
    assert "Recent cases" in text_of(client.get("/instances"))
    assert listed() == [later_loan, order, loan]


def test_a_process_card_counts_the_running_cases_of_its_version_and_names_the_others(client, auth, new_uow, clock):
    story = Story(new_uow, clock)
    for _ in range(2):
        story.start(T0)
    story.deploy(samples.two_step(story.key).replace('value="PT4H"', 'value="PT2H"', 1))
    story.start(T0 + timedelta(days=1))
    auth.login("customer-service")
    html = client.get("/processes").get_data(as_text=True)
    card = re.sub(r"<[^>]+>|\s+", " ", html.split(f'aria-labelledby="p-{story.key}">', 1)[1].split("</p>", 1)[0])
    assert " ".join(card.split()) == "version 2 · 1 running case (3 in all versions)"


def test_the_case_page_says_why_a_task_its_diagram_computes_an_owner_for_waits_in_its_queue(client, auth, new_uow):
    owners = Path(__file__).resolve().parent.parent / "dialects" / "camunda7_computed_owners.bpmn"
    service.deploy(new_uow(), read_package(owners))
    service.add_user(new_uow(), "clerk", ["accounting"], password=password_of("clerk"))
    instance_id = service.start_instance(new_uow(), "camunda7_computed_owners", service.CustomerRef(
        "c-9", "Ada Moss", "standard"), {"applicant": {"owner": "nobody"}})
    auth.login("clerk")
    page = text_of(client.get(f"/instances/{instance_id}"))
    assert ("Assignment unresolved: its assignee ${applicant.owner} is 'nobody', who is not a Valueflow user: "
            "the task waits in the queue of accounting") in page, page


def test_a_diagram_page_names_its_layout_modules_in_an_import_map_the_policy_lets_through(client, auth):
    auth.login("credit-analyst")
    response = client.get("/processes/loan_decision")
    import_map = re.search(r'<script type="importmap">(.*?)</script>', response.get_data(as_text=True), re.S)[1]
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]
    for address in json.loads(import_map)["imports"].values():
        module = client.get(address)
        assert module.status_code == 200 and module.mimetype == "text/javascript"
        module.close()
    assert client.get("/vendor/modules/bpmn-js/index.js").status_code == 404  # only the layout's modules
