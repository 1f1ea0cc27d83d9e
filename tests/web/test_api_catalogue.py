"""The API's processes: the catalogue page by page, one process with its versions and steps, a version's BPMN
and package; and the modeler's endpoints described in the OpenAPI document with their bodies."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.conftest import SHIPPED
from tests.web.test_api import as_user, assert_error  # noqa: F401 (as_user is a fixture)

SHIPPED_KEYS = sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())


def test_the_catalogue_comes_in_pages_in_a_stable_order_by_name(as_user):
    api = as_user("credit-analyst")
    first = api.get("/processes", per_page=2).get_json()
    assert first["total"] == len(SHIPPED_KEYS) and first["pages"] == (len(SHIPPED_KEYS) + 1) // 2
    rows = [row for page in range(1, first["pages"] + 1)
            for row in api.get("/processes", per_page=2, page=page).get_json()["rows"]]
    assert sorted(row["key"] for row in rows) == SHIPPED_KEYS
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)
    loan = next(row for row in rows if row["key"] == "loan_decision")
    assert loan["start_role"] == "customer-service" and loan["version"] == 1 and loan["customer_value"]
    assert loan["deployed_at"].endswith("+00:00")


def test_a_process_answers_its_versions_and_why_each_step_exists(as_user):
    process = as_user("customer-service").get("/processes/loan_decision").get_json()
    assert process["newest"] == process["version"] == 1
    [version] = process["versions"]
    assert version["deployed_by"] == "tests" and version["running"] == 0
    steps = {step["step_id"]: step for step in process["steps"]}
    assert steps["capture_application"]["role"] == "customer-service"
    assert steps["capture_application"]["customer_value"]
    assert {"name": "loan_amount", "label": "Loan amount", "required": True} in \
        steps["capture_application"]["fields"]


@pytest.mark.parametrize("url, fragment", [
    ("/processes/no_such", "no process 'no_such'"),
    ("/processes/loan_decision?version=7", "has no version 7"),
    ("/processes/loan_decision/versions/7.bpmn", "has no version 7"),
    ("/processes/no_such/versions/1.zip", "process 'no_such' has no version 1"),
])
def test_an_unknown_process_or_version_is_a_404_in_words(as_user, url, fragment):
    path, _, version = url.partition("?version=")
    api = as_user("credit-analyst")
    assert_error(api.get(path, **({"version": version} if version else {})), 404, fragment)


def test_a_versions_bpmn_and_package_are_the_deployed_files(as_user):
    api = as_user("underwriter")
    bpmn = api.get("/processes/loan_decision/versions/1.bpmn")
    assert bpmn.status_code == 200 and bpmn.mimetype == "application/xml"
    assert bpmn.get_data(as_text=True) == (SHIPPED / "loan_decision" / "loan_decision.bpmn").read_text()
    package = api.get("/processes/loan_decision/versions/1.zip")
    assert package.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(package.get_data())).namelist()
    assert "loan_decision/loan_decision.bpmn" in names
    assert "loan_decision/forms/capture_application.json" in names


def test_processes_need_a_token(as_user):
    assert_error(as_user(None).get("/processes"), 401, "Authorization: Bearer")


def test_the_document_describes_the_modelers_endpoints_and_every_report(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    package = {"$ref": "#/components/schemas/Package"}
    assert paths["/api/v1/processes/validate"]["post"]["requestBody"]["content"]["application/json"]["schema"] \
        == package
    deploy = paths["/api/v1/processes/deploy"]["post"]["responses"]
    assert deploy["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Deployed"}
    assert deploy["422"]["content"]["application/json"]["schema"] == {"oneOf": [
        {"$ref": "#/components/schemas/Problems"}, {"$ref": "#/components/schemas/Error"}]}
    assert "application/zip" in paths["/api/v1/processes/unpack"]["post"]["requestBody"]["content"]
    draft = paths["/api/v1/processes/{key}/draft"]
    assert set(draft) >= {"get", "put"}
    assert draft["get"]["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Draft"}
    assert set(document["components"]["schemas"]["Package"]["properties"]) == {"bpmn", "dmn", "forms"}
    assert {"/api/v1/processes", "/api/v1/processes/{key}", "/api/v1/processes/{key}/versions/{version}.bpmn",
            "/api/v1/processes/{key}/versions/{version}.zip", "/api/v1/customers/{customer_id}",
            "/api/v1/customers/{customer_id}/cases", "/api/v1/dashboards/{key}/summary",
            "/api/v1/dashboards/{key}/steps", "/api/v1/dashboards/{key}/segments", "/api/v1/dashboards/{key}/risk",
            "/api/v1/dashboards/{key}/events.xes", "/api/v1/dashboards/{key}/events.csv"} <= set(paths)
