"""Helper functions for a team's own process come through the ``valueflow.helpers`` entry points.

The test registers a module the way an installed package does (a distribution's metadata on the path,
with an entry_points.txt), not by touching Valueflow's own registrations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import service
from engine.definitions.packages import Package
from engine.sandbox.helpers import helper_modules, helpers_for
from engine.work import queries
from tests import samples

ALICE = service.CustomerRef("c-1", "Alice Reed", "standard")


def register(folder: Path, process_key: str, module: str, source: str) -> None:
    """What ``pip install`` of a package declaring ``[project.entry-points."valueflow.helpers"]`` leaves behind."""
    info = folder / "acme_processes-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-processes\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[valueflow.helpers]\n{process_key} = {module}\n", encoding="utf-8")
    (folder / f"{module}.py").write_text(source, encoding="utf-8")


def quote_process(key: str) -> str:
    body = ('<bpmn:startEvent id="begin"/>'
            '<bpmn:scriptTask id="price" name="Price"><bpmn:script>quote = price_with_vat(net)</bpmn:script>'
            '</bpmn:scriptTask>' + samples.user_task("confirm", "Confirm the quote")
            + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "price", "confirm", "finish"))
    return samples.document(key, body, {"Sales": ["begin", "price", "confirm", "finish"]})


@pytest.fixture
def acme_helpers(tmp_path, monkeypatch):
    register(tmp_path, "acme_quote", "acme_quote_helpers",
             "def price_with_vat(net):\n    return round(net * 1.21, 2)\n\nHELPERS = {'price_with_vat': price_with_vat}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_registered_module_gives_its_process_helpers_and_nothing_to_other_processes(acme_helpers):
    assert list(helpers_for("acme_quote")) == ["price_with_vat"]
    assert helpers_for("some_other_process") == {}
    assert "acme_quote" in helper_modules()


def test_the_shipped_processes_register_their_helpers_the_same_way():
    assert {"loan_decision", "order_to_cash", "service_request"} <= set(helper_modules())
    assert "credit_score" in helpers_for("loan_decision")


def test_a_case_of_the_teams_own_process_calls_its_registered_helper(acme_helpers, new_uow):
    xml = quote_process("acme_quote")
    service.deploy(new_uow(), Package("acme_quote", "acme_quote.bpmn", {"acme_quote.bpmn": xml}))
    instance_id = service.start_instance(new_uow(), "acme_quote", ALICE, {"net": 100})
    view = queries.instance_view(new_uow(), instance_id)
    assert (view["status"], view["data"]["quote"]) == ("running", 121.0)


def test_without_the_registration_the_same_script_cannot_call_it(new_uow):
    xml = quote_process("acme_quote")
    service.deploy(new_uow(), Package("acme_quote", "acme_quote.bpmn", {"acme_quote.bpmn": xml}))
    instance_id = service.start_instance(new_uow(), "acme_quote", ALICE, {"net": 100})
    view = queries.instance_view(new_uow(), instance_id)
    assert view["status"] == "error" and "price_with_vat" in view["error"]["message"]
