"""Packages of several diagrams: a call activity into another file's process runs, and the called process is
checked like the main one; which process runs is clear, or the deploy says why it is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import service
from engine.definitions.package_json import package_from_json, package_json_from_zip, package_to_json
from engine.definitions.packages import DeploymentRefused, Package, read_package
from engine.work import accounts, case_pages, queries
from tests.unit.test_other_tools import CUSTOMER, open_tasks

DIALECTS = Path(__file__).resolve().parent.parent / "dialects"
ORDER = DIALECTS / "two_file_order"


def files_of(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}


def refusal(new_uow, package: Package) -> list[str]:
    with pytest.raises(DeploymentRefused) as caught:
        service.deploy(new_uow(), package)
    return [str(p) for p in caught.value.problems if not p.warning]


def refused_without(new_uow, folder: Path, missing: str, key: str, main: str) -> list[str]:
    """The blocking problems of deploying the package in ``folder`` without its file ``missing``."""
    files = files_of(folder)
    del files[missing]
    return refusal(new_uow, Package(key, main, files))


def test_a_call_activity_into_another_diagram_of_the_package_runs_its_steps_for_their_own_role(new_uow):
    package = read_package(ORDER)
    assert package.bpmn_file == "order.bpmn"  # credit_check.bpmn's process is called, so it is not the main one
    deployment = service.deploy(new_uow(), package)
    assert deployment.key == "two_file_order"
    assert deployment.roles == {"sales": "lane 'Sales'", "credit-analyst": "lane 'Credit Analyst'"}
    service.add_user(new_uow(), "sam", ["sales"])
    service.add_user(new_uow(), "cara", ["credit-analyst"])
    instance_id = service.start_instance(new_uow(), "two_file_order", CUSTOMER)
    [take] = open_tasks(new_uow, instance_id)
    service.claim_task(new_uow(), take["id"], "sam")
    service.complete_task(new_uow(), take["id"], "sam", {})

    [assess] = open_tasks(new_uow, instance_id)
    assert (assess["step_id"], assess["role"], assess["value_class"], assess["target_seconds"]) == (
        "Task_assess_credit", "credit-analyst", "BVA", 4 * 3600)
    assert [t["id"] for t in queries.list_tasks(new_uow(), role="credit-analyst")] == [assess["id"]]
    page = case_pages.task_page(new_uow(), assess["id"])
    assert page["form"]["required"] == ["credit_limit"]
    case_page = case_pages.instance_page(new_uow(), instance_id, accounts.account(new_uow(), "cara"))
    assert case_page["open_step_ids"] == ["Call_credit_check"]  # on the main diagram, the call that runs the step
    assert case_page["step_names"]["Task_assess_credit"] == "Assess the customer's credit"
    service.claim_task(new_uow(), assess["id"], "cara")
    with pytest.raises(Exception, match="credit_limit"):
        service.complete_task(new_uow(), assess["id"], "cara", {})
    service.complete_task(new_uow(), assess["id"], "cara", {"credit_limit": 5000})

    [confirm] = open_tasks(new_uow, instance_id)
    assert confirm["step_id"] == "Task_confirm_order"
    service.claim_task(new_uow(), confirm["id"], "sam")
    service.complete_task(new_uow(), confirm["id"], "sam", {})
    case = queries.instance_view(new_uow(), instance_id)
    assert case["status"] == "completed"
    assert case["data"]["credit_limit"] == 5000  # what the called process recorded comes back to the case


def test_a_call_activity_whose_process_the_package_lacks_is_refused_naming_both(new_uow):
    assert refused_without(new_uow, ORDER, "credit_check.bpmn", "two_file_order", "order.bpmn") == [
        "Call_credit_check (Check credit): call activity calls the process 'credit_check', which no diagram of the "
        "package holds: add the diagram that defines it to the package (its process id must be 'credit_check')"]


def test_the_called_process_gets_the_same_checks_as_the_main_one(new_uow):
    files = files_of(ORDER)
    files["credit_check.bpmn"] = files["credit_check.bpmn"].replace(
        '<bpmn:flowNodeRef>Task_assess_credit</bpmn:flowNodeRef>', '').replace('value="BVA"', 'value="XX"')
    problems = refusal(new_uow, Package("two_file_order", "order.bpmn", files))
    assert any(p.startswith("Task_assess_credit (Assess the customer's credit): user task has no lane and no "
                            "candidate group") for p in problems), problems
    assert "Task_assess_credit (Assess the customer's credit): valueClass 'XX' must be one of VA, BVA, NVA" \
        in problems


def test_a_package_of_several_diagrams_that_cannot_tell_which_runs_is_refused_with_the_fix(new_uow, tmp_path):
    folder = tmp_path / "orders"
    folder.mkdir()
    for name, text in files_of(ORDER).items():
        if name.endswith(".bpmn"):
            # the call is taken out: two unrelated executable processes
            (folder / name).write_text(text.replace('calledElement="credit_check"', 'calledElement=""'),
                                       encoding="utf-8")
    with pytest.raises(DeploymentRefused, match=r"the package holds 2 diagrams and cannot tell which process runs "
                                                r"\(credit_check.bpmn: credit_check; order.bpmn: two_file_order\): "
                                                r"name the package folder after the process to run"):
        read_package(folder)
    chosen = folder.rename(tmp_path / "credit_check")
    assert read_package(chosen).bpmn_file == "credit_check.bpmn"


def test_the_process_a_spiffarena_process_model_names_is_the_one_that_runs(new_uow, tmp_path):
    folder = tmp_path / "anything"
    folder.mkdir()
    for name, text in files_of(ORDER).items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "process_model.json").write_text(json.dumps(
        {"primary_file_name": "credit_check.bpmn", "primary_process_id": "credit_check"}), encoding="utf-8")
    package = read_package(folder)
    assert package.bpmn_file == "credit_check.bpmn"
    assert service.deploy(new_uow(), package).key == "credit_check"


def test_a_stored_package_of_several_diagrams_compiles_again_and_downloads_whole(new_uow):
    deployment = service.deploy(new_uow(), read_package(ORDER))
    with new_uow() as uow:
        stored = uow.definitions.package(deployment.definition_id)
    assert sorted(stored.files) == ["credit_check.bpmn", "forms/Task_assess_credit.json", "two_file_order.bpmn"]
    with new_uow() as uow:
        uow.specs._compiled.clear()  # as a fresh process would: compiled from the stored package
        assert "Task_assess_credit" in uow.compiled(deployment.definition_id).annotations.steps


def test_a_package_of_several_diagrams_goes_through_json_and_zip_unchanged(new_uow):
    import io
    import zipfile
    package = read_package(ORDER)
    data = package_to_json(package)
    assert set(data["files"]) == {"credit_check.bpmn"}
    again = package_from_json(json.loads(json.dumps(data)))
    assert again.bpmn_xml == package.bpmn_xml and again.files["credit_check.bpmn"] == package.files["credit_check.bpmn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files_of(ORDER).items():
            archive.writestr(f"two_file_order/{path}", text)
    unpacked = package_json_from_zip(buffer.getvalue())
    assert set(unpacked["files"]) == {"credit_check.bpmn"} and "two_file_order" in unpacked["bpmn"]
    assert service.deploy(new_uow(), package_from_json(unpacked)).key == "two_file_order"


def test_a_called_diagram_named_after_the_main_process_is_kept_beside_it(new_uow):
    files = files_of(ORDER)
    files["two_file_order.bpmn"] = files.pop("credit_check.bpmn")  # the called diagram takes the process key's name
    deployment = service.deploy(new_uow(), Package("two_file_order", "order.bpmn", files))
    with new_uow() as uow:
        stored = uow.definitions.package(deployment.definition_id)
        uow.specs._compiled.clear()
        assert "Task_assess_credit" in uow.compiled(deployment.definition_id).annotations.steps
    assert 'id="credit_check"' in stored.files["two_file_order.bpmn"]
    assert 'id="two_file_order"' in stored.bpmn_xml
    again = package_from_json(package_to_json(stored))  # as the modeler sends it back
    assert again.files["two_file_order.bpmn"] == stored.files["two_file_order.bpmn"]
    assert service.validate_package(again).errors == ()
