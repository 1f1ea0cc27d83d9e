"""What pages read from a stored definition (its diagram's facts, its task pages' labels) is kept per database:
two databases in one process number their definitions alike, and each page shows its own database's process."""

from __future__ import annotations

from engine import service
from engine.definitions.packages import read_package
from engine.storage.wiring import connect
from engine.work import case_pages, queries
from tests.conftest import SHIPPED


def _database_with(clock, *keys):
    factory = connect("sqlite://", clock, migrate=True)
    for key in keys:
        service.deploy(factory(), read_package(SHIPPED / key))
    return factory


def test_two_databases_whose_first_definitions_differ_each_show_their_own(clock):
    requests = _database_with(clock, "service_request")
    loans = _database_with(clock, "loan_decision")
    try:
        assert case_pages.process_to_start(requests(), "service_request")["start_role"] == "service-desk"
        assert case_pages.process_to_start(loans(), "loan_decision")["start_role"] == "customer-service"

        customer = service.CustomerRef("c-1", "Ada Moss", "standard")
        pages = []
        for factory, key in ((requests, "service_request"), (loans, "loan_decision")):
            instance_id = service.start_instance(factory(), key, customer, {})
            [task] = queries.list_tasks(factory(), instance_id=instance_id)
            pages.append(case_pages.task_page(factory(), task["id"]))
        assert [page["process"]["key"] for page in pages] == ["service_request", "loan_decision"]
        assert pages[1]["labels"].get("loan_amount") == "Loan amount"
    finally:
        requests.dispose()
        loans.dispose()
