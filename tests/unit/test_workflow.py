"""A case's workflow answers task queries from its task table exactly as SpiffWorkflow's tree walk does, and logs
what SpiffWorkflow logs when its loggers listen.

The ``table_answers`` fixture asks the walk every query the table answers and
fails the test if the two differ; these tests build the trees where they could.
"""

from __future__ import annotations

import logging

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from engine.cases.model import Case
from engine.cases.workflow import CaseTask, CaseWorkflow
from engine.definitions.packages import Package, compile_package, read_package
from tests import samples
from tests.conftest import SHIPPED
from tests.unit.test_model import with_subprocess

QUERIES = [{"state": TaskState.READY}, {"state": TaskState.READY, "manual": True}, {"manual": False},
           {"state": TaskState.NOT_FINISHED_MASK}, {"state": TaskState.PREDICTED_MASK},
           {"state": TaskState.COMPLETED}, {}]

LOAN_FORMS = {"capture_application": {"loan_amount": 250000, "loan_purpose": "purchase", "annual_income": 60000,
                                      "existing_debts": 15000, "years_employed": 3, "property_value": 300000,
                                      "documents_complete": True},
              "credit_review": {"recommendation": "approve"}, "underwriting_decision": {"decision": "approve"}}


def loan_case() -> Case:
    return Case.start(compile_package(read_package(SHIPPED / "loan_decision")),
                      {"customer": {"id": "c-1", "name": "Ann Lee", "segment": "premium"}})


def walked(workflow: BpmnWorkflow, **query: object) -> list[Task]:
    """SpiffWorkflow's own answer: its walk of the tree."""
    return list(BpmnWorkflow.get_tasks_iterator(workflow, **query))


def test_every_query_of_a_loan_case_is_answered_by_the_table_at_every_step(table_answers):
    case = loan_case()
    assert type(case.workflow) is CaseWorkflow
    steps = 0
    while ready := case.ready_human_tasks():
        before = table_answers[0]
        specs = {task.task_spec.name for task in case.workflow.tasks.values()}
        for query in QUERIES + [{"spec_name": name} for name in specs]:
            case.workflow.get_tasks(**query)
        Workflow.get_tasks(case.workflow, state=TaskState.NOT_FINISHED_MASK)  # as SpiffWorkflow's prediction asks
        case.workflow.get_next_task(state=TaskState.READY)
        assert table_answers[0] - before == len(QUERIES) + len(specs) + 2, "some query went to the walk"
        case.complete(str(ready[0].id), LOAN_FORMS.get(ready[0].task_spec.bpmn_id, {}))
        steps += 1
    assert case.status == "completed" and steps == 4


def test_a_ready_task_below_a_predicted_one_is_left_out_as_the_walk_leaves_it_out(table_answers):
    case = loan_case()
    workflow = case.workflow
    [capture] = workflow.get_tasks(state=TaskState.READY)
    parent = next(task for task in workflow.tasks.values()
                  if task._state == TaskState.FUTURE and task._children and task is not workflow.task_tree)
    child = workflow.tasks[parent._children[0]]
    parent._state, child._state = TaskState.LIKELY, TaskState.READY
    before = table_answers[0]
    assert workflow.get_tasks(state=TaskState.READY) == [capture] == walked(workflow, state=TaskState.READY)
    capture._state = TaskState.WAITING  # the child is now the only READY task
    assert workflow.get_tasks(state=TaskState.READY) == [] == walked(workflow, state=TaskState.READY)
    assert child in workflow.get_tasks(state=TaskState.READY | TaskState.LIKELY)  # a walk over predicted tasks
    assert table_answers[0] - before == 3


def test_tasks_come_in_the_trees_order_whatever_the_tables_order(table_answers):
    case = loan_case()
    workflow = case.workflow
    in_tree = walked(workflow)
    workflow.tasks = dict(reversed(workflow.tasks.items()))
    assert list(workflow.tasks.values()) != in_tree and len(in_tree) == 8
    before = table_answers[0]
    assert workflow.get_tasks() == in_tree
    assert table_answers[0] - before == 1


def test_a_task_its_parent_does_not_list_is_left_out_as_the_walk_leaves_it_out(table_answers):
    workflow = loan_case().workflow
    orphan = next(task for task in workflow.tasks.values() if task._state == TaskState.READY)
    workflow.tasks[orphan._parent]._children.remove(orphan.id)
    assert orphan not in workflow.get_tasks() and workflow.get_tasks() == walked(workflow)
    assert workflow.get_tasks(state=TaskState.READY) == walked(workflow, state=TaskState.READY) == []


def test_a_tree_deeper_than_the_walk_goes_is_walked(table_answers):
    for length, answered in ((800, 1), (1100, 0)):  # SpiffWorkflow's walk stops descending at depth 1,000
        deep = loan_case().workflow
        leaf = next(task for task in deep.tasks.values() if task._state == TaskState.READY)
        for _ in range(length):
            leaf = Task(deep, leaf.task_spec, parent=leaf, state=TaskState.FUTURE)
        before = table_answers[0]
        found = deep.get_tasks(state=TaskState.FUTURE)
        assert found == walked(deep, state=TaskState.FUTURE) and (leaf in found) == (length < 1000)
        assert table_answers[0] - before == answered


def test_a_workflow_with_subprocesses_is_walked(table_answers):
    case = Case.start(compile_package(Package("with_subprocess", "w.bpmn", {"w.bpmn": with_subprocess()})), {})
    assert case.workflow.subprocesses
    before = table_answers[0]
    assert case.workflow.get_tasks(state=TaskState.READY) == walked(case.workflow, state=TaskState.READY)
    assert [task.task_spec.bpmn_id for task in case.ready_human_tasks()] == ["check"]
    assert table_answers[0] == before


def test_a_restored_case_answers_from_its_table_too(table_answers):
    compiled = compile_package(Package("two_step", "two_step.bpmn", {"two_step.bpmn": samples.two_step()}))
    saved = Case.start(compiled, {}).snapshot()
    restored = Case.restore(saved.header, saved.tasks.values(), compiled)
    assert type(restored.workflow) is CaseWorkflow
    before = table_answers[0]
    [review] = restored.workflow.get_tasks(state=TaskState.READY, manual=True)
    assert review.task_spec.bpmn_id == "review" and table_answers[0] - before == 1


def test_whether_a_task_descends_from_another_is_spiffworkflows_answer_for_every_pair_at_every_step():
    """A parallel join asks it of its tokens: the loan's tree at each step, started and restored, and a task of
    another workflow."""
    case = loan_case()
    stranger = loan_case().workflow.task_tree
    pairs = 0
    while ready := case.ready_human_tasks():
        saved = case.snapshot()
        for workflow in (case.workflow, Case.restore(saved.header, saved.tasks.values(), case.definition).workflow):
            tasks = [*workflow.tasks.values(), stranger]
            for task in workflow.tasks.values():
                assert type(task) is CaseTask
                for other in tasks:
                    assert task.is_descendant_of(other) == Task.is_descendant_of(task, other)
                    pairs += 1
        case.complete(str(ready[0].id), LOAN_FORMS.get(ready[0].task_spec.bpmn_id, {}))
    assert pairs > 1000
    deepest = max(case.workflow.tasks.values(), key=lambda task: task.depth)
    assert deepest.is_descendant_of(case.workflow.task_tree) and not case.workflow.task_tree.is_descendant_of(deepest)


def _run_loan(workflow_class: type[BpmnWorkflow]) -> None:
    compiled = compile_package(read_package(SHIPPED / "loan_decision"))
    workflow = workflow_class(compiled.spec, compiled.subprocess_specs, script_engine=compiled.script_engine)
    workflow.do_engine_steps()
    while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
        ready[0].set_data(**LOAN_FORMS.get(ready[0].task_spec.bpmn_id, {}))
        ready[0].run()
        workflow.do_engine_steps()
    assert workflow.is_completed()


def _logged(caplog, workflow_class: type[BpmnWorkflow], level: int) -> list[tuple[object, ...]]:
    caplog.clear()
    with caplog.at_level(level, logger="spiff"):
        _run_loan(workflow_class)
    return [(record.name, record.levelno, record.getMessage(), getattr(record, "task_spec", None),
             getattr(record, "state", None), bool(getattr(record, "tasks", None)))
            for record in caplog.records if record.name in ("spiff.task", "spiff.workflow")]


def test_a_case_logs_what_spiffworkflow_logs_when_its_loggers_listen(caplog):
    for level in (logging.INFO, logging.DEBUG):
        ours, theirs = _logged(caplog, CaseWorkflow, level), _logged(caplog, BpmnWorkflow, level)
        assert ours == theirs
        assert ("spiff.workflow", logging.INFO, "Workflow completed", None, None, True) in ours
        assert ("spiff.task", logging.INFO, "State changed to COMPLETED", "capture_application", "COMPLETED",
                False) in ours
    assert _logged(caplog, CaseWorkflow, logging.WARNING) == []


def test_every_task_of_a_started_or_restored_case_skips_unheard_log_records():
    compiled = compile_package(Package("two_step", "two_step.bpmn", {"two_step.bpmn": samples.two_step()}))
    started = Case.start(compiled, {})
    saved = started.snapshot()
    restored = Case.restore(saved.header, saved.tasks.values(), compiled)
    [review] = restored.ready_human_tasks()
    restored.complete(str(review.id), {})
    for case in (started, restored):
        assert {type(task) for task in case.workflow.tasks.values()} == {CaseTask}
