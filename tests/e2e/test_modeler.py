"""A process owner edits the loan process in the browser: the side panel, deploy with its change summary, drafts."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from engine import service
from engine.definitions.annotations import StepAnnotation
from engine.definitions.packages import DeploymentRefused, read_package
from engine.storage.tables import ProcessDefinition
from engine.storage.uow import UnitOfWorkFactory
from engine.work import queries
from tests.conftest import REPO
from tests.e2e.conftest import LiveServer, screenshot, sign_in, sign_out
from tests.web.conftest import MEDIUM_RISK


def open_review_credit(page: Page, server: LiveServer) -> None:
    """From the catalogue into the modeler on the loan process, with "Review credit" selected."""
    page.goto(f"{server.url}/processes")
    page.locator("section", has_text="Loan decision").get_by_role("link", name="Edit in the modeler").click()
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator('g.djs-element[data-element-id="credit_review"]').click()
    expect(page.locator("#panel h2")).to_have_text("Review credit")


def loan_at_credit_review(new_uow: UnitOfWorkFactory) -> int:
    """A new medium-risk loan, captured by customer service, now waiting for its credit review; its task id."""
    customer = service.CustomerRef(f"c-{uuid.uuid4().hex[:6]}", "Ada Moss", "standard")
    instance_id = service.start_instance(new_uow(), "loan_decision", customer, {}, actor="customer-service")
    capture = queries.list_tasks(new_uow(), instance_id=instance_id)[0]
    service.claim_task(new_uow(), capture["id"], "customer-service")
    service.complete_task(new_uow(), capture["id"], "customer-service", MEDIUM_RISK)
    review = queries.list_tasks(new_uow(), instance_id=instance_id)
    assert [t["step_id"] for t in review] == ["credit_review"]
    return review[0]["id"]


def test_a_process_owner_changes_a_steps_target_and_value_deploys_and_new_loans_follow(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    before = loan_at_credit_review(new_uow)

    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    expect(page.get_by_label("Target hours")).to_have_value("4")
    page.get_by_label("Target hours").fill("1")
    page.get_by_label("Target minutes").fill("30")
    page.get_by_label("Customer value").fill("A person checks I can afford it, the same day")
    page.get_by_label("Customer value").press("Tab")
    expect(page.get_by_text("Stored as PT1H30M.")).to_be_visible()
    page.get_by_label("Target for premium hours").fill("1")
    page.get_by_label("Target for premium hours").press("Tab")
    page.get_by_label("Segment to give its own target").select_option("standard")  # the segments customers are in
    page.get_by_role("button", name="Add a segment target").click()
    expect(page.get_by_label("Target for standard hours")).to_have_value("1")
    expect(page.get_by_label("Target for standard minutes")).to_have_value("30")
    screenshot(page, "modeler-panel")
    page.get_by_role("button", name="Add a field").click()
    added = page.locator("details.vf-form-field[open]")
    added.get_by_label("Field name (in the case data)").fill("affordability_note")
    added.get_by_label("Label").fill("Affordability note")
    added.get_by_label("Type").select_option("textarea")
    added.get_by_label("Required").check()
    added.get_by_label("Help text").fill("What the customer has left each month after repayments.")
    added.get_by_label("Maximum length (characters)").fill("500")
    added.get_by_label("Maximum length (characters)").press("Tab")
    expect(added.locator("summary")).to_have_text("Affordability note · Long text · required")
    screenshot(page, "modeler-form-field")

    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    changes = page.locator("#deployed-changes li")
    expect(changes).to_have_text([
        "step “Review credit”: customer value “Someone looks at my whole situation, not just a number” → "
        "“A person checks I can afford it, the same day”",
        "step “Review credit”: target 4 h → 1 h 30 min",
        "step “Review credit”: target for premium customers 2 h → 1 h",
        "step “Review credit”: target for standard customers none → 1 h 30 min",
        "step “Review credit”: form field added: affordability_note (required)",
    ])
    expect(page.locator("#modeler-status")).to_contain_text("new cases use version 2")
    screenshot(page, "modeler-change-summary")

    # The stored version kept every annotation and extension the modeler does not edit.
    with new_uow() as uow:
        stored = uow.definitions.latest("loan_decision")
        assert stored.version == 2
        assert "spiffworkflow:calledDecisionId" in stored.bpmn_xml
        assert "spiffworkflow:messageVariable" in stored.bpmn_xml
        assert 'name="targetDuration.standard" value="PT1H30M"' in stored.bpmn_xml
    page.goto(f"{server.url}/processes")  # the catalogue lists the new version, the first folded below it
    card = page.locator("section.process-card", has_text="Loan decision")
    expect(card.get_by_role("table", name="Versions of Loan decision")).to_contain_text("v2 of Loan decision")
    expect(card.get_by_role("table", name="Versions of Loan decision")).to_contain_text("by process-owner")
    card.get_by_text("1 older version").click()
    expect(card.get_by_role("table", name="Older versions of Loan decision")).to_contain_text("by tests")
    screenshot(page, "catalogue")
    sign_out(page)

    after = loan_at_credit_review(new_uow)
    sign_in(page, server.url, "credit-analyst")
    page.goto(f"{server.url}/tasks/{after}")
    expect(page.locator("dd", has_text="1 h 30 min")).to_be_visible()
    expect(page.get_by_text("A person checks I can afford it, the same day")).to_be_visible()
    expect(page.get_by_label("Affordability note")).to_be_visible()
    form = page.content()  # the fields in the order the schema gives them, the new one last
    assert form.index("Income verified") < form.index("Affordability confirmed") < form.index("Affordability note")
    expect(page.get_by_text("What the customer has left each month after repayments.")).to_be_visible()
    page.goto(f"{server.url}/tasks/{before}")  # a loan started before keeps its version's target and value
    expect(page.locator("dd", has_text="4 h 00 min")).to_be_visible()
    expect(page.get_by_text("Someone looks at my whole situation, not just a number")).to_be_visible()
    expect(page.get_by_text("What the customer has left each month after repayments.")).to_have_count(0)


def test_a_draft_is_saved_the_page_reloaded_and_the_draft_reopened_with_the_change(
        page: Page, server: LiveServer) -> None:
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.get_by_label("Customer value").fill("Drafted: my affordability is checked by a person")
    page.get_by_label("Customer value").press("Tab")
    expect(page.locator("#modeler-status")).to_have_text("Unsaved changes.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#modeler-status")).to_have_text(
        re.compile(r"^Draft saved \(revision 1\) by process-owner on \w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d\.$"))
    saved = page.locator("#modeler-status").inner_text().split(" on ", 1)[1].rstrip(".")

    page.reload()
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator("#modeler-status")).to_contain_text(f"A draft saved by process-owner on {saved} (revision 1)")
    page.locator('g.djs-element[data-element-id="credit_review"]').click()
    expect(page.get_by_label("Customer value")).to_have_value("Someone looks at my whole situation, not just a number")
    page.get_by_role("button", name="Reopen draft").click()
    expect(page.locator("#modeler-status")).to_have_text(
        f"Draft reopened: revision 1, saved by process-owner on {saved}.")
    page.locator('g.djs-element[data-element-id="credit_review"]').click()
    expect(page.get_by_label("Customer value")).to_have_value("Drafted: my affordability is checked by a person")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    expect(page.get_by_role("button", name="Reopen draft")).to_be_hidden()  # the draft went with its deploy

    # Leaving with unsaved changes asks first.
    page.get_by_label("Target hours").fill("3")
    page.get_by_label("Target hours").press("Tab")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]


def test_a_script_with_an_import_is_shown_as_an_error_on_its_task_and_nothing_is_deployed(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.locator('g.djs-element[data-element-id="send_document_request"]').click()
    expect(page.locator("#panel h2")).to_have_text("Send document request")
    script = page.get_by_label("Script (Python)")
    expect(script).to_have_value(re.compile("document_request_text"))
    script.fill("import os\ndocument_request = os.getcwd()")
    script.press("Tab")
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#modeler-status")).to_have_text("1 error(s) block a deploy; click one to see it on the diagram.")
    errors = page.locator("#problems-errors li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("Send document request: its script cannot run: import is not allowed in a script")
    expect(page.locator('g.djs-element.vf-error[data-element-id="send_document_request"]')).to_have_count(1)
    # warnings are listed apart; a click on the error selects its task
    page.locator('g.djs-element[data-element-id="credit_review"]').click()
    errors.first.get_by_role("button", name="Send document request").click()
    expect(page.locator("#panel h2")).to_have_text("Send document request")
    screenshot(page, "modeler-validation")

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_have_text("Not deployed: fix the 1 error(s) listed below.")
    with live_app.extensions["valueflow"]() as uow:
        assert uow.definitions.latest("loan_decision").version == 1


def test_a_task_drawn_outside_every_lane_is_shown_as_an_error_on_it_and_nothing_is_deployed(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/new")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    key = page.get_by_label("Process key").input_value()
    # the blank pool's only lane is deleted: what is drawn next lies in the pool, outside every lane
    lane = page.locator(f'g.djs-shape[data-element-id="lane_{key}"]').bounding_box()
    page.mouse.click(lane["x"] + lane["width"] - 60, lane["y"] + 30)
    expect(page.locator("#panel h2")).to_have_text("Customer Service")
    expect(page.locator(f'g.djs-shape.selected[data-element-id="lane_{key}"]')).to_have_count(1)
    page.locator(".djs-context-pad.open [data-action='delete']").click()
    expect(page.locator("g.djs-shape[data-element-id^='lane_']")).to_have_count(0)
    page.locator(f'g.djs-shape[data-element-id="start_{key}"]').click()
    page.locator(".djs-context-pad [data-action='append.append-task']").click()
    page.keyboard.type("Check the address")
    page.locator("#panel").click(position={"x": 5, "y": 5})
    expect(page.locator("#panel h2")).to_have_text("Check the address")
    expect(page.locator("#panel")).to_contain_text("Outside every lane: move it into a lane so a role does it.")
    task_id = page.locator(".djs-shape.selected").get_attribute("data-element-id")
    page.locator(".djs-context-pad [data-action='append.end-event']").click()

    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#modeler-status")).to_have_text("1 error(s) block a deploy; click one to see it on the diagram.")
    errors = page.locator("#problems-errors li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("Check the address: task has no lane and no candidate group, so no role owns it")
    expect(page.locator("g.djs-element.vf-error")).to_have_count(1)
    expect(page.locator(f'g.djs-element.vf-error[data-element-id="{task_id}"]')).to_have_count(1)
    page.locator(f'g.djs-shape[data-element-id="start_{key}"]').click()
    errors.first.get_by_role("button", name="Check the address").click()
    expect(page.locator("#panel h2")).to_have_text("Check the address")
    screenshot(page, "modeler-task-outside-lanes")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_have_text("Not deployed: fix the 1 error(s) listed below.")
    with live_app.extensions["valueflow"]() as uow:
        assert uow.definitions.latest(key) is None


def test_a_lane_named_in_any_script_shows_the_role_key_the_engine_gives_it(page: Page, server: LiveServer) -> None:
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/new")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    lane = page.locator("g.djs-shape[data-element-id^='lane_']").bounding_box()
    page.mouse.click(lane["x"] + lane["width"] - 60, lane["y"] + 30)
    expect(page.locator("#panel")).to_contain_text("Role key: customer-service")
    page.get_by_label("Name").fill("Отдел продаж")
    page.get_by_label("Name").press("Tab")
    expect(page.locator("#panel")).to_contain_text(
        "Role key: отдел-продаж — no user holds this role yet: an admin adds one under Users.")


def test_a_gateways_conditions_are_edited_on_its_outgoing_flows(page: Page, server: LiveServer) -> None:
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.locator('g.djs-element[data-element-id="gw_risk"]').click()
    condition = page.get_by_label(re.compile("^Condition of High risk"))
    expect(condition).to_have_value(re.compile("HIGH"))
    condition.fill("risk_level = 'HIGH'")
    condition.press("Tab")
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#problems-errors li")).to_have_count(1)
    expect(page.locator("#problems-errors li").first).to_contain_text("cannot run as Python: syntax error")


def test_the_process_page_draws_the_version_and_downloads_it_as_svg(page: Page, server: LiveServer) -> None:
    sign_in(page, server.url, "credit-analyst")
    page.goto(f"{server.url}/processes")
    page.get_by_role("link", name="Loan decision", exact=True).click()
    expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
    expect(page.locator("table.process-steps")).to_contain_text("Someone looks at my whole situation")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download SVG").click()
    assert download.value.suggested_filename == "loan_decision-v1.svg"
    assert "<svg" in Path(download.value.path()).read_text(encoding="utf-8")
    screenshot(page, "process-page")


MIWG = sorted((REPO / "tests" / "conformance" / "miwg").glob("*.bpmn"))


def test_every_miwg_reference_diagram_opens_in_the_modeler_and_validates_with_its_problems_listed(
        page: Page, server: LiveServer) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/new")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    for path in MIWG:
        page.locator("#open-file").set_input_files(str(path))
        expect(page.locator("#modeler-status")).to_contain_text(f"Opened {path.name}")  # some with warnings
        assert page.locator(".djs-element").count() > 1, path.name
        page.get_by_role("button", name="Validate").click()
        expect(page.locator("#modeler-status")).to_contain_text(re.compile("error|problems"))
        assert page.locator("#problems-errors li").count() > 0, f"{path.name} validated clean yet is refused on deploy"
        assert script_errors == [], f"{path.name}: {script_errors}"
    # each diagram after the first replaced one not saved, so the owner was asked first
    assert asked == [f"Opening {p.name} replaces your unsaved changes. Open it?" for p in MIWG[1:]]
    page.locator("#open-file").set_input_files(files=[{"name": "notes.bpmn", "mimeType": "text/xml",
                                                        "buffer": b"these are not BPMN"}])
    expect(page.locator("#modeler-status")).to_contain_text("notes.bpmn could not be opened (it is not well-formed XML")
    expect(page.locator("#modeler-status")).to_contain_text("your diagram is as it was")
    assert page.locator(".djs-element").count() > 1
    for name, text, reason in (
            ("note.bpmn", '<?xml version="1.0"?><note>hello</note>',
             "it is not BPMN 2.0 (its root is not bpmn:definitions)"),
            ("entities.bpmn", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]><d>&x;</d>',
             "it declares a DTD or entities, which are not allowed")):
        page.locator("#open-file").set_input_files(files=[{"name": name, "mimeType": "text/xml",
                                                            "buffer": text.encode()}])
        expect(page.locator("#modeler-status")).to_contain_text(f"{name} could not be opened ({reason}")
    # a file without a drawing (no BPMN DI) is laid out, not refused
    page.locator("#open-file").set_input_files(files=[{"name": "undrawn.bpmn", "mimeType": "text/xml", "buffer": (
        b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        b'targetNamespace="x"><bpmn:process id="p" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>'
        b'</bpmn:definitions>')}])
    expect(page.locator("#modeler-status")).to_contain_text("Opened undrawn.bpmn: not saved yet. The diagram came "
                                                            "without positions for its shapes")
    expect(page.locator('g.djs-element[data-element-id="s"]')).to_have_count(1)


def test_every_miwg_reference_diagram_is_drawn_by_the_process_pages_viewer(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    """Those that deploy are deployed; as shipped each is refused with its problems (the test above), so it is
    stored as a version the way a deploy stores one, for the viewer must draw whatever a version holds."""
    new_uow = live_app.extensions["valueflow"]
    keys = []
    for path in MIWG:
        package = read_package(path)
        try:
            keys.append(service.deploy(new_uow(), package, actor="tests").key)
            continue
        except DeploymentRefused:
            pass
        key = "miwg_" + path.stem.replace(".", "_")
        with new_uow() as uow:
            uow.definitions.add(ProcessDefinition(
                key=key, version=1, name=f"MIWG {path.stem}", content_hash=package.content_hash(),
                bpmn_xml=package.bpmn_xml, files={}, annotations={"process": StepAnnotation(None, key).to_dict(),
                                                                  "steps": {}},
                deployed_at=uow.clock.now(), deployed_by="tests"))
            uow.commit()
        keys.append(key)
    sign_in(page, server.url, "credit-analyst")  # everyone signed in reads a process page
    for key, path in zip(keys, MIWG):
        page.goto(f"{server.url}/processes/{key}")
        expect(page.locator("#diagram")).to_have_attribute("data-state", "ready")
        assert page.locator("#diagram .djs-element").count() > 1, path.name
    screenshot(page, "process-page-miwg")


def test_a_package_zip_opens_with_its_tables_and_forms_and_an_unchanged_deploy_stores_nothing(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    sign_in(page, server.url, "process-owner")
    package = page.request.get(f"{server.url}/processes/loan_decision/versions/1.zip").body()
    page.goto(f"{server.url}/modeler/new")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator("#open-file").set_input_files(files=[{"name": "loan_decision.zip", "mimeType": "application/zip",
                                                        "buffer": package}])
    expect(page.locator("#modeler-status")).to_have_text(
        "Opened loan_decision.zip: not saved yet. Validate it, save a draft or deploy it.")
    expect(page.locator("#modeler-title")).to_have_text("Loan decision")
    # the DMN table and the forms came through with the BPMN, which the modeler rewrote: the same package
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="No change since version 1")).to_be_visible()
    expect(page.locator("#deployed-changes li")).to_have_text(
        ["The diagram, its decision tables and its forms are the same as version 1: nothing was stored."])
    expect(page.locator("#modeler-status")).to_have_text("No change since version 1: nothing was deployed.")
    with live_app.extensions["valueflow"]() as uow:
        assert uow.definitions.latest("loan_decision").version == 1
    # moving a shape is a change of the drawing, deployed as a new version
    box = page.locator('g.djs-element[data-element-id="credit_review"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(page.locator("#modeler-status")).to_have_text("Unsaved changes.")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    expect(page.locator("#deployed-changes li")).to_have_text(
        ["No step, target, role or form changed: only the drawing or other details did."])
    page.locator("#open-file").set_input_files(files=[{"name": "broken.zip", "mimeType": "application/zip",
                                                        "buffer": b"PK not a zip"}])
    expect(page.locator("#modeler-status")).to_have_text(
        "broken.zip could not be opened (the file is not a zip archive); your diagram is as it was.")


def test_a_process_owner_edits_a_row_of_the_risk_table_and_new_loans_follow_the_new_rule(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.locator('g.djs-element[data-element-id="assess_risk"]').click()
    expect(page.locator("#panel")).to_contain_text("Decides with the table risk_rating.")
    page.get_by_role("button", name="Edit the decision table").click()
    expect(page.locator("#dmn-canvas")).to_have_attribute("data-state", "ready")
    cell = page.locator('td[data-row-id="rule_fair_score"][data-col-id="output_risk"]')
    expect(cell).to_have_text('"MEDIUM"')
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"HIGH"')
    screenshot(page, "modeler-decision-table")
    page.get_by_role("button", name="Keep the changes").click()
    expect(page.locator("#modeler-status")).to_have_text(
        "Decision table in risk_rating.dmn changed: not saved yet. Validate, save a draft or deploy.")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    expect(page.locator("#deployed-changes li")).to_have_text(["decision table risk_rating.dmn changed"])

    # A fair-score loan (score 562), reviewed by a credit analyst before, is now declined by the table.
    customer = service.CustomerRef(f"c-{uuid.uuid4().hex[:6]}", "Ada Moss", "standard")
    instance_id = service.start_instance(new_uow(), "loan_decision", customer, {}, actor="customer-service")
    capture = queries.list_tasks(new_uow(), instance_id=instance_id)[0]
    service.claim_task(new_uow(), capture["id"], "customer-service")
    service.complete_task(new_uow(), capture["id"], "customer-service", MEDIUM_RISK)
    assert [t["step_id"] for t in queries.list_tasks(new_uow(), instance_id=instance_id)] == ["explain_decline"]


def new_process_at_its_start(page: Page, server: LiveServer) -> str:
    """A process owner in the modeler on a new process, its start event selected; the process's key."""
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/modeler/new")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    key = page.get_by_label("Process key").input_value()
    page.locator(f'g.djs-shape[data-element-id="start_{key}"]').click()
    return key


def test_a_business_rule_task_drawn_in_a_new_process_gets_a_new_decision_table_that_deploys_and_decides(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    new_uow = live_app.extensions["valueflow"]
    key = new_process_at_its_start(page, server)
    page.locator(".djs-context-pad [data-action='append.append-task']").click()
    page.keyboard.type("Decide the payout")
    page.locator("#panel").click(position={"x": 5, "y": 5})
    task_id = page.locator(".djs-shape.selected").get_attribute("data-element-id")
    page.locator(".djs-context-pad [data-action='replace']").click()
    page.locator(".djs-popup [data-id='replace-with-rule-task']").click()
    page.locator("#canvas").click(position={"x": 600, "y": 40})  # off the task, so that a click selects it again
    page.locator(f'g.djs-shape[data-element-id="{task_id}"]').click()
    expect(page.locator("#panel")).to_contain_text("This business rule task names no decision table")
    page.get_by_role("button", name="Create a decision table").click()
    expect(page.locator("#dmn-canvas")).to_have_attribute("data-state", "ready")
    cell = page.locator(f'td[data-row-id="decide_{task_id}_rule"][data-col-id="decide_{task_id}_out"]')
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"pay in full"')
    page.get_by_role("button", name="Keep the changes").click()
    expect(page.locator("#panel")).to_contain_text(f"Decides with the table decide_{task_id}.")
    page.locator("#canvas").click(position={"x": 600, "y": 40})
    page.locator(f'g.djs-shape[data-element-id="{task_id}"]').click()
    page.locator(".djs-context-pad [data-action='append.end-event']").click()
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 1")).to_be_visible()

    customer = service.CustomerRef(f"c-{uuid.uuid4().hex[:6]}", "Ada Moss", "standard")
    instance_id = service.start_instance(new_uow(), key, customer, {"amount": 900}, actor="customer-service")
    case = queries.instance_view(new_uow(), instance_id)
    assert case["status"] == "completed" and case["data"]["outcome"] == "pay in full"


def test_a_gateway_branch_without_a_condition_is_shown_and_made_the_default_flow_in_the_panel(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    key = new_process_at_its_start(page, server)
    page.locator(".djs-context-pad [data-action='append.gateway']").click()
    gateway = page.locator(".djs-shape.selected").get_attribute("data-element-id")
    page.locator(".djs-context-pad [data-action='append.end-event']").click()
    page.locator("#canvas").click(position={"x": 600, "y": 40})
    page.locator(f'g.djs-shape[data-element-id="{gateway}"]').click()
    page.locator(".djs-context-pad [data-action='append.append-task']").click()
    page.keyboard.type("Pay out")
    page.locator("#panel").click(position={"x": 5, "y": 5})
    page.locator(".djs-context-pad [data-action='append.end-event']").click()

    page.get_by_role("button", name="Validate").click()
    errors = page.locator("#problems-errors li")
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text(f"the flow from the exclusive gateway '{gateway}' to")
    expect(errors.first).to_contain_text("has no condition and is not the gateway's default")
    errors.nth(0).get_by_role("button").click()
    expect(page.locator("#panel")).to_contain_text("Empty: refused, unless this is the gateway's default flow.")
    page.get_by_role("button", name="Make it the default flow").click()
    expect(page.locator("#panel")).to_contain_text("The default flow: taken when no other condition holds.")
    errors.nth(1).get_by_role("button").click()
    page.locator("#vf-condition").fill("amount > 1000")
    page.locator("#vf-condition").press("Tab")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 1")).to_be_visible()
    with live_app.extensions["valueflow"]() as uow:
        assert uow.definitions.latest(key).version == 1


def test_a_deploy_from_a_second_tab_opened_before_another_deploy_is_refused_and_undoes_nothing(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    sign_in(page, server.url, "process-owner")
    other = page.context.new_page()
    for tab in (page, other):
        open_review_credit(tab, server)
        tab.get_by_label("Target hours").fill("3" if tab is page else "2")
        tab.get_by_label("Target hours").press("Tab")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    other.get_by_role("button", name="Deploy").click()
    expect(other.locator("#modeler-status")).to_contain_text(
        "Not deployed: loan_decision version 2 was deployed by process-owner on ")
    expect(other.locator("#modeler-status")).to_contain_text("since you opened version 1")
    with live_app.extensions["valueflow"]() as uow:
        assert uow.definitions.latest("loan_decision").version == 2
    other.close()


def test_extension_elements_of_other_tools_survive_an_edit_and_a_deploy(
        page: Page, server: LiveServer, live_app: Flask, tmp_path: Path) -> None:
    xml = (REPO / "bpmn" / "loan_decision" / "loan_decision.bpmn").read_text(encoding="utf-8")
    at = xml.index("<bpmn:extensionElements>", xml.index('id="credit_review"')) + len("<bpmn:extensionElements>")
    xml = (xml[:at] + '<other:checklist xmlns:other="http://example.com/other-tool" items="3">'
           '<other:item>payslips</other:item></other:checklist>'
           '<spiffworkflow:instructionsForEndUser>Read the payslips first</spiffworkflow:instructionsForEndUser>'
           '<spiffworkflow:unitTests><spiffworkflow:unitTest id="t1"><spiffworkflow:inputJson>{}'
           '</spiffworkflow:inputJson><spiffworkflow:expectedOutputJson>{"ok": 1}</spiffworkflow:expectedOutputJson>'
           '</spiffworkflow:unitTest></spiffworkflow:unitTests>'
           + xml[at:])
    path = tmp_path / "loan_decision.bpmn"
    path.write_text(xml, encoding="utf-8")
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.locator("#open-file").set_input_files(str(path))
    expect(page.locator("#modeler-status")).to_have_text(
        "Opened loan_decision.bpmn: not saved yet. Validate it, save a draft or deploy it.")
    page.locator('g.djs-element[data-element-id="credit_review"]').click()
    page.get_by_label("Target hours").fill("3")
    page.get_by_label("Target hours").press("Tab")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    with live_app.extensions["valueflow"]() as uow:
        stored = uow.definitions.latest("loan_decision").bpmn_xml
    assert 'items="3"' in stored and "payslips</other:item>" in stored
    assert "Read the payslips first</spiffworkflow:instructionsForEndUser>" in stored
    assert 'name="targetDuration" value="PT3H"' in stored
    assert '<spiffworkflow:unitTest id="t1">' in stored and '{"ok": 1}</spiffworkflow:expectedOutputJson>' in stored


def test_a_part_the_modeler_cannot_keep_is_announced_when_the_file_opens(page: Page, server: LiveServer,
                                                                        tmp_path: Path) -> None:
    xml = (REPO / "bpmn" / "loan_decision" / "loan_decision.bpmn").read_text(encoding="utf-8")
    at = xml.index("<bpmn:extensionElements>", xml.index('id="credit_review"')) + len("<bpmn:extensionElements>")
    path = tmp_path / "loan_decision.bpmn"
    path.write_text(xml[:at] + "<spiffworkflow:somethingNew>x</spiffworkflow:somethingNew>" + xml[at:],
                    encoding="utf-8")
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.locator("#open-file").set_input_files(str(path))
    expect(page.locator("#modeler-status")).to_contain_text(
        "Opened loan_decision.bpmn. Reading it gave 1 warning(s); a part the modeler does not understand is left out "
        "when the diagram is saved. The first: unparsable content <spiffworkflow:somethingNew> detected")


def test_a_process_owner_draws_a_new_process_from_the_blank_diagram_and_deploys_it(
        page: Page, server: LiveServer, live_app: Flask) -> None:
    sign_in(page, server.url, "process-owner")
    page.goto(f"{server.url}/processes")
    page.get_by_role("link", name="New process").click()
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.get_by_label("Process key").fill("address_change")
    page.get_by_label("Process key").press("Tab")
    page.get_by_label("Name").fill("Address change")
    page.get_by_label("Name").press("Tab")
    page.get_by_label("End-to-end target days").fill("1")
    page.get_by_label("End-to-end target days").press("Tab")

    # the blank diagram's start event (its id from the key the page opened with)
    page.locator("g.djs-shape[data-element-id^='start_process_']:not([data-element-id$='_label'])").click()
    page.locator(".djs-context-pad [data-action='append.append-task']").click()
    page.keyboard.type("Update the address")  # the new task's label, typed on the canvas
    page.locator("#panel").click(position={"x": 5, "y": 5})
    expect(page.locator("#panel h2")).to_have_text("Update the address")
    page.get_by_label("Customer value").fill("My letters reach my new home")
    page.get_by_label("Customer value").press("Tab")
    page.get_by_label("Value class").select_option("VA")
    page.get_by_label("Target hours").fill("4")
    page.get_by_label("Target hours").press("Tab")
    expect(page.locator("#panel")).to_contain_text("Done by the role customer-service (its lane).")
    page.locator(".djs-context-pad [data-action='append.end-event']").click()
    expect(page.locator("#modeler-title")).to_have_text("Address change")
    expect(page.locator("g.djs-shape", has_text="Update the address")).to_have_count(1)  # its label on the canvas

    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#modeler-status")).to_have_text("No problems found: ready to deploy.")
    screenshot(page, "modeler-new-process")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 1")).to_be_visible()
    expect(page.locator("#deployed-changes li")).to_have_text(["The first version of address_change."])
    page.goto(f"{server.url}/processes/address_change")
    expect(page.locator("table.process-steps")).to_contain_text("My letters reach my new home")
    expect(page.locator("table.process-steps")).to_contain_text("4 h 00 min")


def test_a_package_the_server_refuses_as_too_large_is_explained_and_nothing_is_stored(
        page: Page, server: LiveServer, live_app: Flask, tmp_path: Path) -> None:
    xml = (REPO / "bpmn" / "loan_decision" / "loan_decision.bpmn").read_text(encoding="utf-8")
    at = xml.index("<bpmn:documentation>") + len("<bpmn:documentation>")
    path = tmp_path / "loan_decision.bpmn"  # 3 MB on disk; its quotes are escaped in the JSON sent: over 5 MB
    path.write_text(xml[:at] + '"' * (3 * 1024 * 1024) + xml[at:], encoding="utf-8")
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    page.locator("#open-file").set_input_files(str(path))
    expect(page.locator("#modeler-status")).to_contain_text("Opened loan_decision.bpmn")
    too_large = re.compile(r"the package is \d+\.\d MB, larger than the 5 MB the server accepts, so nothing was "
                           r"stored\. Shorten long texts in the diagram \(documentation, scripts\)")
    with page.expect_response("**/api/v1/processes/validate") as answer:
        page.get_by_role("button", name="Validate").click()
    assert answer.value.status == 413
    expect(page.locator("#modeler-status")).to_have_text(re.compile("^Not validated: " + too_large.pattern))
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#modeler-status")).to_have_text(re.compile("^Not deployed: " + too_large.pattern))
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#modeler-status")).to_have_text(re.compile("^Draft not saved: " + too_large.pattern))
    with live_app.extensions["valueflow"]() as uow:
        assert uow.definitions.latest("loan_decision").version == 1
        assert uow.drafts.get("loan_decision") is None


def test_the_business_calendar_is_a_country_opening_hours_and_working_days_and_an_unknown_one_is_kept(
        page: Page, server: LiveServer, live_app: Flask, tmp_path: Path) -> None:
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    canvas = page.locator("#canvas").bounding_box()  # a click on the empty canvas: the process's own panel
    page.mouse.click(canvas["x"] + canvas["width"] - 30, canvas["y"] + 30)
    expect(page.locator("#panel h2")).to_have_text("Loan decision")
    expect(page.get_by_label("Targets count in")).to_have_value("")
    page.get_by_label("Targets count in").select_option("business")
    expect(page.locator(".vf-calendar")).to_contain_text("Stored as 09:00-17:00 Mon-Fri.")
    page.get_by_label("Country, for its public holidays").select_option("DE")
    page.get_by_label("Opens at").fill("08:30")
    page.get_by_label("Closes at").fill("16:00")
    page.get_by_label("Fri", exact=True).uncheck()
    page.get_by_label("Sat", exact=True).check()
    expect(page.locator(".vf-calendar")).to_contain_text("Stored as DE 08:30-16:00 Mon-Thu,Sat.")
    page.get_by_label("Closes at").fill("07:00")
    expect(page.locator(".vf-calendar")).to_contain_text("The calendar closes after it opens, on the same day. "
                                                          "Nothing was changed.")
    page.get_by_label("Closes at").fill("16:00")
    screenshot(page, "modeler-calendar")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("heading", name="Deployed as version 2")).to_be_visible()
    expect(page.locator("#deployed-changes li")).to_have_text(
        ["the process: business calendar none → “DE 08:30-16:00 Mon-Thu,Sat”"])
    with live_app.extensions["valueflow"]() as uow:
        assert 'name="calendar" value="DE 08:30-16:00 Mon-Thu,Sat"' in uow.definitions.latest("loan_decision").bpmn_xml

    # a value these fields cannot show is named and kept; a country named with its zone is offered as stored
    xml = (REPO / "bpmn" / "loan_decision" / "loan_decision.bpmn").read_text(encoding="utf-8")
    page.on("dialog", lambda dialog: dialog.accept())  # the second file replaces the first, not saved
    for stored in ("US America/New_York 08:00-16:00 Mon-Fri", "weekdays 9 to 5"):
        path = tmp_path / "loan_decision.bpmn"
        path.write_text(xml.replace('<spiffworkflow:property name="processOwner"',
                                    f'<spiffworkflow:property name="calendar" value="{stored}"/>'
                                    '<spiffworkflow:property name="processOwner"'), encoding="utf-8")
        page.locator("#open-file").set_input_files(str(path))
        expect(page.locator("#modeler-status")).to_contain_text("Opened loan_decision.bpmn")
        expect(page.locator("#panel h2")).to_have_text("Loan decision")
        expect(page.get_by_label("Targets count in")).to_have_value("business")
        expect(page.locator(".vf-calendar")).to_contain_text(f"Stored as {stored}.")
    expect(page.locator(".vf-calendar")).to_contain_text(
        "Now “weekdays 9 to 5”, which these fields cannot show; changing one replaces it.")
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#problems-errors li").first).to_contain_text("calendar 'weekdays 9 to 5'")


# Whether a select shows the whole label of its chosen option: its text, in the select's font, fits the room
# between its paddings and its arrow.
CHOSEN_LABEL_FITS = """select => {
  const style = getComputedStyle(select);
  const probe = document.createElement('span');
  Object.assign(probe.style, {font: style.font, whiteSpace: 'pre', position: 'absolute', visibility: 'hidden'});
  probe.textContent = select.options[select.selectedIndex].text;
  document.body.appendChild(probe);
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
  const fits = probe.getBoundingClientRect().width <= room;
  probe.remove();
  return fits;
}"""
# Every option's whole label, and whether the select and each option carry it as their title.
FULL_LABELS = """select => ({
  chosen: select.options[select.selectedIndex].text, title: select.title,
  untitled: Array.from(select.options).filter(o => o.title !== o.text).map(o => o.text)})"""


@pytest.mark.parametrize("width", [1280, 420])
def test_the_panels_choices_read_in_full_however_narrow_the_panel(page: Page, server: LiveServer, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, server.url, "process-owner")
    open_review_credit(page, server)
    value_class = page.get_by_label("Value class")
    for code, meaning in (("VA", "the customer would pay"), ("BVA", "required by the business"), ("NVA", "waste")):
        value_class.select_option(code)
        assert value_class.evaluate(CHOSEN_LABEL_FITS), value_class.evaluate(FULL_LABELS)
        expect(page.locator(".vf-explain").first).to_contain_text(meaning)
    value_class.scroll_into_view_if_needed()
    screenshot(page, f"modeler-panel-choices-{width}")
    page.locator("#canvas").scroll_into_view_if_needed()
    canvas = page.locator("#canvas").bounding_box()  # a click on the empty canvas: the process's own panel
    page.mouse.click(canvas["x"] + canvas["width"] - 30, canvas["y"] + 30)
    counted_in = page.get_by_label("Targets count in")
    for mode in ("", "business"):
        counted_in.select_option(mode)
        assert counted_in.evaluate(CHOSEN_LABEL_FITS), counted_in.evaluate(FULL_LABELS)
    country = page.get_by_label("Country, for its public holidays")
    country.select_option(country.evaluate("s => Array.from(s.options).reduce((a, b) => b.text.length > a.text.length ? b : a).value"))
    screenshot(page, f"modeler-process-choices-{width}")
    for select in page.locator("#panel select").all():
        labels = select.evaluate(FULL_LABELS)
        assert select.evaluate(CHOSEN_LABEL_FITS) or labels["title"] == labels["chosen"], labels
        assert labels["untitled"] == [], labels
