"""Hand-built case histories with known answers, made through the engine's API with the test clock.

``Story`` deploys a small process under a key and lane roles of its own (the
PostgreSQL database is shared by all tests of a session, and rates are kept
per role) and plays cases through it: each step waits a given time before it
is claimed and takes a given time to complete.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Optional, Sequence

from engine import service
from engine.definitions.annotations import role_key
from engine.definitions.packages import Package
from engine.storage.uow import UnitOfWorkFactory
from engine.time.clock import FixedClock
from engine.work import queries
from tests import samples

HOUR = timedelta(hours=1)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class Story:
    """One process deployed under a unique key, with one user per lane role."""

    LANES = ("Back Office", "Approver")

    def __init__(self, new_uow: UnitOfWorkFactory, clock: FixedClock, xml_for_key: Any = samples.two_step) -> None:
        self.new_uow, self.clock = new_uow, clock
        self.key = unique("p")
        self.tag = self.key.split("_")[1]
        self.deploy(xml_for_key(self.key))
        # users by the role's plain name ("back-office"); ``role`` gives the role's name in this story
        self.users = {role_key(lane): unique(role_key(lane)[:2]) for lane in self.LANES}
        for plain, name in self.users.items():
            service.add_user(new_uow(), name, [self.role(plain)])

    def role(self, plain: str) -> str:
        return f"{plain}-{self.tag}"

    def deploy(self, xml: str) -> service.Deployment:
        for lane in self.LANES:
            xml = xml.replace(f'name="{lane}"', f'name="{lane} {self.tag}"')
        return service.deploy(self.new_uow(), Package(self.key, f"{self.key}.bpmn", {f"{self.key}.bpmn": xml}))

    def customer(self, segment: str = "standard") -> service.CustomerRef:
        customer_id = unique("c")
        return service.CustomerRef(customer_id, f"Customer {customer_id}", segment)

    def start(self, at: datetime, customer: Optional[service.CustomerRef] = None) -> int:
        self.clock.set(at)
        return service.start_instance(self.new_uow(), self.key, customer or self.customer())

    def open_task(self, instance_id: int) -> dict[str, Any]:
        [task] = queries.list_tasks(self.new_uow(), instance_id=instance_id)
        return task

    def step(self, instance_id: int, wait: timedelta, work: Optional[timedelta],
             data: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """Claim the case's open task ``wait`` after the clock's now, complete it ``work`` later (None: leave it)."""
        task = self.open_task(instance_id)
        user = self.users[task["role"].rsplit("-", 1)[0]]
        self.clock.advance(wait)
        service.claim_task(self.new_uow(), task["id"], user)
        if work is not None:
            self.clock.advance(work)
            service.complete_task(self.new_uow(), task["id"], user, data or {})
        return task

    def case(self, at: datetime, steps: Sequence[tuple[timedelta, Optional[timedelta]]],
             customer: Optional[service.CustomerRef] = None) -> int:
        """A case started at ``at`` whose steps wait and work as given, one after the other."""
        instance_id = self.start(at, customer)
        for wait, work in steps:
            self.step(instance_id, wait, work)
        return instance_id
