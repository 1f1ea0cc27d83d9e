"""Operators' addresses: liveness, readiness and Prometheus metrics, answered without signing in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from alembic import command

from engine import service
from engine.definitions.packages import Package
from engine.storage.db import alembic_config
from tests import samples
from tests.web.conftest import MEDIUM_RISK
from web import create_app

ADA = service.CustomerRef("c-ops-1", "Ada Moss", "premium")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format (0 when the series is absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match.group(1) == name:
            found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if found == wanted:
                return float(match.group(3))
    return 0.0


def deploy_sample(new_uow, key: str, body: str) -> None:
    xml = samples.document(key, body, {"Back Office": re.findall(r'id="(\w+)"', body)})
    service.deploy(new_uow(), Package(key, f"{key}.bpmn", {f"{key}.bpmn": xml}))


def test_healthz_answers_anyone_at_once(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_current_schema(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": True, "schema_current": True}


def test_readyz_says_the_schema_is_behind_and_how_to_upgrade_it(app, client):
    with app.extensions["valueflow"].engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] is True and response.json["schema_current"] is False
    assert "valueflow init" in response.json["problem"]


def test_readyz_on_a_schema_newer_than_this_code_says_to_upgrade_the_code_not_the_database(app, client):
    with app.extensions["valueflow"].engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_a_newer_valueflow'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["problem"].startswith("the database schema is at 9999_from_a_newer_valueflow, this "
                                               "version needs ")
    assert response.json["problem"].endswith(": upgrade Valueflow here to the version that wrote it")


def test_readyz_says_the_database_cannot_be_reached(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "t",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'valueflow.db'}"})
    response = app.test_client().get("/readyz")
    app.extensions["valueflow"].dispose()
    assert response.status_code == 503
    assert response.json["database"] is False
    assert response.json["problem"].startswith("the database cannot be reached: ")


def test_metrics_count_requests_by_route_and_steps_by_use_case(client, new_uow):
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/healthz")
    client.get("/tasks/999999999")  # a login redirect, counted under its route with no id in it
    service.start_instance(new_uow(), "loan_decision", ADA, MEDIUM_RISK)
    with pytest.raises(service.NotFound):
        service.start_instance(new_uow(), "no_such_process", ADA, {})
    after = client.get("/metrics").get_data(as_text=True)
    for name, labels in [("valueflow_http_request_seconds_count", dict(method="GET", route="/healthz", status="200")),
                         ("valueflow_http_request_seconds_count",
                          dict(method="GET", route="/tasks/<int:task_id>", status="302")),
                         ("valueflow_step_seconds_count", dict(use_case="start", outcome="ok")),
                         ("valueflow_step_seconds_count", dict(use_case="start", outcome="NotFound"))]:
        assert metric(after, name, **labels) == metric(before, name, **labels) + 1, (name, labels)
    assert "/tasks/999999999" not in after


def test_metrics_read_the_backlog_of_the_database_now(client, new_uow, clock):
    timer = ('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"'
             '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    deploy_sample(new_uow, "waits", '<bpmn:startEvent id="begin"/>' + timer + samples.user_task("call", "Call")
                  + '<bpmn:endEvent id="finish"/>' + samples.chain("begin", "wait", "call", "finish"))
    broken = '<bpmn:scriptTask id="fail" name="Divide"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>'
    deploy_sample(new_uow, "breaks", '<bpmn:startEvent id="begin"/>' + broken + '<bpmn:endEvent id="finish"/>'
                  + samples.chain("begin", "fail", "finish"))
    service.start_instance(new_uow(), "waits", ADA)
    service.start_instance(new_uow(), "breaks", ADA)
    service.start_instance(new_uow(), "loan_decision", ADA, MEDIUM_RISK)

    text = client.get("/metrics").get_data(as_text=True)
    assert [metric(text, f"valueflow_{n}") for n in ("incidents_open", "tasks_open")] == [1, 1]
    for kind in ("at_risk", "breach", "notify", "service", "timer"):  # a series for every kind, jobs or none
        for name in ("valueflow_jobs_due", "valueflow_jobs_overdue"):
            assert f'{name}{{kind="{kind}"}} 0.0' in text.splitlines(), (name, kind)
    clock.advance(timedelta(minutes=61))
    text = client.get("/metrics").get_data(as_text=True)
    assert (metric(text, "valueflow_jobs_due", kind="timer"), metric(text, "valueflow_jobs_overdue", kind="timer")) \
        == (1, 1)
    assert metric(text, "valueflow_jobs_due", kind="breach") == 1  # the loan's first step: a one-hour target
    clock.advance(timedelta(days=3))
    assert metric(client.get("/metrics").get_data(as_text=True), "valueflow_tasks_breached") == 1


def test_metrics_keep_the_latencies_and_say_the_database_is_down_when_it_cannot_be_reached(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "t",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'valueflow.db'}"})
    client = app.test_client()
    client.get("/healthz")
    response = client.get("/metrics")
    app.extensions["valueflow"].dispose()
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert metric(text, "valueflow_database_up") == 0
    assert metric(text, "valueflow_http_request_seconds_count", method="GET", route="/healthz", status="200") >= 1
    assert "valueflow_jobs_due" not in text and "valueflow_tasks_open" not in text  # unknown, not 0


def test_metrics_say_the_database_is_up_when_the_backlog_was_read(client):
    assert metric(client.get("/metrics").get_data(as_text=True), "valueflow_database_up") == 1


def test_metrics_are_sent_with_the_content_type_prometheus_parses(client):
    """One charset parameter: Prometheus 3 refuses a scrape whose Content-Type has a parameter twice."""
    assert client.get("/metrics").headers["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
