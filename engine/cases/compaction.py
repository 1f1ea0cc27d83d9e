"""Keep SpiffWorkflow's task tree bounded when a process loops.

SpiffWorkflow 3.2 never forgets a task: every pass through a loop hangs new
tasks under the previous pass, so the tree gets one level deeper per task run.
Per-step cost and serialized size grow with it, and past a depth of 1,000 the
library's task iterator stops descending, so an instance silently stalls
(about 333 passes of a 3-task loop).  The event log keeps the history, so the
live state only has to keep what the engine can still consult.

`compact` removes finished tasks and re-attaches each surviving task to its
nearest surviving ancestor.  Because tasks are only ever dropped (never moved
sideways), "A is an ancestor of B" stays true for every pair of survivors, and
the tree is rebuilt in the old depth-first order.  A task survives when
SpiffWorkflow may still look at it:

* every unfinished task (and ERROR tasks), with everything below it: waiting
  parents such as multi-instance, loop and subprocess tasks consult their
  children;
* the parent of every such task (a task copies its parent's data when it
  becomes ready; parallel/inclusive joins read `task.parent.state` and
  `.task_spec`);
* for every topmost unfinished task and every task spec, its nearest ancestor
  with that spec, so `Task.find_ancestor(spec)` (boundary-event and
  start-event joins) and the parallel gateway's upward walk to an input spec
  give the same answer as on the uncompacted tree.  This is what keeps the
  depth bounded by the number of specs instead of the number of passes;
* all children of a surviving boundary/start event split (the join reads
  `split.children`);
* while a parallel/inclusive gateway (or the end join) has a task WAITING or
  READY, the finished tasks of that gateway spec and their parents: the join
  counts them as arrived tokens and merges their parents' data when it fires.
  For the end join, whose tokens are branches that ended early (for example a
  non-interrupting boundary event's branch), two neighbouring tokens are
  folded into one when merging their data ahead of time provably gives the
  same result (`_fold_end_tokens`), so such loops stay bounded too.  When it
  does not (lists that differ between the branches), each ended branch keeps
  two tasks until the process completes: width, not depth;
* `workflow.last_task` and tasks registered with the event manager.

A surviving task's state, data and timestamps never change, only its
`_parent` / `_children`; a fold replaces the token's parent by a new task
(new id) rather than rewriting its data.  Finished tasks that own a
subprocess take their (finished) subprocess with them.  Completed workflows
are left alone.

Known differences from an uncompacted workflow, all outside what the engine
relies on: SpiffWorkflow 3.2 lets a looped parallel join count join tasks that
an *earlier pass* cancelled (it then fires early and crashes); compaction drops
those between steps, so the join behaves correctly (not when one engine step
runs a whole pass: nothing can be compacted inside `do_engine_steps`).  `reset_from_task_id` to a finished task
whose parent was removed would copy an older ancestor's data.  A folded end
token may keep `1` where the uncompacted merge would have kept `1.0` or `True`
(DeepMerge treats equal values of different types as the same).  The history
of removed tasks (and `task_info` of finished multi-instance tasks) is gone:
the event log has it.
"""
from __future__ import annotations

from copy import deepcopy
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.specs.control import EventSplit, _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

if TYPE_CHECKING:  # pragma: no cover
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

__all__ = ["compact"]

# ERROR counts as live: the instance is stuck on it and may be retried or reset.
_DONE = TaskState.COMPLETED | TaskState.CANCELLED
_JOIN_ACTIVE = TaskState.WAITING | TaskState.READY


def compact(workflow: BpmnWorkflow) -> int:
    """Remove finished tasks that can no longer affect the run, so the task tree's size and depth stay bounded however often a loop runs. Returns how many tasks were removed."""
    removed = _compact_tree(workflow, workflow)
    for subprocess in list(workflow.subprocesses.values()):
        # A subprocess may have been dropped together with its finished parent task above.
        if workflow.subprocesses.get(subprocess.parent_task_id) is subprocess:
            removed += _compact_tree(subprocess, workflow)
    return removed


def _compact_tree(wf, top) -> int:
    """Compact one task tree (the top workflow's or one subprocess's)."""
    if wf.completed:
        return 0
    tasks = wf.tasks
    root = wf.task_tree
    root_id = root.id

    # Pass 1 (dict order is creation order: parents come before their children).
    # live_region: unfinished tasks and everything below them; frontier: the topmost of those.
    live_region = set()
    frontier = []
    join_tasks = {}  # gateway spec -> its tasks, for specs that join tokens
    join_active = set()  # gateway specs with a task waiting for (or holding) its tokens
    for task_id, task in tasks.items():
        parent_id = task._parent
        if parent_id in live_region:
            live_region.add(task_id)
        elif not task._state & _DONE:
            live_region.add(task_id)
            frontier.append(task)
        spec = task.task_spec
        if isinstance(spec, UnstructuredJoin):
            join_tasks.setdefault(spec, []).append(task)
            if task._state & _JOIN_ACTIVE:
                join_active.add(spec)

    if len(live_region) + 1 >= len(tasks):
        return 0  # nothing finished outside the live region (the root always stays)

    keep = set(live_region)
    keep.add(root_id)

    # Nearest ancestor of each spec above every topmost live task, and its parent (the same for siblings,
    # such as a gateway's predicted branches, so each parent is walked up from once).
    for parent_id in {task._parent for task in frontier}:
        if parent_id is None:
            continue
        keep.add(parent_id)
        seen_specs = set()
        ancestor = tasks.get(parent_id)
        while ancestor is not None:
            name = ancestor.task_spec.name
            if name not in seen_specs:
                seen_specs.add(name)
                keep.add(ancestor.id)
            ancestor = tasks.get(ancestor._parent)

    last_task = wf.last_task
    if last_task is not None and last_task.id in tasks:
        keep.add(last_task.id)
    for task_id, task in top.event_manager.tasks.items():
        if task.workflow is wf:
            keep.add(task_id)
    _keep_split_children(keep, tasks)

    # Tokens that an active join has not consumed yet.
    base_keep = frozenset(keep)
    folds = []  # (token, merged data for its parent), applied once the compaction is sure to happen
    for spec in join_active:
        tokens = [t for t in join_tasks[spec] if t._state & _DONE]
        if isinstance(spec, _EndJoin):
            tokens = _fold_end_tokens(tokens, tasks, base_keep, folds)
        for task in tokens:
            keep.add(task.id)
            if task._parent is not None:
                keep.add(task._parent)
    if len(keep) != len(base_keep):
        _keep_split_children(keep, tasks)

    if len(keep) >= len(tasks):
        return 0

    # Pass 2: rebuild parent/children links in the old depth-first order.
    new_children = {task_id: [] for task_id in keep}
    new_parent = {}
    reached = []
    stack = [(root_id, root_id)]  # (task id, nearest kept ancestor-or-self)
    while stack:
        task_id, kept_above = stack.pop()
        task = tasks[task_id]
        reached.append(task_id)
        if task_id in keep and task_id != root_id:
            new_parent[task_id] = kept_above
            new_children[kept_above].append(task_id)
            kept_above = task_id
        for child_id in reversed(task._children):
            stack.append((child_id, kept_above))

    if len(reached) != len(tasks):
        return 0  # tasks outside the tree: not a shape this module knows; leave it alone
    for task_id in keep:
        task = tasks[task_id]
        if task_id != root_id and task._parent != new_parent[task_id]:
            task._parent = new_parent[task_id]
        if task._children != new_children[task_id]:
            task._children = new_children[task_id]

    removed_ids = [task_id for task_id in tasks if task_id not in keep]

    removed = 0
    for task_id in removed_ids:
        del tasks[task_id]
        removed += 1
        if task_id in top.subprocesses:
            removed += _drop_subprocess(top, task_id)
    for token, data in folds:
        if token.id in tasks:
            _give_new_parent(wf, token, data)
            removed += 1
    return removed


def _keep_split_children(keep, tasks):
    """Boundary / start event joins read the children of their split."""
    for task_id in list(keep):
        task = tasks.get(task_id)
        if task is not None and isinstance(task.task_spec, EventSplit):
            keep.update(task._children)


def _fold_end_tokens(tokens, tasks, pinned, folds):
    """Merge runs of branch-end tokens whose data can be merged ahead of time.

    Every branch that reaches an end event while the process goes on (say a non-interrupting
    boundary event's branch) leaves a cancelled end-join task; when the process completes, the
    end join merges their parents' data into its own, oldest first
    (`UnstructuredJoin._run_hook`).  Kept as they are, a loop that keeps ending such branches
    grows the tree by two tasks a pass.  Two tokens next to each other in that order can be
    replaced by the later one, its parent carrying `DeepMerge.merge(earlier, later)`, when that
    gives the same result whatever the data they are eventually merged into (see
    `_merge_is_associative`).
    """
    tokens = sorted(tokens, key=lambda t: t.last_state_change)  # stable, like the join's own sort
    if len({t.last_state_change for t in tokens}) < len(tokens):
        return tokens  # a tie is broken by position in workflow.tasks, which folding changes
    kept = []
    previous = None  # the last token, if it may be folded into the next one
    previous_data = None  # its parent's data, as it will be once the folds are applied
    for token in tokens:
        parent = tasks.get(token._parent)
        foldable = (
            token._state == TaskState.CANCELLED
            and not token._children
            and parent is not None
            and parent._state & _DONE
            and parent._children == [token.id]
            and token.id not in pinned
            and parent.id not in pinned
        )
        data = parent.data if parent is not None else None
        if foldable and previous is not None:
            try:
                if _merge_is_associative(previous_data, data):
                    data = DeepMerge.merge(deepcopy(previous_data), deepcopy(data))
                    folds.append((token, data))
                    kept.pop()
            except Exception:  # odd data (uncomparable, uncopyable): keep both tokens
                pass
        kept.append(token)
        previous, previous_data = (token, data) if foldable else (None, None)
    return kept


def _give_new_parent(wf, token, data):
    """Replace a folded token's parent by a copy with a new id carrying the merged data.

    Finished tasks never change their data otherwise, and callers may cache a finished task's
    serialized form (whose data is stored as a delta against its parent's); a new parent id makes
    both the parent and the token visibly new.  The token moves to the end of `workflow.tasks` so
    that parents still come before their children there (the serializer restores in that order).
    """
    tasks = wf.tasks
    old = tasks[token._parent]
    new = type(old)(wf, old.task_spec, state=old._state)  # registers itself in wf.tasks
    new._parent = old._parent
    new._children = [token.id]
    new.triggered = old.triggered
    new.thread_id = old.thread_id
    new.internal_data = deepcopy(old.internal_data)
    new.last_state_change = old.last_state_change
    new.data = data
    siblings = tasks[old._parent]._children
    siblings[siblings.index(old.id)] = new.id
    token._parent = new.id
    del tasks[old.id]
    tasks[token.id] = tasks.pop(token.id)


def _merge_is_associative(earlier, later):
    """Whether merging `earlier` then `later` into any dict equals merging their merge into it.

    True when every key both have holds equal values (merging the same value twice is a no-op),
    two non-containers (the later wins either way) or two dicts that pass the same test.  Lists
    that differ, and a dict meeting a non-dict, are order-sensitive in `DeepMerge`.
    """
    for key, value in earlier.items():
        if key not in later:
            continue
        other = later[key]
        if value == other:
            continue
        if isinstance(value, dict) and isinstance(other, dict):
            if not _merge_is_associative(value, other):
                return False
        elif isinstance(value, (dict, list)) or isinstance(other, (dict, list)):
            return False
    return True


def _drop_subprocess(top, task_id) -> int:
    """Forget the (finished) subprocess started by a removed task, and those nested in it."""
    subprocess = top.subprocesses.pop(task_id)
    count = len(subprocess.tasks)
    for inner_id in subprocess.tasks:
        if inner_id in top.subprocesses:
            count += _drop_subprocess(top, inner_id)
    return count
