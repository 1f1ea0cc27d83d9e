"""The SpiffWorkflow workflow that cases run on: the same workflow, with task queries answered from its task table.

SpiffWorkflow finds tasks by walking the task tree from its root: the READY
ones at every pass of its engine loop (``do_engine_steps`` walks the tree once
per task it runs, and once more to find that nothing is left), a parallel
join's arrived tokens at each of its updates. That walk was a tenth of a
persisted step. ``CaseWorkflow`` looks through the workflow's table of tasks
(``workflow.tasks``) instead and returns what the walk returns, in the walk's
order (depth first, children in order): a task whose ancestor the walk would
not descend into is left out, as the walk leaves it out. A single match is
placed by looking up its ancestors; several are put in order by a walk of the
tree without SpiffWorkflow's per-task filter objects. After each task it runs,
SpiffWorkflow also walks the tree to update the WAITING tasks; when the table
holds none, there is nothing to update and no walk.

Only the queries whose answer the table gives for certain take this way: from
the root, filtered by state, spec name or ``manual``, in a workflow without
subprocesses, whose tasks all hang from the root no deeper than the walk goes.
Every other query is SpiffWorkflow's own.

A parallel join asks, of each token it holds, whether the token descends from the join's task or the join's
task from it; ``CaseTask`` answers by walking the parents' ids, each looked up once.

SpiffWorkflow also builds a log record's details at every change of a task's
state (the state's name, a dict of the task's details) and, when the workflow
starts or ends, a list of all its tasks, before it asks its logger whether
anyone listens: together about a tenth of a persisted step. A case's tasks
(``CaseTask``) and workflow build them only when the ``spiff`` loggers are
enabled for them, and then exactly as SpiffWorkflow does.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator, Optional

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# The filters the task table can answer; any other keyword goes to SpiffWorkflow's walk.
_TABLE_FILTERS = frozenset({"state", "spec_name", "manual"})
# SpiffWorkflow's walk stops descending at depth 1,000; deeper than this, it is asked itself.
_TABLE_DEPTH = 900
# SpiffWorkflow's loggers for tasks and workflows (SpiffWorkflow.task and SpiffWorkflow.workflow log to these).
_TASK_LOG = logging.getLogger("spiff.task")
_WORKFLOW_LOG = logging.getLogger("spiff.workflow")
# How many subprocesses and called processes may be open inside one another in a case. Drawn processes nest a
# handful of levels; only a process that calls itself (directly or through the processes it calls) goes deeper,
# and one that never takes a path that stops calling would nest without end, each level slower to open than the
# last (SpiffWorkflow walks every level above a new one) and the case's state growing with each. 50 leaves room
# for recursion that ends (over a tree 50 levels deep) and stops a runaway one within a second, its state small
# enough to save and show; work over a longer list is what loops and multi-instance activities are for.
MAX_NESTING = 50


class CaseTask(Task):
    """A SpiffWorkflow task whose state changes build their log record only for a logger that takes it."""

    def _set_state(self, value: int) -> None:
        if _TASK_LOG.isEnabledFor(logging.DEBUG if value == self._state else logging.INFO):
            super()._set_state(value)
        elif value != self._state:
            self.last_state_change = time.time()
            self._state = value

    def is_descendant_of(self, task: Task) -> bool:
        """SpiffWorkflow's answer, whether ``task`` is an ancestor of this one, by one look-up a generation: its
        recursion looks each parent up three times. A parallel join asks it of every token it holds, at every
        update, and the tokens sit deep in the tree."""
        tasks = self.workflow.tasks
        parent = tasks.get(self._parent)
        while parent is not None:
            if parent is task:
                return True
            parent = tasks.get(parent._parent)
        return False

    def _add_child(self, task_spec: TaskSpec, state: int = TaskState.MAYBE) -> Task:
        """SpiffWorkflow's ``Task._add_child``, making a ``CaseTask``."""
        if self._state & TaskState.PREDICTED_MASK and not state & TaskState.PREDICTED_MASK:
            raise WorkflowException("Attempt to add non-predicted child to predicted task", task_spec=self.task_spec)
        task = CaseTask(self.workflow, task_spec, self, state=state)
        task.thread_id = self.thread_id
        if state == TaskState.READY:
            task._ready()
        return task


class CaseWorkflow(BpmnWorkflow):
    """A BPMN workflow of ``CaseTask``s whose task queries from the root are answered from its task table (see the
    module)."""

    def __init__(self, spec: Any, subprocess_specs: Optional[dict[str, Any]] = None, script_engine: Any = None,
                 deserializing: bool = False) -> None:
        super().__init__(spec, subprocess_specs, script_engine, deserializing=True)
        if not deserializing:  # as SpiffWorkflow's Workflow starts, with a CaseTask at the root
            self.task_tree = CaseTask(self, self.spec.start, state=TaskState.FUTURE)
            self.task_tree.task_spec._predict(self.task_tree, mask=TaskState.NOT_FINISHED_MASK)
            _WORKFLOW_LOG.info("Initialized workflow", extra=self.collect_log_extras())
            self.task_tree._ready()

    def collect_log_extras(self, dct: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """SpiffWorkflow's log details, which list every task, built only when its logger takes the record."""
        if _WORKFLOW_LOG.isEnabledFor(logging.INFO):
            return super().collect_log_extras(dct)
        return dct or {}

    def create_subprocess(self, my_task: Task, spec_name: str) -> BpmnSubWorkflow:
        """SpiffWorkflow's subprocess for a call activity or subprocess, refused past ``MAX_NESTING`` levels: the
        task errors, as SpiffWorkflow's own does when the process it calls is missing."""
        depth = my_task.workflow.depth + 1
        if depth > MAX_NESTING:
            spec = my_task.task_spec
            name = spec.bpmn_name or spec.bpmn_id
            what = (f"the call activity {name!r} would run the process {spec_name!r}"
                    if isinstance(spec, CallActivity) else f"the subprocess {name!r} would run")
            my_task.error()
            raise WorkflowTaskException(
                f"{what} {depth} levels deep, past the {MAX_NESTING} levels of processes a case may open inside one "
                "another: a process that calls itself, directly or through the processes it calls, must come to a "
                "path that stops calling (a gateway whose other path ends the process)", task=my_task)
        return super().create_subprocess(my_task, spec_name)

    def get_tasks_iterator(self, first_task: Optional[Task] = None, **kwargs: Any) -> Iterator[Task]:
        """The tasks SpiffWorkflow's iterator gives for the same arguments, in the same order.

        ``get_tasks`` and ``get_next_task`` go through here, and so do
        SpiffWorkflow's own calls of ``Workflow.get_tasks`` (prediction, log details).
        """
        if first_task is None and not self.subprocesses and _TABLE_FILTERS.issuperset(kwargs):
            state = kwargs.get("state", TaskState.ANY_MASK)
            if isinstance(state, int):
                found = self._from_table(state, kwargs.get("spec_name"), kwargs.get("manual"))
                if found is not None:
                    return iter(found)
        return super().get_tasks_iterator(first_task, **kwargs)

    def update_waiting_tasks(self) -> None:
        """SpiffWorkflow's update of every WAITING task (a join, a timer), skipped when there is none."""
        if any(task._state == TaskState.WAITING for task in self.tasks.values()):
            super().update_waiting_tasks()

    def _from_table(self, state: int, spec_name: Optional[str], manual: Optional[bool]) -> Optional[list[Task]]:
        """The matching tasks in walk order; None when the table cannot say for certain (a task off the tree)."""
        matches = [task for task in self.tasks.values() if task._state & state
                   and (spec_name is None or task.task_spec.name == spec_name)
                   and (manual is None or task.task_spec.manual == manual)]
        if not matches:
            return matches
        # The walk descends only below tasks in at least this state (SpiffWorkflow's TaskIterator).
        if state & TaskState.PREDICTED_MASK:
            lowest = TaskState.MAYBE
        elif state & TaskState.DEFINITE_MASK:
            lowest = TaskState.FUTURE
        else:
            lowest = TaskState.COMPLETED
        if len(matches) == 1:
            reached = self._reached(matches[0], lowest)
            return None if reached is None else matches if reached else []
        return self._walked({id(task) for task in matches}, lowest)

    def _reached(self, task: Task, lowest: int) -> Optional[bool]:
        """Whether the walk gets to ``task``: every task above it is walked below; None if it hangs off the tree."""
        tasks, root = self.tasks, self.task_tree
        reached, node, depth = True, task, 0
        while node is not root:
            parent = tasks.get(node._parent) if node._parent is not None else None
            depth += 1
            if parent is None or depth > _TABLE_DEPTH or node.id not in parent._children:
                return None
            if parent._state < lowest:
                reached = False
            node = parent
        return reached

    def _walked(self, wanted: set[int], lowest: int) -> Optional[list[Task]]:
        """The tasks of ``wanted`` (by ``id``) in the order of the walk, done here without its filter's overhead."""
        tasks, found = self.tasks, []
        stack = [(self.task_tree, 0)]
        while stack:
            task, depth = stack.pop()
            if id(task) in wanted:
                found.append(task)
            if task._children and task._state >= lowest:
                children = [tasks.get(child) for child in task._children]
                if depth >= _TABLE_DEPTH or None in children:
                    return None
                stack.extend((child, depth + 1) for child in reversed(children))
        return found


def dismantle(workflow: BpmnWorkflow) -> None:
    """Break the reference cycles of a workflow no one will run again (each task and its workflow, the workflow and
    its event manager, its subprocesses), so that reference counting frees it at once instead of the garbage
    collector's next full collection, which may be minutes away in a busy server."""
    for subprocess in list(getattr(workflow, "subprocesses", {}).values()):
        dismantle(subprocess)
    for task in workflow.tasks.values():
        task.workflow = None
    workflow.tasks = {}
    workflow.task_tree = None
    workflow.last_task = None
    if hasattr(workflow, "subprocesses"):
        workflow.subprocesses = {}
    workflow.event_manager = None
