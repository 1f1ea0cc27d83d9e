"""Who a task goes to when its diagram computes it from the case data, evaluated when the task opens.

Other tools write an assignee or candidate groups as an expression:
``camunda:assignee="${initiator}"``, ``${applicant.owner}``,
``flowable:candidateGroups="${approverGroups}"``, Camunda 8's ``=approver``.
They are translated as conditions are (engine.definitions.expressions) and run
through the same restricted engine, on the data of the task that opens. The
first group computed gives the task its role; the assignee computed is the user
it goes to. What cannot be computed is said, so that the task stays in the
queue of the role its diagram gives it and the case records why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Optional

from engine.definitions.annotations import StepAnnotation, role_key
from engine.definitions.expressions import ExpressionNotSupported, condition_to_python
from engine.sandbox.scripting import RestrictedEnvironment


@dataclass(frozen=True)
class ComputedOwner:
    """What a step's computed assignment gave for one task: a role and a user name, each None when it gave none,
    and why each part it could not compute was left out."""

    role: Optional[str] = None
    assignee: Optional[str] = None
    reasons: tuple[str, ...] = ()


def computed_owner(step: StepAnnotation, data: dict[str, Any], environment: RestrictedEnvironment) -> ComputedOwner:
    """Evaluate the step's computed candidate groups and assignee on the data of the task that opens."""
    role = assignee = None
    reasons: list[str] = []
    if step.computed_groups:
        value, error = _evaluate(step.computed_groups, data, environment)
        names = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else []
        role = next((role_key(name) for name in names if isinstance(name, str) and role_key(name)), None)
        if error is not None or role is None:
            reasons.append(f"its candidate groups {step.computed_groups} "
                           + (f"could not be computed ({error})" if error else f"gave no group ({value!r})"))
    if step.computed_assignee:
        value, error = _evaluate(step.computed_assignee, data, environment)
        if error is None and isinstance(value, str) and value.strip():
            assignee = value.strip()
        else:
            reasons.append(f"its assignee {step.computed_assignee} "
                           + (f"could not be computed ({error})" if error else f"gave no user name ({value!r})"))
    return ComputedOwner(role, assignee, tuple(reasons))


@functools.lru_cache(maxsize=256)
def _python(written: str) -> str:
    return condition_to_python(written)


def _evaluate(written: str, data: dict[str, Any], environment: RestrictedEnvironment) -> tuple[Any, Optional[str]]:
    """The value of an expression on the data, or None and why it has none."""
    try:
        return environment.evaluate(_python(written), dict(data)), None
    except ExpressionNotSupported as exc:  # refused at deploy: only a version stored before that could hold one
        return None, str(exc)
    except Exception as exc:  # a variable the case does not have, a refusal of the restricted engine
        return None, f"{type(exc).__name__}: {exc}"
