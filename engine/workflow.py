"""The SpiffWorkflow workflow that cases run on: the same workflow, with task queries answered from its task table.

SpiffWorkflow finds tasks by walking the task tree from its root: the READY
ones at every pass of its engine loop (``do_engine_steps`` walks the tree once
per task it runs, and once more to find that nothing is left), a parallel
join's arrived tokens at each of its updates. That walk was a tenth of a
persisted step. ``CaseWorkflow.get_tasks`` looks through the workflow's table
of tasks (``workflow.tasks``) instead and returns what the walk returns, in
the walk's order (depth first, children in order): a task whose ancestor the
walk would not descend into is left out, as the walk leaves it out. After
each task it runs, SpiffWorkflow also walks the tree to update the WAITING
tasks; when the table holds none, there is nothing to update and no walk.

Only the queries whose answer the table gives for certain take this way: from
the root, filtered by state, spec name or ``manual``, in a workflow without
subprocesses, whose tasks all hang from the root no deeper than the walk goes.
Every other query is SpiffWorkflow's own.
"""

from __future__ import annotations

from typing import Any, Optional

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# The filters the task table can answer; any other keyword goes to SpiffWorkflow's walk.
_TABLE_FILTERS = frozenset({"state", "spec_name", "manual"})
# SpiffWorkflow's walk stops descending at depth 1,000; deeper than this, it is asked itself.
_TABLE_DEPTH = 900


class CaseWorkflow(BpmnWorkflow):
    """A BPMN workflow whose task queries from the root are answered from its task table (see the module)."""

    def get_tasks(self, first_task: Optional[Task] = None, **kwargs: Any) -> list[Task]:
        """The tasks that SpiffWorkflow's ``get_tasks`` returns for the same arguments, in the same order."""
        if first_task is None and not self.subprocesses and _TABLE_FILTERS.issuperset(kwargs):
            state = kwargs.get("state", TaskState.ANY_MASK)
            if isinstance(state, int):
                found = self._from_table(state, kwargs.get("spec_name"), kwargs.get("manual"))
                if found is not None:
                    return found
        return super().get_tasks(first_task, **kwargs)

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
        tasks, root = self.tasks, self.task_tree
        placed: list[tuple[list[int], Task]] = []
        for task in matches:
            position: list[int] = []  # the child index at each level, from the task up
            reached, node = True, task
            while node is not root:
                parent = tasks.get(node._parent) if node._parent is not None else None
                if parent is None or len(position) >= _TABLE_DEPTH:
                    return None
                try:
                    position.append(parent._children.index(node.id))
                except ValueError:  # the parent does not list it
                    return None
                if parent._state < lowest:
                    reached = False
                node = parent
            if reached:
                position.reverse()
                placed.append((position, task))
        if len(placed) > 1:
            placed.sort(key=lambda entry: entry[0])  # depth first: a task's position comes before its children's
        return [task for _, task in placed]
