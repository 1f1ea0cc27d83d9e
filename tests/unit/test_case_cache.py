"""The cases a process keeps in memory: what the cache lets go of is freed at once, what it keeps stays usable."""

from __future__ import annotations

import weakref

import pytest

from engine.cases.model import Case
from engine.definitions.packages import Package, compile_package, read_package
from engine.storage.casestore import CaseCache, _Saved
from tests.conftest import SHIPPED
from tests.unit.test_model import with_subprocess

LOAN = compile_package(read_package(SHIPPED / "loan_decision"))
WITH_SUBPROCESS = compile_package(Package("with_subprocess", "w.bpmn", {"w.bpmn": with_subprocess()}))


def kept(case: Case, version: int = 1) -> _Saved:
    return _Saved(version, case, snapshot=None, open_tasks={})


@pytest.mark.parametrize("compiled", [LOAN, WITH_SUBPROCESS], ids=["loan", "with a subprocess"])
def test_a_case_pushed_out_of_the_cache_is_freed_at_once(no_collector, compiled):
    cache = CaseCache(size=1)
    case = Case.start(compiled, {})
    assert case.workflow.tasks
    gone = weakref.ref(case.workflow)
    cache.keep(1, kept(case))
    del case
    assert gone() is not None  # the cache holds it

    cache.keep(2, kept(Case.start(compiled, {})))

    assert gone() is None


def test_a_case_replaced_by_its_newer_version_or_found_stale_is_freed_at_once(no_collector):
    cache = CaseCache()
    older, newer = Case.start(LOAN, {}), Case.start(LOAN, {})
    older_gone, newer_gone = weakref.ref(older.workflow), weakref.ref(newer.workflow)
    cache.keep(7, kept(older, 1))
    cache.keep(7, kept(newer, 2))
    del older, newer
    assert older_gone() is None and newer_gone() is not None

    assert cache.take(7, 3) is None  # the database holds a version this process did not save
    assert newer_gone() is None


def test_a_case_kept_again_after_its_next_step_stays_whole():
    cache = CaseCache()
    case = Case.start(LOAN, {})
    cache.keep(7, kept(case, 1))
    taken = cache.take(7, 1)
    assert taken is not None and taken.case is case
    cache.keep(7, kept(case, 2))
    cache.keep(7, kept(case, 3))  # the same case saved twice in one unit of work

    [task] = cache.take(7, 3).case.ready_human_tasks()
    assert task.task_spec.bpmn_id == "capture_application"


def test_a_case_read_for_a_page_never_displaces_a_newer_version_this_process_saved(no_collector):
    cache = CaseCache()
    saved, read = Case.start(LOAN, {}), Case.start(LOAN, {})
    read_gone = weakref.ref(read.workflow)
    cache.keep(7, kept(saved, 4))
    cache.offer(7, kept(read, 3))
    del read
    assert read_gone() is None  # not kept, and freed at once
    assert cache.take(7, 4).case is saved

    newer = Case.start(LOAN, {})
    cache.offer(7, kept(newer, 5))
    assert cache.take(7, 5).case is newer
